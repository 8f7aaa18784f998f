"""The local gateway's handlers and the protocol's service table agree.

Every service of :mod:`tg_connect.protocol.registry` has a local handler, every local handler
a registry service (of the same scope), and each global handler answers exactly the operations
the registry says the gateway accepts. Registering under an unknown name fails at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from tg_connect.local.standins import admin, dispatch, registration  # importing dispatch registers every handler
from tg_connect.local.storage.backend import Backend
from tg_connect.protocol.registry import SERVICES, Service

Handlers = Mapping[str, object]


def unhandled(services: Mapping[str, Service], flow: Handlers, global_: Handlers) -> list[str]:
    """Registry services without a local handler of their scope."""
    return sorted(name for name, spec in services.items() if name not in (flow if spec.scope == "flow" else global_))


def unregistered(services: Mapping[str, Service], flow: Handlers, global_: Handlers) -> list[str]:
    """Local handlers without a registry service of their scope."""
    return sorted(
        [f"flow {n}" for n in flow if n not in services or services[n].scope != "flow"]
        + [f"global {n}" for n in global_ if n not in services or services[n].scope != "global"]
    )


def operation_mismatches(
    services: Mapping[str, Service], global_: Mapping[str, registration.GlobalHandler]
) -> dict[str, dict[str, list[str]]]:
    """Per global service: operations the registry has and the handler does not, and the reverse."""
    found = {}
    for name, handler in global_.items():
        accepted = services[name].operations if name in services else frozenset()
        if handler.operations != accepted:
            found[name] = {
                "not answered": sorted(accepted - handler.operations),
                "not in the registry": sorted(handler.operations - accepted),
            }
    return found


def test_the_handlers_are_all_loaded() -> None:
    assert dispatch.HANDLER_MODULES
    assert len(registration.FLOW_HANDLERS) == 21 and len(registration.GLOBAL_HANDLERS) == 6


def test_every_registry_service_has_a_local_handler() -> None:
    assert unhandled(SERVICES, registration.FLOW_HANDLERS, registration.GLOBAL_HANDLERS) == []


def test_every_local_handler_has_a_registry_service() -> None:
    assert unregistered(SERVICES, registration.FLOW_HANDLERS, registration.GLOBAL_HANDLERS) == []


def test_each_global_handler_answers_the_registry_operations() -> None:
    assert operation_mismatches(SERVICES, registration.GLOBAL_HANDLERS) == {}


def test_the_checks_find_a_difference() -> None:
    """The three checks above fail when the two sides differ."""
    flow, global_ = dict(registration.FLOW_HANDLERS), dict(registration.GLOBAL_HANDLERS)
    del flow["sparql"]
    flow["no-such-service"] = registration.FLOW_HANDLERS["agent"]
    config = global_["config"]
    global_["config"] = registration.GlobalHandler(config.answer, (config.operations - {"put"}) | {"frobnicate"})
    assert unhandled(SERVICES, flow, global_) == ["sparql"]
    assert unregistered(SERVICES, flow, global_) == ["flow no-such-service"]
    assert operation_mismatches(SERVICES, global_) == {
        "config": {"not answered": ["put"], "not in the registry": ["frobnicate"]}
    }


def test_an_unknown_or_misplaced_service_fails_at_registration() -> None:
    async def answer(*_args: Any) -> Any:
        yield {}, True

    with pytest.raises(registration.RegistrationError, match="'no-such-service'.*does not declare"):
        registration.handles("no-such-service")(answer)
    with pytest.raises(registration.RegistrationError, match="'config' as a flow service"):
        registration.handles("config")(answer)
    with pytest.raises(registration.RegistrationError, match="'text-completion' as a global service"):
        registration.handles_global("text-completion", {})(answer)
    with pytest.raises(registration.RegistrationError, match="already has a handler"):
        registration.handles("agent")(answer)
    assert "no-such-service" not in registration.FLOW_HANDLERS


def test_iam_operations_not_implemented_are_answered_empty() -> None:
    """The IAM operations the local gateway does not implement are accepted (the registry has
    them) and answered as before: an empty reply with ``bootstrap_available``."""
    assert admin.IAM_NOT_IMPLEMENTED < SERVICES["iam"].operations
    backend = Backend(None)

    async def answers() -> dict[str, Any]:
        replies = {}
        for op in sorted(admin.IAM_NOT_IMPLEMENTED):
            replies[op] = [frame async for frame in admin.iam_service(backend, "default", {"operation": op})]
        return replies

    try:
        replies = asyncio.run(answers())
    finally:
        backend.close()
    assert replies == {op: [({"bootstrap_available": False}, True)] for op in admin.IAM_NOT_IMPLEMENTED}
