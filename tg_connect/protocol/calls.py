"""A call ready for any transport (:class:`Call`), and what every builder shares: parameter
validators that name the offending argument, the dropped-error check (docs/protocol.md 4.4),
reply field readers, the query term rule (:func:`term_arg`) and the generic request.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import (
    Any,
    Generic,
    TypeVar,
)

from ..errors import InputError, ProtocolError, ServiceError
from ..types import (
    ExplainEvent,
    Source,
    triple_from_wire,
)
from .registry import OPERATION_CARRIES, SERVICE_LIST, SERVICES, Scope, Service, service
from .replies import error_of
from .terms import IRI, Term, guess_kind, term_from_wire

C = TypeVar("C")
R = TypeVar("R")


def check_known(name: str, kw: Mapping[str, Any], spec: Any) -> None:
    """Reject keyword arguments the call does not have (callers without a type checker)."""
    if not kw:
        return
    allowed = spec.__optional_keys__ | spec.__required_keys__
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
        raise InputError(
            f"{name}() got unexpected keyword argument(s) {', '.join(unknown)};"
            f" it takes {', '.join(sorted(allowed)) or 'none'}"
        )


# -- a call: body, parser, collector -----------------------------------------------------


@dataclass(slots=True)
class Call(Generic[C, R]):
    """One request ready for any transport.

    ``parse`` turns one reply frame into chunks (and checks the field the reply must
    carry); ``collect`` turns all chunks into the non-streaming result; ``on_error`` turns an
    error frame into chunks yielded before the error is raised (RAG's error chunk).
    ``needs_every_frame``: the answer is spread over frames REST would drop.
    """

    service: Service
    body: Mapping[str, Any]
    parse: Callable[[Mapping[str, Any]], Sequence[C]]
    collect: Callable[[Sequence[C]], R]
    streaming: bool = False
    needs_every_frame: bool = False
    on_error: Callable[[Mapping[str, Any]], Sequence[C]] | None = None

    def wire_body(self, every_frame: bool) -> dict[str, Any]:
        """The body to send; ``every_frame`` says whether the transport delivers every frame.

        REST returns only the last frame (docs/protocol.md 4.2), so on REST a streaming-capable
        service is asked not to stream and its whole answer arrives in that one frame.
        """
        body = dict(self.body)
        if self.service.streams:
            stream_on_wire = self.streaming and every_frame
            body["streaming"] = stream_on_wire
            if not stream_on_wire:
                body.pop("batch-size", None)
        return body

    @property
    def operation(self) -> str | None:
        op = self.body.get("operation")
        return op if isinstance(op, str) else None


def service_error(service_name: str, response: Mapping[str, Any]) -> ServiceError:
    """The :class:`ServiceError` for an error frame, with hints for the 2.11 gateway's own bugs."""
    err = error_of(response)
    kind, message = err if err is not None else ("error", "")
    if kind == "gateway-error" and not message:
        message = "empty error message: the back end did not answer within the gateway's timeout"
    elif "'Error' object has no attribute 'code'" in message:
        message += " (the 2.11 gateway loses the agent's own error message)"
    return ServiceError(service_name, kind, message)


def missing(service_name: str, fields: Sequence[str]) -> ServiceError:
    wanted = " or ".join(repr(f) for f in fields)
    return ServiceError(
        service_name,
        "missing-field",
        f"the reply has no {wanted}; the gateway drops this service's errors,"
        " so the request most likely failed in the back end",
    )


def check_carries(service_name: str, response: Mapping[str, Any], fields: Sequence[str]) -> None:
    if fields and all(response.get(f) is None for f in fields):
        raise missing(service_name, fields)


# -- parameter validation ----------------------------------------------------------------


def check_str(name: str, value: Any, *, empty: bool = False) -> str:
    """``value`` if it is a string (not empty, unless ``empty``); else :class:`InputError` naming ``name``."""
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string, not {type(value).__name__}")
    if not empty and not value:
        raise InputError(f"{name} must not be empty")
    return value


def opt_str(name: str, value: Any) -> str | None:
    return None if value is None else check_str(name, value, empty=True)


def check_int(name: str, value: Any, *, low: int = 1, high: int = 2**31 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be an integer, not {type(value).__name__}")
    if not low <= value <= high:
        raise InputError(f"{name} must be between {low} and {high}, not {value}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{name} must be True or False, not {value!r}")
    return value


def check_strs(name: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InputError(f"{name} must be a list of strings")
    out = list(value)
    for v in out:
        if not isinstance(v, str):
            raise InputError(f"{name} must be a list of strings; found {type(v).__name__}")
    return out


def check_mapping(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"{name} must be a mapping, not {type(value).__name__}")
    return dict(value)


def check_vector(name: str, value: Any) -> list[float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InputError(f"{name} must be a sequence of numbers")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(f"{name} must hold finite numbers; found {v!r}")
        out.append(float(v))
    if not out:
        raise InputError(f"{name} must not be empty")
    return out


def extra_options(
    service_name: str, options: Mapping[str, Any] | None, allowed: Iterable[str], body: Mapping[str, Any]
) -> dict[str, Any]:
    """Extra wire fields for a request, checked against the fields the service knows."""
    if not options:
        return {}
    known = set(allowed)
    out = {}
    for key, value in check_mapping("options", options).items():
        if key not in known:
            raise InputError(f"{service_name} has no request field {key!r}; known: {', '.join(sorted(known))}")
        if key in body:
            raise InputError(f"{key!r} is set both as an argument and in options")
        out[key] = value
    return out


def put_field(body: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        body[key] = value


def term_arg(position: str, value: Any) -> dict[str, Any]:
    """A query term: a :class:`Term`, a wire dict, or a string.

    A string is an IRI in the subject and predicate positions; in the object position its
    kind is guessed (absolute IRIs and ``<...>`` are IRIs, ``_:x`` blank nodes, else literals).
    """
    if isinstance(value, Term):
        return value.to_wire()
    if isinstance(value, str):
        if position == "o":
            kind, text = guess_kind(value)
        elif value.startswith("_:"):
            kind, text = "blank", value[2:]
        else:
            kind, text = IRI, value[1:-1] if value.startswith("<") and value.endswith(">") else value
        return Term(text, kind).to_wire()
    if isinstance(value, Mapping):
        try:
            return Term(*_reorder(term_from_wire(value))).to_wire()
        except ValueError as exc:
            raise InputError(f"{position}: {exc}") from None
    raise InputError(f"{position} must be a Term, a string or a wire term, not {type(value).__name__}")


def _reorder(parts: tuple[Any, str, str | None, str | None]) -> tuple[str, Any, str | None, str | None]:
    kind, value, dt, ln = parts
    return value, kind, dt, ln


# -- reply field readers -------------------------------------------------------------------


def opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage_of(response: Mapping[str, Any]) -> dict[str, Any]:
    if "model" not in response and "in_token" not in response:
        return _NO_USAGE
    model = response.get("model")
    return {
        "in_token": opt_int(response.get("in_token")),
        "out_token": opt_int(response.get("out_token")),
        "model": model if isinstance(model, str) else None,
    }


_NO_USAGE: dict[str, Any] = {}


def last_usage(chunks: Sequence[Any]) -> dict[str, Any]:
    usage: dict[str, Any] = {"in_token": None, "out_token": None, "model": None}
    for c in chunks:
        for key in usage:
            v = getattr(c, key, None)
            if v is not None:
                usage[key] = v
    return usage


def explain_event(response: Mapping[str, Any]) -> ExplainEvent:
    triples = response.get("explain_triples") or []
    try:
        decoded = tuple(triple_from_wire(t) for t in triples)
    except ProtocolError:
        decoded = ()
    graph = response.get("explain_graph")
    return ExplainEvent(str(response.get("explain_id") or ""), graph if isinstance(graph, str) else None, decoded)


def sources_of(response: Mapping[str, Any]) -> tuple[Source, ...]:
    out = []
    for s in response.get("sources") or []:
        if isinstance(s, Mapping):
            out.append(Source(str(s.get("uri") or ""), str(s.get("title") or "")))
    return tuple(out)


@functools.cache
def _single(service_name: str, fields: tuple[str, ...] = ()) -> Callable[[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """A parser for single-frame services: the frame itself, after the dropped-error check."""

    def parse(response: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        check_carries(service_name, response, fields)
        return [response]

    return parse


def last_frame(frames: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    if not frames:
        raise ProtocolError("the gateway ended the request without a reply")
    return frames[-1]


def call_single(
    name: str, body: dict[str, Any], convert: Callable[[Mapping[str, Any]], R], fields: Sequence[str] | None = None
) -> Call[Mapping[str, Any], R]:
    spec = SERVICES[name]
    carries = spec.carries if fields is None else tuple(fields)
    return Call(spec, body, _single(name, carries), lambda frames: convert(last_frame(frames)))


# -- generic request -----------------------------------------------------------------------


def generic(
    name: str, body: Mapping[str, Any], *, scope: Scope, streaming: bool = False
) -> Call[Mapping[str, Any], Mapping[str, Any]]:
    """Any service with a raw body; the result is the final reply, the chunks every reply.

    Validated before sending: the service must exist in ``scope``, a global request needs an
    operation the gateway registry accepts, and only streaming services may stream. The
    dropped-error check of the service (or operation) applies to every reply.
    """
    spec = service(check_str("service", name), scope)
    request = check_mapping("body", body)
    operation = request.get("operation")
    if spec.scope == "global":
        if not isinstance(operation, str) or operation not in spec.operations:
            raise InputError(
                f"{name} needs an 'operation' the gateway accepts: {', '.join(sorted(spec.operations))}"
                f" (got {operation!r})"
            )
    if streaming and not spec.streams and operation not in spec.multi_frame:
        raise InputError(
            f"{name} cannot stream; streaming services are {', '.join(s.name for s in SERVICE_LIST if s.streams)}"
        )
    if "streaming" in request:
        raise InputError("pass streaming=True instead of a 'streaming' body field")
    carries = OPERATION_CARRIES.get((name, operation), spec.carries) if isinstance(operation, str) else spec.carries
    return Call(
        spec,
        request,
        _single(name, carries),
        last_frame,
        streaming=streaming,
        needs_every_frame=operation in spec.multi_frame,
    )


TermArg = Term | str | Mapping[str, Any] | None
