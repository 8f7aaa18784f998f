"""Every gateway request/response service, declared once (docs/protocol.md sections 4-7).

This module is the flow layer's protocol core and knows no socket. For each of the 27
services it holds the table entry (:data:`SERVICES`: name, global or flow-scoped, whether it
streams, the operations the gateway registry accepts, the field every reply must carry),
and for each typed call a builder that validates the caller's parameters and returns a
:class:`Call`: the request body, a parser that turns one reply frame into typed chunks, and
a collector that turns the chunks into the non-streaming result. The transports move
frames; the faces in :mod:`tg_connect.flow` only pick a builder and hand the call to a
transport, so REST, the socket, sync and async cannot disagree about a service.

A non-streaming call *is* its collected stream: both paths parse the same frames with the
same parser, and the non-streaming result is ``collect(chunks)``.

Dropped errors (docs/protocol.md 4.4): the 2.11 gateway drops back-end errors for several
services and sends an all-defaults reply. Every parser checks the field its service must
return and raises :class:`~tg_connect.errors.ServiceError` of type ``missing-field`` when it is
absent, so a failure never comes back as ``None`` or ``""``.
"""

from __future__ import annotations

import base64
import functools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Literal,
    TypeVar,
)

import pyarrow as pa

from ..errors import InputError, ProtocolError, ServiceError
from ..types import (
    AgentAnswer,
    AgentChunk,
    AgentObservation,
    AgentOptions,
    AgentThought,
    Answer,
    ChunkMatch,
    ClozeResult,
    CollectionMetadata,
    ConfigKey,
    ConfigSnapshot,
    ConfigValue,
    DocumentMetadata,
    DocumentRagOptions,
    EntityMatch,
    ExplainEvent,
    GraphRagOptions,
    KnowledgeCore,
    KnowledgeItem,
    McpResult,
    ModelInfo,
    NlpQueryResult,
    ProcessingMetadata,
    PromptOptions,
    QueryOptions,
    RAGChunk,
    RAGEvent,
    RerankResult,
    RowMatch,
    RowsResult,
    ScoringResult,
    Source,
    SparqlResult,
    StreamingChunk,
    StructuredDiagResult,
    StructuredQueryResult,
    Table,
    TextChunk,
    TextCompletionOptions,
    TripleList,
    triple_from_wire,
)
from .replies import error_of
from .terms import IRI, Term, Triple, guess_kind, term_from_wire

if TYPE_CHECKING:
    from typing_extensions import Unpack

C = TypeVar("C")
R = TypeVar("R")
T = TypeVar("T")

Scope = Literal["flow", "global"]

# -- the service table ------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """One gateway service.

    ``streams``: the request takes ``"streaming": true`` and is then answered in several
    frames. ``carries``: one of these reply fields must be present and not null in every
    reply, because the gateway drops this service's errors (docs/protocol.md 4.4).
    ``operations``: for global services, the operations the gateway registry accepts.
    ``multi_frame``: operations answered in several frames even without ``streaming``.
    """

    name: str
    scope: Scope
    streams: bool = False
    carries: tuple[str, ...] = ()
    operations: frozenset[str] = frozenset()
    multi_frame: frozenset[str] = frozenset()


def _ops(*names: str) -> frozenset[str]:
    return frozenset(names)


_SERVICE_LIST = (
    # flow-scoped (gateway/registry.py _FLOW_SERVICES)
    Service("agent", "flow", streams=True),
    Service("text-completion", "flow", streams=True, carries=("response",)),
    Service("prompt", "flow", streams=True, carries=("text", "object")),
    Service("mcp-tool", "flow", carries=("text", "object")),
    Service("graph-rag", "flow", streams=True),
    Service("document-rag", "flow", streams=True),
    Service("embeddings", "flow", carries=("vectors",)),
    Service("graph-embeddings", "flow", carries=("entities",)),
    Service("document-embeddings", "flow", carries=("chunks",)),
    Service("triples", "flow", streams=True, carries=("response",)),
    Service("rows", "flow"),
    Service("nlp-query", "flow"),
    Service("structured-query", "flow"),
    Service("structured-diag", "flow", carries=("operation",)),
    Service("row-embeddings", "flow", carries=("matches",)),
    Service("sparql", "flow", streams=True),
    Service("reranker", "flow", carries=("results",)),
    Service("image-to-text", "flow", carries=("description",)),
    Service("cloze", "flow"),
    Service("decision-scoring", "flow"),
    Service("field-extraction", "flow"),
    # global / workspace services (dispatch/manager.py), operations from gateway/registry.py
    Service("config", "global", operations=_ops(
        "get", "list", "getvalues", "getvalues-all-ws", "config", "put", "delete")),
    Service("flow", "global", operations=_ops(
        "list-blueprints", "get-blueprint", "put-blueprint", "delete-blueprint",
        "list-flows", "get-flow", "start-flow", "stop-flow")),
    Service("librarian", "global", operations=_ops(
        "get-document-metadata", "get-document-content", "stream-document", "list-documents",
        "list-processing", "get-upload-status", "list-uploads", "add-document", "remove-document",
        "update-document", "add-processing", "remove-processing", "begin-upload", "upload-chunk",
        "complete-upload", "abort-upload"), multi_frame=_ops("stream-document")),
    Service("knowledge", "global", operations=_ops(
        "list-kg-cores", "get-kg-core", "put-kg-core", "delete-kg-core", "load-kg-core",
        "unload-kg-core", "list-de-cores", "get-de-core", "put-de-core", "delete-de-core",
        "load-de-core"), multi_frame=_ops("get-kg-core", "get-de-core")),
    Service("collection-management", "global", operations=_ops(
        "list-collections", "update-collection", "delete-collection")),
    Service("iam", "global", operations=_ops(
        "create-user", "disable-user", "enable-user", "delete-user", "reset-password",
        "list-users", "get-user", "update-user", "create-api-key", "list-api-keys",
        "revoke-api-key", "create-workspace", "list-workspaces", "get-workspace",
        "update-workspace", "disable-workspace", "list-my-workspaces", "whoami",
        "change-password", "rotate-signing-key", "mint-token", "login", "bootstrap",
        "bootstrap-status")),
)

SERVICES: dict[str, Service] = {s.name: s for s in _SERVICE_LIST}
FLOW_SERVICES: tuple[str, ...] = tuple(s.name for s in _SERVICE_LIST if s.scope == "flow")
GLOBAL_SERVICES: tuple[str, ...] = tuple(s.name for s in _SERVICE_LIST if s.scope == "global")
assert len(SERVICES) == 27 and len(FLOW_SERVICES) == 21

# Replies whose field depends on the operation (the dropped-error check of a generic request).
_OPERATION_CARRIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("text-completion", "list-models"): ("models",),
    ("flow", "list-flows"): ("flow-ids",),
    ("flow", "list-blueprints"): ("blueprint-names",),
    ("flow", "get-blueprint"): ("blueprint-definition",),
    ("iam", "login"): ("jwt",),
}


def service(name: str, scope: Scope | None = None) -> Service:
    """The table entry for ``name``; raises :class:`InputError` naming the known ones."""
    spec = SERVICES.get(name)
    if spec is None or (scope is not None and spec.scope != scope):
        known = FLOW_SERVICES if scope == "flow" else GLOBAL_SERVICES if scope == "global" else tuple(SERVICES)
        raise InputError(f"unknown {scope + ' ' if scope else ''}service {name!r}; expected one of {', '.join(known)}")
    return spec


def _known(name: str, kw: Mapping[str, Any], spec: Any) -> None:
    """Reject keyword arguments the call does not have (callers without a type checker)."""
    if not kw:
        return
    allowed = spec.__optional_keys__ | spec.__required_keys__
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
        raise InputError(f"{name}() got unexpected keyword argument(s) {', '.join(unknown)};"
                         f" it takes {', '.join(sorted(allowed)) or 'none'}")


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
        service_name, "missing-field",
        f"the reply has no {wanted}; the gateway drops this service's errors,"
        " so the request most likely failed in the back end")


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


def _opt_str(name: str, value: Any) -> str | None:
    return None if value is None else check_str(name, value, empty=True)


def _int(name: str, value: Any, *, low: int = 1, high: int = 2**31 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be an integer, not {type(value).__name__}")
    if not low <= value <= high:
        raise InputError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{name} must be True or False, not {value!r}")
    return value


def _strs(name: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InputError(f"{name} must be a list of strings")
    out = list(value)
    for v in out:
        if not isinstance(v, str):
            raise InputError(f"{name} must be a list of strings; found {type(v).__name__}")
    return out


def _mapping(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"{name} must be a mapping, not {type(value).__name__}")
    return dict(value)


def _vector(name: str, value: Any) -> list[float]:
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


def _options(service_name: str, options: Mapping[str, Any] | None, allowed: Iterable[str],
             body: Mapping[str, Any]) -> dict[str, Any]:
    """Extra wire fields for a request, checked against the fields the service knows."""
    if not options:
        return {}
    known = set(allowed)
    out = {}
    for key, value in _mapping("options", options).items():
        if key not in known:
            raise InputError(f"{service_name} has no request field {key!r}; known: {', '.join(sorted(known))}")
        if key in body:
            raise InputError(f"{key!r} is set both as an argument and in options")
        out[key] = value
    return out


def _put(body: dict[str, Any], key: str, value: Any) -> None:
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


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _usage(response: Mapping[str, Any]) -> dict[str, Any]:
    if "model" not in response and "in_token" not in response:
        return _NO_USAGE
    model = response.get("model")
    return {"in_token": _opt_int(response.get("in_token")), "out_token": _opt_int(response.get("out_token")),
            "model": model if isinstance(model, str) else None}


_NO_USAGE: dict[str, Any] = {}


def _last_usage(chunks: Sequence[Any]) -> dict[str, Any]:
    usage: dict[str, Any] = {"in_token": None, "out_token": None, "model": None}
    for c in chunks:
        for key in usage:
            v = getattr(c, key, None)
            if v is not None:
                usage[key] = v
    return usage


def _explain(response: Mapping[str, Any]) -> ExplainEvent:
    triples = response.get("explain_triples") or []
    try:
        decoded = tuple(triple_from_wire(t) for t in triples)
    except ProtocolError:
        decoded = ()
    graph = response.get("explain_graph")
    return ExplainEvent(str(response.get("explain_id") or ""), graph if isinstance(graph, str) else None, decoded)


def _sources(response: Mapping[str, Any]) -> tuple[Source, ...]:
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


def _last(frames: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    if not frames:
        raise ProtocolError("the gateway ended the request without a reply")
    return frames[-1]


def _call_single(name: str, body: dict[str, Any], convert: Callable[[Mapping[str, Any]], R],
                 fields: Sequence[str] | None = None) -> Call[Mapping[str, Any], R]:
    spec = SERVICES[name]
    carries = spec.carries if fields is None else tuple(fields)
    return Call(spec, body, _single(name, carries), lambda frames: convert(_last(frames)))


# -- generic request -----------------------------------------------------------------------


def generic(name: str, body: Mapping[str, Any], *, scope: Scope, streaming: bool = False
            ) -> Call[Mapping[str, Any], Mapping[str, Any]]:
    """Any service with a raw body; the result is the final reply, the chunks every reply.

    Validated before sending: the service must exist in ``scope``, a global request needs an
    operation the gateway registry accepts, and only streaming services may stream. The
    dropped-error check of the service (or operation) applies to every reply.
    """
    spec = service(check_str("service", name), scope)
    request = _mapping("body", body)
    operation = request.get("operation")
    if spec.scope == "global":
        if not isinstance(operation, str) or operation not in spec.operations:
            raise InputError(f"{name} needs an 'operation' the gateway accepts: {', '.join(sorted(spec.operations))}"
                             f" (got {operation!r})")
    if streaming and not spec.streams and operation not in spec.multi_frame:
        raise InputError(f"{name} cannot stream; streaming services are "
                         f"{', '.join(s.name for s in _SERVICE_LIST if s.streams)}")
    if "streaming" in request:
        raise InputError("pass streaming=True instead of a 'streaming' body field")
    carries = _OPERATION_CARRIES.get((name, operation), spec.carries) if isinstance(operation, str) else spec.carries
    return Call(spec, request, _single(name, carries), _last, streaming=streaming,
                needs_every_frame=operation in spec.multi_frame)


# -- text completion and prompt ---------------------------------------------------------


@functools.cache
def _text_chunks(service_name: str, key: str) -> Callable[[Mapping[str, Any]], list[TextChunk]]:
    def parse(response: Mapping[str, Any]) -> list[TextChunk]:
        obj = response.get("object") if key == "text" else None
        text = response.get(key)
        if text is None and obj is None:
            raise missing(service_name, (key, "object") if key == "text" else (key,))
        parsed: Any = None
        if obj is not None:
            try:
                parsed = json.loads(obj) if isinstance(obj, str) else obj
            except json.JSONDecodeError:
                raise ProtocolError(f"{service_name}: 'object' is not JSON text") from None
        content = text if isinstance(text, str) else (obj if isinstance(obj, str) else json.dumps(obj))
        return [TextChunk(content=content, end_of_message=bool(response.get("end_of_stream")),
                          end_of_stream=bool(response.get("end_of_stream", True)), object=parsed, **_usage(response))]
    return parse


def _collect_text(chunks: Sequence[TextChunk]) -> Answer:
    if len(chunks) == 1:  # a whole answer in one frame: the usual non-streaming reply
        c = chunks[0]
        return Answer(c.content, object=c.object, in_token=c.in_token, out_token=c.out_token, model=c.model)
    objects = [c.object for c in chunks if c.object is not None]
    text = "".join(c.content for c in chunks)
    return Answer(text, object=objects[-1] if objects else None, **_last_usage(chunks))


def text_completion(system: str, prompt: str, *, streaming: bool = False,
                    **kw: Unpack[TextCompletionOptions]) -> Call[TextChunk, Answer]:
    _known("text_completion", kw, TextCompletionOptions)
    body: dict[str, Any] = {"system": check_str("system", system, empty=True), "prompt": check_str("prompt", prompt)}
    _put(body, "response_format", _opt_str("response_format", kw.get("response_format")))
    schema = kw.get("schema")
    if schema is not None:
        body["schema"] = _mapping("schema", schema)
    return Call(SERVICES["text-completion"], body, _text_chunks("text-completion", "response"), _collect_text,
                streaming=_bool("streaming", streaming))


def list_models() -> Call[Mapping[str, Any], list[ModelInfo]]:
    def convert(r: Mapping[str, Any]) -> list[ModelInfo]:
        out = []
        for m in r.get("models") or []:
            if isinstance(m, Mapping):
                ctx = m.get("context_length")
                out.append(ModelInfo(str(m.get("id") or ""), m.get("name") if isinstance(m.get("name"), str) else None,
                                     _opt_int(ctx), dict(m)))
        return out
    return _call_single("text-completion", {"operation": "list-models"}, convert, ("models",))


def prompt(id: str, variables: Mapping[str, Any] | None = None, *, streaming: bool = False,
           **kw: Unpack[PromptOptions]) -> Call[TextChunk, Answer]:
    """``variables`` are any JSON values; ``terms`` are already JSON-encoded strings."""
    _known("prompt", kw, PromptOptions)
    terms = kw.get("terms")
    body: dict[str, Any] = {"id": check_str("id", id)}
    if variables is not None and terms is not None:
        raise InputError("pass variables or terms, not both")
    if terms is not None:
        body["terms"] = {k: check_str(f"terms[{k!r}]", v, empty=True) for k, v in _mapping("terms", terms).items()}
    else:
        body["variables"] = _mapping("variables", variables or {})
    return Call(SERVICES["prompt"], body, _text_chunks("prompt", "text"), _collect_text,
                streaming=_bool("streaming", streaming))


# -- agent ---------------------------------------------------------------------------------

AGENT_FIELDS = ("question", "state", "group", "history", "collection", "session_id", "conversation_id",
                "pattern", "task_type", "framing", "correlation_id", "parent_session_id", "subagent_goal",
                "expected_siblings")


def _agent_chunks(response: Mapping[str, Any]) -> list[AgentChunk]:
    kind = response.get("message_type")
    content = response.get("content")
    text = content if isinstance(content, str) else ""
    eom = bool(response.get("end_of_message"))
    mid = response.get("message_id") if isinstance(response.get("message_id"), str) else None
    if kind == "explain":
        return [_explain(response)]
    if kind == "thought":
        return [AgentThought(content=text, end_of_message=eom, message_id=mid)]
    if kind == "observation":
        return [AgentObservation(content=text, end_of_message=eom, message_id=mid)]
    if kind == "answer" or kind is None and ("end_of_dialog" in response or content is not None):
        return [AgentAnswer(content=text, end_of_message=eom, end_of_dialog=bool(response.get("end_of_dialog")),
                            message_id=mid, **_usage(response))]
    if kind == "error":
        raise ServiceError("agent", "agent-error", text)
    if kind in ("action",):  # in schema comments, not emitted by 2.11
        return []
    raise ProtocolError(f"agent: unknown message_type {kind!r}")


def _joined(chunks: Sequence[StreamingChunk]) -> tuple[str, ...]:
    """Texts of the messages among ``chunks``, one per message id (or per end_of_message)."""
    out: list[str] = []
    current: list[str] = []
    last_id: object = object()
    for c in chunks:
        mid = getattr(c, "message_id", None)
        if current and mid != last_id and mid is not None:
            out.append("".join(current))
            current = []
        current.append(c.content)
        last_id = mid
        if c.end_of_message and mid is None:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return tuple(out)


def _collect_agent(chunks: Sequence[AgentChunk]) -> Answer:
    answers = [c for c in chunks if isinstance(c, AgentAnswer)]
    if not answers:
        raise ServiceError("agent", "missing-field", "the agent ended without an answer")
    return Answer(
        "".join(c.content for c in answers),
        explain=[c for c in chunks if isinstance(c, ExplainEvent)],
        thoughts=_joined([c for c in chunks if isinstance(c, AgentThought)]),
        observations=_joined([c for c in chunks if isinstance(c, AgentObservation)]),
        **_last_usage(answers),
    )


def agent(question: str, *, streaming: bool = False, **kw: Unpack[AgentOptions]) -> Call[AgentChunk, Answer]:
    _known("agent", kw, AgentOptions)
    group, history, pattern = kw.get("group"), kw.get("history"), kw.get("pattern")
    body: dict[str, Any] = {"question": check_str("question", question)}
    _put(body, "state", _opt_str("state", kw.get("state")))
    if group is not None:
        body["group"] = _strs("group", group)
    if history is not None:
        body["history"] = [_mapping("history item", h) for h in history]
    _put(body, "collection", _opt_str("collection", kw.get("collection")))
    _put(body, "session_id", _opt_str("session_id", kw.get("session_id")))
    _put(body, "conversation_id", _opt_str("conversation_id", kw.get("conversation_id")))
    if pattern is not None and pattern not in ("react", "plan-then-execute", "supervisor"):
        raise InputError(f"pattern must be react, plan-then-execute or supervisor, not {pattern!r}")
    _put(body, "pattern", pattern)
    body.update(_options("agent", kw.get("options"), AGENT_FIELDS, body))
    return Call(SERVICES["agent"], body, _agent_chunks, _collect_agent, streaming=_bool("streaming", streaming))


# -- graph-rag / document-rag ----------------------------------------------------------------

GRAPH_RAG_FIELDS = ("query", "collection", "entity-limit", "triple-limit", "max-subgraph-size", "max-path-length",
                    "edge-score-limit", "edge-limit", "max-reranker-input", "grounding-seeds", "graph-seeds",
                    "languages", "traversal-instructions", "graph")
DOCUMENT_RAG_FIELDS = ("query", "collection", "doc-limit", "fetch-limit")


def _rag_chunk(response: Mapping[str, Any], error: dict[str, str] | None = None) -> RAGChunk:
    text = response.get("response")
    return RAGChunk(content=text if isinstance(text, str) else "",
                    end_of_message=bool(response.get("end_of_session")),
                    end_of_stream=bool(response.get("end_of_stream")),
                    end_of_session=bool(response.get("end_of_session")),
                    error=error, sources=_sources(response), **_usage(response))


def _rag_chunks(response: Mapping[str, Any]) -> list[RAGEvent]:
    if response.get("message_type") == "explain":
        return [_explain(response)]
    # "chunk", graph-rag's final "chunk", document-rag's final "end", or REST's untyped reply
    return [_rag_chunk(response)]


def _rag_error(response: Mapping[str, Any]) -> list[RAGEvent]:
    err = error_of(response)
    return [_rag_chunk(response, {"type": err[0], "message": err[1]} if err else None)]


def _collect_rag(chunks: Sequence[RAGEvent]) -> Answer:
    parts = [c for c in chunks if isinstance(c, RAGChunk)]
    if not any(c.end_of_session or c.end_of_stream for c in parts):
        raise ServiceError("rag", "missing-field", "the answer ended without its final chunk")
    return Answer("".join(c.content for c in parts), explain=[c for c in chunks if isinstance(c, ExplainEvent)],
                  sources=[s for c in parts for s in c.sources], **_last_usage(parts))


def graph_rag(query: str, *, streaming: bool = False, **kw: Unpack[GraphRagOptions]) -> Call[RAGEvent, Answer]:
    """``collection`` defaults to ``"default"``; limits left out take the gateway's defaults."""
    _known("graph_rag", kw, GraphRagOptions)
    body: dict[str, Any] = {"query": check_str("query", query)}
    _put(body, "collection", _opt_str("collection", kw.get("collection", "default")))
    for key in ("entity_limit", "triple_limit", "max_subgraph_size", "max_path_length"):
        value = kw.get(key)
        if value is not None:
            body[key.replace("_", "-")] = _int(key, value)
    body.update(_options("graph-rag", kw.get("options"), GRAPH_RAG_FIELDS, body))
    if "grounding-seeds" in body and "graph-seeds" in body:
        raise InputError("grounding-seeds and graph-seeds are mutually exclusive")
    return Call(SERVICES["graph-rag"], body, _rag_chunks, _collect_rag, streaming=_bool("streaming", streaming),
                on_error=_rag_error)


def document_rag(query: str, *, streaming: bool = False, **kw: Unpack[DocumentRagOptions]) -> Call[RAGEvent, Answer]:
    _known("document_rag", kw, DocumentRagOptions)
    body: dict[str, Any] = {"query": check_str("query", query)}
    _put(body, "collection", _opt_str("collection", kw.get("collection", "default")))
    doc_limit = kw.get("doc_limit")
    if doc_limit is not None:
        body["doc-limit"] = _int("doc_limit", doc_limit)
    body.update(_options("document-rag", kw.get("options"), DOCUMENT_RAG_FIELDS, body))
    return Call(SERVICES["document-rag"], body, _rag_chunks, _collect_rag, streaming=_bool("streaming", streaming),
                on_error=_rag_error)


# -- embeddings and their queries -----------------------------------------------------------


def embeddings(texts: str | Sequence[str]) -> Call[Mapping[str, Any], list[list[float]]]:
    items = [texts] if isinstance(texts, str) else _strs("texts", texts)
    if not items:
        raise InputError("texts must not be empty")

    def parse(response: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        vectors = response.get("vectors")
        if not isinstance(vectors, list) or len(vectors) != len(items):
            got = "no vectors" if not vectors else f"{len(vectors)} vectors"
            raise ServiceError("embeddings", "missing-field",
                               f"{got} for {len(items)} texts; the gateway drops this service's errors"
                               ", so the request most likely failed in the back end")
        return [response]

    def collect(frames: Sequence[Mapping[str, Any]]) -> list[list[float]]:
        return [[float(x) for x in v] for v in _last(frames)["vectors"]]

    return Call(SERVICES["embeddings"], {"texts": items}, parse, collect)


_ENTITY_SCHEMA = pa.schema([pa.field("entity", pa.string()), pa.field("entity_type", pa.string()),
                            pa.field("score", pa.float64()), pa.field("rdf_type", pa.string())])
_CHUNK_SCHEMA = pa.schema([pa.field("chunk_id", pa.string()), pa.field("score", pa.float64())])
_ROW_SCHEMA = pa.schema([pa.field("index_name", pa.string()), pa.field("index_value", pa.list_(pa.string())),
                         pa.field("text", pa.string()), pa.field("score", pa.float64())])
_RERANK_SCHEMA = pa.schema([pa.field("document_id", pa.string()), pa.field("query_id", pa.string()),
                            pa.field("score", pa.float64())])


def _query_body(vector: Sequence[float], limit: int, collection: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"vector": _vector("vector", vector), "limit": _int("limit", limit)}
    _put(body, "collection", _opt_str("collection", collection))
    return body


def graph_embeddings_query(vector: Sequence[float], *, limit: int = 10, collection: str | None = "default"
                           ) -> Call[Mapping[str, Any], Table[EntityMatch]]:
    def convert(r: Mapping[str, Any]) -> Table[EntityMatch]:
        out = []
        for e in r.get("entities") or []:
            try:
                entity = Term.from_wire(e["entity"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ProtocolError(f"graph-embeddings: malformed entity {exc!r}") from None
            rdf_type = e.get("rdf_type")
            out.append(EntityMatch(entity, float(e.get("score") or 0.0),
                                   rdf_type if isinstance(rdf_type, str) else None,
                                   e.get("attributes")))
        return Table(out, _ENTITY_SCHEMA, lambda m: {"entity": m.entity.value, "entity_type": m.entity.kind,
                                                     "score": m.score, "rdf_type": m.rdf_type})
    return _call_single("graph-embeddings", _query_body(vector, limit, collection), convert)


def document_embeddings_query(vector: Sequence[float], *, limit: int = 10, collection: str | None = "default"
                              ) -> Call[Mapping[str, Any], Table[ChunkMatch]]:
    def convert(r: Mapping[str, Any]) -> Table[ChunkMatch]:
        out = [ChunkMatch(str(c.get("chunk_id") or ""), float(c.get("score") or 0.0), c.get("attributes"))
               for c in r.get("chunks") or []]
        return Table(out, _CHUNK_SCHEMA, lambda m: {"chunk_id": m.chunk_id, "score": m.score})
    return _call_single("document-embeddings", _query_body(vector, limit, collection), convert)


def row_embeddings_query(vector: Sequence[float], *, schema_name: str, index_name: str | None = None,
                         limit: int = 10, collection: str | None = "default"
                         ) -> Call[Mapping[str, Any], Table[RowMatch]]:
    body = _query_body(vector, limit, collection)
    body["schema_name"] = check_str("schema_name", schema_name)
    _put(body, "index_name", _opt_str("index_name", index_name))

    def convert(r: Mapping[str, Any]) -> Table[RowMatch]:
        out = [RowMatch(str(m.get("index_name") or ""), tuple(str(v) for v in m.get("index_value") or []),
                        str(m.get("text") or ""), float(m.get("score") or 0.0), m.get("attributes"))
               for m in r.get("matches") or []]
        return Table(out, _ROW_SCHEMA, lambda m: {"index_name": m.index_name, "index_value": list(m.index_value),
                                                  "text": m.text, "score": m.score})
    return _call_single("row-embeddings", body, convert)


# -- triples and SPARQL -------------------------------------------------------------------------


def _triples_chunks(response: Mapping[str, Any]) -> list[TripleList]:
    items = response.get("response")
    if not isinstance(items, list):
        raise missing("triples", ("response",))
    return [TripleList(items)]


def _collect_triples(chunks: Sequence[TripleList]) -> TripleList:
    if len(chunks) == 1:
        return chunks[0]
    return TripleList(t for c in chunks for t in c.wire)


TermArg = Term | str | Mapping[str, Any] | None


def _query_options(name: str, body: dict[str, Any], kw: QueryOptions) -> None:
    _known(name, kw, QueryOptions)
    _put(body, "collection", _opt_str("collection", kw.get("collection", "default")))
    body["limit"] = _int("limit", kw.get("limit", 10000))
    batch_size = kw.get("batch_size")
    if batch_size is not None:
        body["batch-size"] = _int("batch_size", batch_size, high=100_000)


def triples_query(s: TermArg = None, p: TermArg = None, o: TermArg = None, g: str | None = None, *,
                  streaming: bool = False, **kw: Unpack[QueryOptions]) -> Call[TripleList, TripleList]:
    """``g``: ``None`` the default graph, ``"*"`` every graph, or a graph IRI.
    ``collection`` defaults to ``"default"``, ``limit`` to 10000 (at most 2**31-1)."""
    body: dict[str, Any] = {}
    for pos, value in (("s", s), ("p", p), ("o", o)):
        if value is not None:
            body[pos] = term_arg(pos, value)
    _put(body, "g", _opt_str("g", g))
    _query_options("triples_query", body, kw)
    return Call(SERVICES["triples"], body, _triples_chunks, _collect_triples, streaming=_bool("streaming", streaming))


def _binding_term(value: Any) -> Term | None:
    if value is None:
        return None
    try:
        return Term.from_wire(value)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"sparql: malformed term {exc!r}") from None


def _sparql_chunks(response: Mapping[str, Any]) -> list[SparqlResult]:
    qtype = response.get("query-type")
    if not isinstance(qtype, str):
        raise missing("sparql", ("query-type",))
    variables = tuple(str(v) for v in response.get("variables") or [])
    bindings = []
    for b in response.get("bindings") or []:
        values = b.get("values") if isinstance(b, Mapping) else b
        bindings.append({var: _binding_term(v) for var, v in zip(variables, values or [], strict=False)})
    ask = response.get("ask-result")
    return [SparqlResult(qtype, variables, tuple(bindings), ask if isinstance(ask, bool) else None,
                         TripleList(response.get("triples") or []))]


def _collect_sparql(chunks: Sequence[SparqlResult]) -> SparqlResult:
    if not chunks:
        raise ProtocolError("sparql: no reply")
    first = chunks[0]
    variables = next((c.variables for c in chunks if c.variables), first.variables)
    ask = next((c.ask_result for c in chunks if c.ask_result is not None), None)
    return SparqlResult(first.query_type, variables, tuple(b for c in chunks for b in c.bindings), ask,
                        TripleList(t for c in chunks for t in c.triples.wire))


def sparql_query(query: str, *, streaming: bool = False,
                 **kw: Unpack[QueryOptions]) -> Call[SparqlResult, SparqlResult]:
    body: dict[str, Any] = {"query": check_str("query", query)}
    _query_options("sparql_query", body, kw)
    return Call(SERVICES["sparql"], body, _sparql_chunks, _collect_sparql, streaming=_bool("streaming", streaming))


# -- structured data services ---------------------------------------------------------------


def rows_query(query: str, *, collection: str | None = "default", variables: Mapping[str, Any] | None = None,
               operation_name: str | None = None) -> Call[Mapping[str, Any], RowsResult]:
    body: dict[str, Any] = {"query": check_str("query", query)}
    _put(body, "collection", _opt_str("collection", collection))
    if variables is not None:
        body["variables"] = _mapping("variables", variables)
    _put(body, "operation_name", _opt_str("operation_name", operation_name))

    def convert(r: Mapping[str, Any]) -> RowsResult:
        if "data" not in r and "errors" not in r:
            raise missing("rows", ("data", "errors"))
        errors = tuple(e for e in r.get("errors") or [] if isinstance(e, Mapping))
        return RowsResult(r.get("data"), errors, r.get("extensions"))
    return _call_single("rows", body, convert)


def nlp_query(question: str, *, max_results: int = 100) -> Call[Mapping[str, Any], NlpQueryResult]:
    body = {"question": check_str("question", question), "max_results": _int("max_results", max_results)}

    def convert(r: Mapping[str, Any]) -> NlpQueryResult:
        if r.get("graphql_query") is None:
            raise missing("nlp-query", ("graphql_query",))
        return NlpQueryResult(str(r["graphql_query"]), dict(r.get("variables") or {}),
                              tuple(str(s) for s in r.get("detected_schemas") or []), float(r.get("confidence") or 0.0))
    return _call_single("nlp-query", body, convert)


def structured_query(question: str, *, collection: str | None = "default"
                     ) -> Call[Mapping[str, Any], StructuredQueryResult]:
    body: dict[str, Any] = {"question": check_str("question", question)}
    _put(body, "collection", _opt_str("collection", collection))

    def convert(r: Mapping[str, Any]) -> StructuredQueryResult:
        if "data" not in r and not r.get("errors"):
            raise missing("structured-query", ("data", "errors"))
        data = r.get("data")
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError:
                pass
        return StructuredQueryResult(data, tuple(str(e) for e in r.get("errors") or []))
    return _call_single("structured-query", body, convert)


DIAG_OPERATIONS = ("detect-type", "generate-descriptor", "diagnose", "schema-selection")


def structured_diag(operation: str, sample: str, *, type: str | None = None, schema_name: str | None = None,
                    options: Mapping[str, Any] | None = None) -> Call[Mapping[str, Any], StructuredDiagResult]:
    if operation not in DIAG_OPERATIONS:
        raise InputError(f"operation must be one of {', '.join(DIAG_OPERATIONS)}, not {operation!r}")
    body: dict[str, Any] = {"operation": operation, "sample": check_str("sample", sample)}
    _put(body, "type", _opt_str("type", type))
    _put(body, "schema-name", _opt_str("schema_name", schema_name))
    if options is not None:
        body["options"] = _mapping("options", options)

    def convert(r: Mapping[str, Any]) -> StructuredDiagResult:
        conf = r.get("confidence")
        return StructuredDiagResult(str(r.get("operation") or operation), r.get("detected-type"),
                                    float(conf) if isinstance(conf, (int, float)) else None,
                                    r.get("descriptor"), r.get("metadata"), tuple(r.get("schema-matches") or []))
    return _call_single("structured-diag", body, convert)


# -- tools and models -------------------------------------------------------------------------


def mcp_tool(name: str, parameters: Mapping[str, Any] | None = None) -> Call[Mapping[str, Any], McpResult]:
    body = {"name": check_str("name", name), "parameters": _mapping("parameters", parameters or {})}

    def convert(r: Mapping[str, Any]) -> McpResult:
        obj = r.get("object")
        if isinstance(obj, str):
            try:
                obj = json.loads(obj)
            except json.JSONDecodeError:
                pass
        text = r.get("text")
        return McpResult(text if isinstance(text, str) else None, obj)
    return _call_single("mcp-tool", body, convert)


def reranker(query: str, documents: Sequence[str] | Mapping[str, str], *, limit: int | None = None
             ) -> Call[Mapping[str, Any], Table[RerankResult]]:
    """Rank ``documents`` (texts, or ids to texts) against ``query`` (its id is ``q0``)."""
    if isinstance(documents, Mapping):
        docs = [{"document_id": check_str("document id", k),
                 "document_text": check_str(f"documents[{k!r}]", v, empty=True)} for k, v in documents.items()]
    else:
        docs = [{"document_id": f"d{i}", "document_text": t} for i, t in enumerate(_strs("documents", documents))]
    if not docs:
        raise InputError("documents must not be empty")
    body: dict[str, Any] = {"queries": [{"query_id": "q0", "query_text": check_str("query", query)}], "documents": docs}
    if limit is not None:
        body["limit"] = _int("limit", limit)

    def parse(r: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        if not r.get("results"):  # a real ranking of non-empty documents is never empty
            raise missing("reranker", ("results",))
        return [r]

    def collect(frames: Sequence[Mapping[str, Any]]) -> Table[RerankResult]:
        out = [RerankResult(str(x.get("document_id")), str(x.get("query_id")), float(x.get("score") or 0.0))
               for x in _last(frames).get("results") or []]
        return Table(out, _RERANK_SCHEMA, lambda m: {"document_id": m.document_id, "query_id": m.query_id,
                                                     "score": m.score})
    return Call(SERVICES["reranker"], body, parse, collect)


def image_to_text(image: bytes, mime_type: str, *, prompt: str | None = None, system: str | None = None
                  ) -> Call[Mapping[str, Any], Answer]:
    if not isinstance(image, (bytes, bytearray, memoryview)) or not image:
        raise InputError("image must be non-empty bytes")
    body: dict[str, Any] = {"image": base64.b64encode(bytes(image)).decode("ascii"),
                            "mime_type": check_str("mime_type", mime_type)}
    _put(body, "prompt", _opt_str("prompt", prompt))
    _put(body, "system", _opt_str("system", system))

    def parse(r: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        if not r.get("description"):  # the dropped error is {"description": ""}
            raise missing("image-to-text", ("description",))
        return [r]
    return Call(SERVICES["image-to-text"], body, parse,
                lambda frames: Answer(str(_last(frames)["description"]), **_usage(_last(frames))))


def cloze(query: str | None = None, *, model: str | None = None, operation: str = "predict"
          ) -> Call[Mapping[str, Any], ClozeResult]:
    if operation not in ("predict", "list-models"):
        raise InputError(f"operation must be predict or list-models, not {operation!r}")
    body: dict[str, Any] = {"operation": operation}
    if operation == "predict":
        body["query"] = check_str("query", query)
    _put(body, "model", _opt_str("model", model))

    def convert(r: Mapping[str, Any]) -> ClozeResult:
        label = r.get("label")
        conf = r.get("confidence")
        if operation == "predict" and label is None:
            raise missing("cloze", ("label",))
        return ClozeResult(label if isinstance(label, str) else None,
                           float(conf) if isinstance(conf, (int, float)) else None,
                           tuple(m for m in r.get("models") or [] if isinstance(m, Mapping)))
    return _call_single("cloze", body, convert)


def _scoring(name: str, state: Mapping[str, Any], key: str, value: Mapping[str, Any]
             ) -> Call[Mapping[str, Any], ScoringResult]:
    body = {"state": _mapping("state", state), key: _mapping(key, value)}

    def convert(r: Mapping[str, Any]) -> ScoringResult:
        answers = r.get("answers")
        if not isinstance(answers, Mapping):
            raise missing(name, ("answers",))
        model = r.get("model")
        return ScoringResult(dict(answers), model if isinstance(model, str) else None)
    return _call_single(name, body, convert)


def decision_scoring(state: Mapping[str, Any], questions: Mapping[str, Any]) -> Call[Mapping[str, Any], ScoringResult]:
    return _scoring("decision-scoring", state, "questions", questions)


def field_extraction(state: Mapping[str, Any], fields: Mapping[str, Any]) -> Call[Mapping[str, Any], ScoringResult]:
    return _scoring("field-extraction", state, "fields", fields)


# -- config ---------------------------------------------------------------------------------


def _config_values(r: Mapping[str, Any]) -> list[ConfigValue]:
    out = []
    for v in r.get("values") or []:
        value = v.get("value")
        out.append(ConfigValue(str(v.get("type")), str(v.get("key")), value if isinstance(value, str) else None,
                               v.get("workspace")))
    return out


def _key(k: Any) -> dict[str, str]:
    if isinstance(k, ConfigKey):
        return {"type": check_str("type", k.type), "key": check_str("key", k.key)}
    if isinstance(k, Sequence) and not isinstance(k, str) and len(k) == 2:
        return {"type": check_str("type", k[0]), "key": check_str("key", k[1])}
    raise InputError(f"a config key is a ConfigKey or a (type, key) pair, not {k!r}")


def _config_read(body: dict[str, Any], convert: Callable[[Mapping[str, Any]], R],
                 check: Callable[[Mapping[str, Any]], bool] = lambda r: True) -> Call[Mapping[str, Any], R]:
    """A config read. Its dropped error is the all-defaults reply with ``version`` 0, while
    every real answer carries the (positive) config version."""
    def parse(r: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        version = r.get("version")
        if not isinstance(version, int) or version <= 0 or not check(r):
            raise ServiceError("config", "missing-field",
                               f"config {body['operation']} answered with version {version!r} and no data; the"
                               " gateway drops config errors, so the request failed in the back end")
        return [r]
    return Call(SERVICES["config"], body, parse, lambda frames: convert(_last(frames)))


def config_get(keys: Iterable[ConfigKey | tuple[str, str]]) -> Call[Mapping[str, Any], list[ConfigValue]]:
    """Values of ``keys`` (a missing key's value is None)."""
    wanted = [_key(k) for k in keys]
    return _config_read({"operation": "get", "keys": wanted}, _config_values,
                        lambda r: len(r.get("values") or []) == len(wanted))


def config_put(values: Iterable[ConfigValue | tuple[str, str, str]]) -> Call[Mapping[str, Any], None]:
    """Every value must be a string: the config service fails silently on anything else."""
    out = []
    for v in values:
        if isinstance(v, ConfigValue):
            t, k, val = v.type, v.key, v.value
        elif isinstance(v, Sequence) and not isinstance(v, str) and len(v) == 3:
            t, k, val = v
        else:
            raise InputError(f"a config value is a ConfigValue or a (type, key, value) triple, not {v!r}")
        out.append({"type": check_str("type", t), "key": check_str("key", k),
                    "value": check_str(f"value of {t}/{k}", val, empty=True)})
    return _call_single("config", {"operation": "put", "values": out}, lambda r: None, ())


def config_delete(keys: Iterable[ConfigKey | tuple[str, str]]) -> Call[Mapping[str, Any], None]:
    return _call_single("config", {"operation": "delete", "keys": [_key(k) for k in keys]}, lambda r: None, ())


def config_list(type: str) -> Call[Mapping[str, Any], list[str]]:
    return _config_read({"operation": "list", "type": check_str("type", type)},
                        lambda r: [str(k) for k in r.get("directory") or []])


def config_values(type: str, *, all_workspaces: bool = False) -> Call[Mapping[str, Any], list[ConfigValue]]:
    op = "getvalues-all-ws" if all_workspaces else "getvalues"
    return _config_read({"operation": op, "type": check_str("type", type)}, _config_values)


def config_all() -> Call[Mapping[str, Any], ConfigSnapshot]:
    def convert(r: Mapping[str, Any]) -> ConfigSnapshot:
        config = r.get("config") or {}
        return ConfigSnapshot({str(t): dict(v) for t, v in config.items()}, int(r["version"]))
    return _config_read({"operation": "config"}, convert)


# -- flow management ---------------------------------------------------------------------------


def flow_list() -> Call[Mapping[str, Any], list[str]]:
    return _call_single("flow", {"operation": "list-flows"}, lambda r: [str(x) for x in r["flow-ids"]],
                        ("flow-ids",))


def flow_get(id: str) -> Call[Mapping[str, Any], dict[str, Any]]:
    flow_id = check_str("id", id)

    def convert(r: Mapping[str, Any]) -> dict[str, Any]:
        text = r.get("flow")
        if not text:  # an unknown flow is the dropped error {"flow": ""}
            raise ServiceError("flow", "missing-field",
                               f"no flow {flow_id!r} (the gateway drops flow errors: an unknown flow"
                               " comes back as an empty record)")
        value = json.loads(text) if isinstance(text, str) else text
        if not isinstance(value, dict):
            raise ProtocolError("flow: 'flow' is not a JSON object")
        return value
    return _call_single("flow", {"operation": "get-flow", "flow-id": flow_id}, convert, ())


def flow_start(blueprint_name: str, id: str, description: str = "",
               parameters: Mapping[str, str] | None = None) -> Call[Mapping[str, Any], None]:
    body: dict[str, Any] = {"operation": "start-flow", "flow-id": check_str("id", id),
                            "blueprint-name": check_str("blueprint_name", blueprint_name),
                            "description": check_str("description", description, empty=True)}
    if parameters is not None:
        body["parameters"] = {check_str("parameter name", k): check_str(f"parameter {k!r}", v, empty=True)
                              for k, v in _mapping("parameters", parameters).items()}
    return _call_single("flow", body, lambda r: None, ())


def flow_stop(id: str) -> Call[Mapping[str, Any], None]:
    return _call_single("flow", {"operation": "stop-flow", "flow-id": check_str("id", id)}, lambda r: None, ())


def blueprint_list() -> Call[Mapping[str, Any], list[str]]:
    return _call_single("flow", {"operation": "list-blueprints"},
                        lambda r: [str(x) for x in r["blueprint-names"]], ("blueprint-names",))


def blueprint_get(name: str) -> Call[Mapping[str, Any], dict[str, Any]]:
    blueprint = check_str("name", name)

    def convert(r: Mapping[str, Any]) -> dict[str, Any]:
        text = r.get("blueprint-definition")
        if not text:
            raise ServiceError("flow", "missing-field",
                               f"no blueprint {blueprint!r} (the gateway drops flow errors: an unknown"
                               " blueprint comes back as an empty definition)")
        value = json.loads(text) if isinstance(text, str) else text
        if not isinstance(value, dict):
            raise ProtocolError("flow: 'blueprint-definition' is not a JSON object")
        return value
    return _call_single("flow", {"operation": "get-blueprint", "blueprint-name": blueprint}, convert, ())


def blueprint_put(name: str, definition: Mapping[str, Any] | str) -> Call[Mapping[str, Any], None]:
    text = definition if isinstance(definition, str) else json.dumps(_mapping("definition", definition))
    try:
        if not isinstance(json.loads(text), dict):
            raise ValueError
    except ValueError:
        raise InputError("a blueprint definition must be a JSON object") from None
    return _call_single("flow", {"operation": "put-blueprint", "blueprint-name": check_str("name", name),
                                 "blueprint-definition": text}, lambda r: None, ())


def blueprint_delete(name: str) -> Call[Mapping[str, Any], None]:
    return _call_single("flow", {"operation": "delete-blueprint", "blueprint-name": check_str("name", name)},
                        lambda r: None, ())


# -- librarian ---------------------------------------------------------------------------------


def _document(d: Mapping[str, Any]) -> DocumentMetadata:
    time = d.get("time")
    return DocumentMetadata(
        str(d.get("id") or ""), _opt_int(time), d.get("kind"), str(d.get("title") or ""),
        str(d.get("comments") or ""), TripleList(d.get("metadata") or []), tuple(d.get("tags") or []),
        d.get("parent-id") or None, d.get("document-type") or None)


def _processing(d: Mapping[str, Any]) -> ProcessingMetadata:
    return ProcessingMetadata(str(d.get("id") or ""), str(d.get("document-id") or ""), _opt_int(d.get("time")),
                              d.get("flow"), d.get("collection"), tuple(d.get("tags") or []))


def _wire_triples(metadata: Iterable[Triple | Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for t in metadata or ():
        if isinstance(t, Triple):
            out.append(t.to_wire())
        elif isinstance(t, Mapping):
            out.append({pos: term_arg(pos, t[pos]) for pos in ("s", "p", "o")})
        else:
            raise InputError(f"metadata must hold Triples, not {type(t).__name__}")
    return out


def add_document(document: bytes, id: str, *, title: str = "", comments: str = "", kind: str = "text/plain",
                 tags: Sequence[str] = (), metadata: Iterable[Triple] | None = None,
                 time: int | None = None) -> Call[Mapping[str, Any], None]:
    if not isinstance(document, (bytes, bytearray, memoryview)):
        raise InputError("document must be bytes")
    import time as _time

    meta = {"id": check_str("id", id), "time": int(_time.time()) if time is None else _int("time", time, low=0),
            "kind": check_str("kind", kind), "title": check_str("title", title, empty=True),
            "comments": check_str("comments", comments, empty=True), "metadata": _wire_triples(metadata),
            "tags": _strs("tags", tags)}
    body = {"operation": "add-document", "document-metadata": meta,
            "content": base64.b64encode(bytes(document)).decode("ascii")}
    return _call_single("librarian", body, lambda r: None, ())


def update_document(id: str, *, title: str | None = None, comments: str | None = None,
                    tags: Sequence[str] | None = None, metadata: Iterable[Triple] | None = None
                    ) -> Call[Mapping[str, Any], None]:
    meta: dict[str, Any] = {"id": check_str("id", id)}
    _put(meta, "title", _opt_str("title", title))
    _put(meta, "comments", _opt_str("comments", comments))
    if tags is not None:
        meta["tags"] = _strs("tags", tags)
    if metadata is not None:
        meta["metadata"] = _wire_triples(metadata)
    return _call_single("librarian", {"operation": "update-document", "document-id": meta["id"],
                                      "document-metadata": meta}, lambda r: None, ())


def list_documents(include_children: bool = False) -> Call[Mapping[str, Any], list[DocumentMetadata]]:
    body: dict[str, Any] = {"operation": "list-documents"}
    if _bool("include_children", include_children):
        body["include-children"] = True
    return _call_single("librarian", body, lambda r: [_document(d) for d in r.get("document-metadatas") or []],
                        ("document-metadatas",))


def get_document(id: str) -> Call[Mapping[str, Any], DocumentMetadata]:
    def convert(r: Mapping[str, Any]) -> DocumentMetadata:
        meta = r.get("document-metadata")
        if not isinstance(meta, Mapping):
            raise missing("librarian", ("document-metadata",))
        return _document(meta)
    return _call_single("librarian", {"operation": "get-document-metadata", "document-id": check_str("id", id)},
                        convert, ())


def get_document_content(id: str) -> Call[Mapping[str, Any], bytes]:
    def convert(r: Mapping[str, Any]) -> bytes:
        content = r.get("content")
        if not isinstance(content, str):
            raise missing("librarian", ("content",))
        return base64.b64decode(content)
    return _call_single("librarian", {"operation": "get-document-content", "document-id": check_str("id", id)},
                        convert, ())


def remove_document(id: str) -> Call[Mapping[str, Any], None]:
    return _call_single("librarian", {"operation": "remove-document", "document-id": check_str("id", id)},
                        lambda r: None, ())


def start_processing(id: str, document_id: str, *, flow: str = "default", collection: str = "default",
                     tags: Sequence[str] = (), time: int | None = None) -> Call[Mapping[str, Any], None]:
    import time as _time

    meta = {"id": check_str("id", id), "document-id": check_str("document_id", document_id),
            "time": int(_time.time()) if time is None else _int("time", time, low=0), "flow": check_str("flow", flow),
            "collection": check_str("collection", collection), "tags": _strs("tags", tags)}
    return _call_single("librarian", {"operation": "add-processing", "processing-metadata": meta},
                        lambda r: None, ())


def stop_processing(id: str) -> Call[Mapping[str, Any], None]:
    return _call_single("librarian", {"operation": "remove-processing", "processing-id": check_str("id", id)},
                        lambda r: None, ())


def list_processing() -> Call[Mapping[str, Any], list[ProcessingMetadata]]:
    return _call_single("librarian", {"operation": "list-processing"},
                        lambda r: [_processing(d) for d in r.get("processing-metadatas") or []],
                        ("processing-metadatas",))


# -- knowledge cores ---------------------------------------------------------------------------

KNOWLEDGE_KINDS = ("triples", "graph-embeddings", "document-embeddings", "library-metadata", "library-blob")


def _knowledge_chunks(response: Mapping[str, Any]) -> list[KnowledgeItem]:
    for kind in KNOWLEDGE_KINDS:
        body = response.get(kind)
        if isinstance(body, Mapping):
            meta = body.get("metadata")
            return [KnowledgeItem(kind, dict(meta) if isinstance(meta, Mapping) else {}, dict(body))]
    return []  # {"eos": true} and empty frames


def get_core(id: str, *, kind: Literal["kg", "de"] = "kg", streaming: bool = False
             ) -> Call[KnowledgeItem, KnowledgeCore]:
    return Call(SERVICES["knowledge"], {"operation": f"get-{kind}-core", "id": check_str("id", id)}, _knowledge_chunks,
                lambda items: KnowledgeCore(items), streaming=_bool("streaming", streaming), needs_every_frame=True)


def list_cores(kind: Literal["kg", "de"] = "kg") -> Call[Mapping[str, Any], list[str]]:
    return _call_single("knowledge", {"operation": f"list-{kind}-cores"},
                        lambda r: [str(x) for x in r.get("ids") or []], ("ids",))


def _core_part(name: str, part: Mapping[str, Any], items_key: str) -> dict[str, Any]:
    body = _mapping(name, part)
    meta = body.get("metadata")
    if not (isinstance(meta, Mapping) and isinstance(meta.get("id"), str)
            and isinstance(meta.get("collection"), str)):
        raise InputError(f"{name} needs metadata with string 'id' and 'collection'")
    if not isinstance(body.get(items_key), list):
        raise InputError(f"{name} needs a list {items_key!r}")
    return body


def put_core(id: str, *, kind: Literal["kg", "de"] = "kg", triples: Mapping[str, Any] | None = None,
             graph_embeddings: Mapping[str, Any] | None = None,
             document_embeddings: Mapping[str, Any] | None = None) -> Call[Mapping[str, Any], None]:
    """One core item in wire form (``{"metadata": {"id", "collection"}, "triples": [...]}`` etc.)."""
    body: dict[str, Any] = {"operation": f"put-{kind}-core", "id": check_str("id", id)}
    if triples is not None:
        body["triples"] = _core_part("triples", triples, "triples")
    if graph_embeddings is not None:
        body["graph-embeddings"] = _core_part("graph_embeddings", graph_embeddings, "entities")
    if document_embeddings is not None:
        body["document-embeddings"] = _core_part("document_embeddings", document_embeddings, "chunks")
    if len(body) != 3:
        raise InputError("put one of triples, graph_embeddings or document_embeddings per call")
    return _call_single("knowledge", body, lambda r: None, ())


def delete_core(id: str, kind: Literal["kg", "de"] = "kg") -> Call[Mapping[str, Any], None]:
    return _call_single("knowledge", {"operation": f"delete-{kind}-core", "id": check_str("id", id)},
                        lambda r: None, ())


def load_core(id: str, *, kind: Literal["kg", "de"] = "kg", flow: str = "default", collection: str = "default"
              ) -> Call[Mapping[str, Any], None]:
    return _call_single("knowledge", {"operation": f"load-{kind}-core", "id": check_str("id", id),
                                      "flow": check_str("flow", flow),
                                      "collection": check_str("collection", collection)},
                        lambda r: None, ())


def unload_core(id: str, *, flow: str = "default") -> Call[Mapping[str, Any], None]:
    return _call_single("knowledge", {"operation": "unload-kg-core", "id": check_str("id", id),
                                      "flow": check_str("flow", flow)},
                        lambda r: None, ())


# -- collections -------------------------------------------------------------------------------


def _collection(c: Mapping[str, Any]) -> CollectionMetadata:
    return CollectionMetadata(str(c.get("collection") or ""), str(c.get("name") or ""),
                              str(c.get("description") or ""), tuple(c.get("tags") or []))


def list_collections(tag_filter: Sequence[str] | None = None, limit: int | None = None
                     ) -> Call[Mapping[str, Any], list[CollectionMetadata]]:
    body: dict[str, Any] = {"operation": "list-collections"}
    if tag_filter is not None:
        body["tag_filter"] = _strs("tag_filter", tag_filter)
    if limit is not None:
        body["limit"] = _int("limit", limit)
    return _call_single("collection-management", body,
                        lambda r: [_collection(c) for c in r.get("collections") or []], ("collections",))


def update_collection(collection: str, *, name: str | None = None, description: str | None = None,
                      tags: Sequence[str] | None = None) -> Call[Mapping[str, Any], CollectionMetadata]:
    body: dict[str, Any] = {"operation": "update-collection", "collection": check_str("collection", collection)}
    _put(body, "name", _opt_str("name", name))
    _put(body, "description", _opt_str("description", description))
    if tags is not None:
        body["tags"] = _strs("tags", tags)

    def convert(r: Mapping[str, Any]) -> CollectionMetadata:
        found = [c for c in r.get("collections") or [] if c.get("collection") == collection]
        return _collection(found[0]) if found else CollectionMetadata(collection, name or "", description or "",
                                                                       tuple(tags or ()))
    return _call_single("collection-management", body, convert, ())


def delete_collection(collection: str) -> Call[Mapping[str, Any], None]:
    return _call_single("collection-management",
                        {"operation": "delete-collection", "collection": check_str("collection", collection)},
                        lambda r: None, ())


__all__ = [
    "Service", "SERVICES", "FLOW_SERVICES", "GLOBAL_SERVICES", "Call", "Answer", "Source", "StreamingChunk",
    "AgentThought", "AgentObservation", "AgentAnswer", "RAGChunk", "TextChunk", "ExplainEvent", "Table",
    "TripleList", "SparqlResult", "EntityMatch", "ChunkMatch", "RowMatch", "RerankResult", "RowsResult",
    "NlpQueryResult", "StructuredQueryResult", "StructuredDiagResult", "McpResult", "ModelInfo", "ClozeResult",
    "ScoringResult", "ConfigKey", "ConfigValue", "ConfigSnapshot", "DocumentMetadata", "ProcessingMetadata",
    "CollectionMetadata", "KnowledgeItem", "KnowledgeCore", "TextCompletionOptions", "PromptOptions",
    "AgentOptions", "GraphRagOptions", "DocumentRagOptions", "QueryOptions",
]
