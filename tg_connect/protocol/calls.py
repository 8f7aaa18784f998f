"""A call ready for any transport (:class:`Call`), and what every builder shares: parameter
validators that name the offending argument, the dropped-error check (docs/protocol.md 4.4),
reply field readers, the query term rule (:func:`term_arg`) and the generic request.
"""

from __future__ import annotations

import functools
import json
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
from ..wording import setting
from .registry import (
    OPERATION_CARRIES,
    REQUEST_FIELDS,
    SERVICE_LIST,
    SERVICES,
    FieldKind,
    Scope,
    Service,
    service,
)
from .replies import error_of
from .terms import BLANK, IRI, Term, guess_kind, iri_fault, is_absolute_iri, term_from_wire

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


def check_json_object(name: str, value: Any) -> dict[str, Any]:
    """A free-form mapping argument (template variables, tool parameters, a schema): a JSON
    object, checked to encode as JSON, so a bad value inside is named before anything is sent."""
    out = check_mapping(name, value)
    check_json(name, out)
    return out


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
    check_json("options", out)
    return out


def put_field(body: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        body[key] = value


def term_arg(position: str, value: Any) -> dict[str, Any]:
    """A query term: a :class:`Term`, a wire dict, or a string.

    A string is an IRI in the subject and predicate positions (``<...>`` stripped, ``_:x`` a
    blank node); in the object position its kind is guessed (absolute IRIs and ``<...>`` are
    IRIs, ``_:x`` blank nodes, else literals). A subject or predicate string that cannot be an
    IRI (a space, say), and a predicate that is not an absolute IRI, raise :class:`InputError`
    saying how the string was read and how to pass it otherwise: such a query would otherwise
    ask for a term no store holds and come back empty, as if there were no data.
    """
    if isinstance(value, Term):
        return value.to_wire()
    if isinstance(value, str):
        return _string_term(position, value).to_wire()
    if isinstance(value, Mapping):
        try:
            return Term(*_reorder(term_from_wire(value))).to_wire()
        except ValueError as exc:
            raise InputError(f"{position}: {exc}") from None
    raise InputError(f"{position} must be a Term, a string or a wire term, not {type(value).__name__}")


def _string_term(position: str, value: str) -> Term:
    """The term a pattern string stands for in ``position`` (see :func:`term_arg`)."""
    if position == "o":
        kind, text = guess_kind(value)
        return Term(text, kind)
    if value.startswith("_:"):
        return Term(value[2:], BLANK)
    if len(value) >= 2 and value[0] == "<" and value[-1] == ">":
        return Term(value[1:-1], IRI)
    if is_absolute_iri(value):
        return Term(value, IRI)
    fault = iri_fault(value)
    read = f"{setting(position, value)}: a string as {position} is read as an IRI, and this one"
    if fault is not None:
        other = (
            "the predicate's full IRI (http://...)"
            if position == "p"
            else f"an IRI, or Term.literal({value!r}) to ask for a literal"
        )
        raise InputError(f"{read} cannot be an IRI ({fault}); pass {other}")
    if position == "p":
        raise InputError(
            f"{read} is not absolute (it has no scheme such as http:); pass the full IRI (http://...),"
            f" or <{value}> or Term.iri({value!r}) for the relative IRI as it is stored"
        )
    return Term(value, IRI)


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
    operation the gateway registry accepts, only streaming services may stream, the body must
    be JSON, and it must carry the fields the typed method of its service and operation sends
    (:data:`~.registry.REQUEST_FIELDS`; other operations are left to the gateway). The
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
    check_json("request body", request)
    check_request_fields(name, operation, request)
    carries = OPERATION_CARRIES.get((name, operation), spec.carries) if isinstance(operation, str) else spec.carries
    return Call(
        spec,
        request,
        _single(name, carries),
        last_frame,
        streaming=streaming,
        needs_every_frame=operation in spec.multi_frame,
    )


_FIELD_WANTED: dict[FieldKind, str] = {
    "text": "a non-empty string",
    "string": "a string",
    "list": "a non-empty list",
    "texts": "a non-empty list of strings",
    "vector": "a non-empty list of numbers",
    "object": "a JSON object",
}


def _field_ok(kind: FieldKind, value: Any) -> bool:
    if kind in ("text", "string"):
        return isinstance(value, str) and (kind == "string" or value != "")
    if kind == "object":
        return isinstance(value, Mapping)
    if not isinstance(value, (list, tuple)) or not value:
        return False
    if kind == "texts":
        return all(isinstance(v, str) for v in value)
    if kind == "vector":
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    return True


def check_request_fields(name: str, operation: Any, body: Mapping[str, Any]) -> None:
    """Raise :class:`InputError` naming the first field ``body`` lacks for ``name`` and ``operation``.

    The fields are those the typed method sends from the arguments it requires
    (:data:`~.registry.REQUEST_FIELDS`); a service or operation not listed there is not checked.
    """
    needed = REQUEST_FIELDS.get((name, operation if isinstance(operation, str) else None))
    if needed is None:
        return
    what = f"{name} {operation}" if isinstance(operation, str) else name
    for field in needed.fields:
        value = body.get(field.name)
        if _field_ok(field.kind, value):
            continue
        got = "it is missing" if field.name not in body else f"got {_shown(value)}"
        raise InputError(
            f'request body["{field.name}"]: {what} needs {_FIELD_WANTED[field.kind]} here'
            f" (as {needed.typed} sends); {got}"
        )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_json(name: str, value: Any) -> None:
    """Raise :class:`InputError` when ``value`` cannot be sent as JSON, naming where inside it.

    ``name`` is the argument (``request body``, ``variables``); the message adds the path to the
    first value at fault, as in ``request body["query"]["x"]: object of type set is not JSON
    serialisable``. The whole value is encoded once (in C); only a failure is looked into.
    """
    try:
        json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        path, reason = _json_fault(value, "", set())
        raise InputError(f"{name}{path}: {reason}") from None


def _json_fault(value: Any, path: str, seen: set[int]) -> tuple[str, str]:
    """(path, reason) of the first part of ``value`` that is not JSON; ``("", ...)`` if only the whole is."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return path, "cannot be encoded as JSON"
    if id(value) in seen:
        return path, "contains itself (a reference cycle)"
    if isinstance(value, dict):
        for key in value:
            if not (key is None or isinstance(key, (str, int, float, bool))):
                return path, f"key {_shown(key)} is a {type(key).__name__}; JSON object keys are strings"
        items: Iterable[tuple[str, Any]] = ((_json_key(path, k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return path, f"object of type {type(value).__name__} is not JSON serialisable"
    seen.add(id(value))
    for where, item in items:
        try:
            json.dumps(item)
        except (TypeError, ValueError, RecursionError):
            return _json_fault(item, where, seen)
    return path, "cannot be encoded as JSON"


def _json_key(path: str, key: str | float | bool | None) -> str:
    return f'{path}["{key}"]' if isinstance(key, str) else f"{path}[{key!r}]"


TermArg = Term | str | Mapping[str, Any] | None
