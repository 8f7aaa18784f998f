"""Where the local gateway's service handlers register, against the protocol's service table.

Every gateway service is declared once, in :mod:`tg_connect.protocol.registry`. A local
handler registers under a service's name with :func:`handles` (flow services) or
:func:`handles_global` (global services, with the table of operations it answers); a name
the registry does not have, or of the wrong scope, or registered twice, raises
:class:`RegistrationError` when the handler's module is imported.
``tests/unit/test_local_registration.py`` checks the rest: every registry service has a
handler, and each global handler answers exactly the operations the registry accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ...protocol.registry import SERVICES, Scope
from .flowctx import Ctx, Stream

if TYPE_CHECKING:
    from ..storage.backend import Backend

FlowAnswer = Callable[[Ctx, Any], Stream]
GlobalAnswer = Callable[["Backend", str, dict[str, Any]], Stream]
F = TypeVar("F", bound=FlowAnswer)
G = TypeVar("G", bound=GlobalAnswer)


class RegistrationError(RuntimeError):
    """A handler registers under a service the registry does not declare (or twice)."""


@dataclass(frozen=True)
class GlobalHandler:
    """A global service's handler and the operations it answers (the keys of its dispatch table)."""

    answer: GlobalAnswer
    operations: frozenset[str]


# Filled as the handler modules are imported (:mod:`.dispatch` imports them all).
FLOW_HANDLERS: dict[str, FlowAnswer] = {}
GLOBAL_HANDLERS: dict[str, GlobalHandler] = {}


def _check(service: str, scope: Scope, registered: Collection[str], where: str) -> None:
    spec = SERVICES.get(service)
    if spec is None:
        raise RegistrationError(f"{where} handles {service!r}, which tg_connect.protocol.registry does not declare")
    if spec.scope != scope:
        raise RegistrationError(f"{where} handles {service!r} as a {scope} service; the registry has it {spec.scope}")
    if service in registered:
        raise RegistrationError(f"{where} handles {service!r}, which already has a handler")


def handles(service: str, *, object_request: bool = True) -> Callable[[F], F]:
    """Register a flow service's handler ``(Ctx, request) -> stream``; the function is returned as is.

    ``object_request``: the request must be an object, checked before the handler runs, as the
    real translators call ``.get`` on it first (a list or a string is a ``gateway-error``). The
    triples query reads its terms first, so its errors for such requests differ: it opts out.
    """

    def register(answer: F) -> F:
        _check(service, "flow", FLOW_HANDLERS, answer.__qualname__)
        FLOW_HANDLERS[service] = checked(answer) if object_request else answer
        return answer

    return register


def handles_global(service: str, operations: Mapping[str, object]) -> Callable[[G], G]:
    """Register a global service's handler ``(Backend, workspace, request) -> stream``.

    ``operations`` is the handler's dispatch table, operation -> what answers it: its keys are
    the operations the handler answers (a test compares them with the registry's).
    """

    def register(answer: G) -> G:
        _check(service, "global", GLOBAL_HANDLERS, answer.__qualname__)
        GLOBAL_HANDLERS[service] = GlobalHandler(answer, frozenset(operations))
        return answer

    return register


def checked(answer: FlowAnswer) -> FlowAnswer:
    """``answer``, failing first if the request is not an object (as the translators do)."""

    async def run(ctx: Ctx, request: Any) -> Stream:
        _ = request.get  # a list or string raises AttributeError, as in the real translator
        async for frame in answer(ctx, request):
            yield frame

    return run


def global_operations(service: Any) -> Collection[str]:
    """The operations the gateway accepts for ``service`` (none if it is not a global service).

    An empty tuple rather than an empty set for the others: looking a malformed (unhashable)
    operation up in it is a plain miss, so such a request to an unknown service is refused as
    unknown, not failed.
    """
    spec = SERVICES.get(service)
    return spec.operations if spec is not None and spec.scope == "global" else ()
