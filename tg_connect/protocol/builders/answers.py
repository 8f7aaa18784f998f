"""Builders of the answering services: text completion, prompt, agent, graph RAG and document RAG
(streaming; docs/protocol.md section 6)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import (
    TYPE_CHECKING,
    Any,
)

from ...errors import InputError, ProtocolError, ServiceError
from ...types import (
    AgentAnswer,
    AgentChunk,
    AgentObservation,
    AgentOptions,
    AgentThought,
    Answer,
    DocumentRagOptions,
    ExplainEvent,
    GraphRagOptions,
    ModelInfo,
    PromptOptions,
    RAGChunk,
    RAGEvent,
    StreamingChunk,
    TextChunk,
    TextCompletionOptions,
)
from ..replies import error_of

if TYPE_CHECKING:
    from typing_extensions import Unpack

from ..calls import (
    Call,
    call_single,
    check_bool,
    check_int,
    check_json_object,
    check_known,
    check_mapping,
    check_str,
    check_strs,
    explain_event,
    extra_options,
    last_usage,
    missing,
    opt_int,
    opt_str,
    put_field,
    sources_of,
    usage_of,
)
from ..registry import SERVICES, method

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
        return [
            TextChunk(
                content=content,
                end_of_message=bool(response.get("end_of_stream")),
                end_of_stream=bool(response.get("end_of_stream", True)),
                object=parsed,
                **usage_of(response),
            )
        ]

    return parse


def _collect_text(chunks: Sequence[TextChunk]) -> Answer:
    if len(chunks) == 1:  # a whole answer in one frame: the usual non-streaming reply
        c = chunks[0]
        return Answer(c.content, object=c.object, in_token=c.in_token, out_token=c.out_token, model=c.model)
    objects = [c.object for c in chunks if c.object is not None]
    text = "".join(c.content for c in chunks)
    return Answer(text, object=objects[-1] if objects else None, **last_usage(chunks))


@method("flow-instance", example={"system": "", "prompt": "hello"})
def text_completion(
    system: str, prompt: str, *, streaming: bool = False, **kw: Unpack[TextCompletionOptions]
) -> Call[TextChunk, Answer]:
    """The flow's LLM: an :class:`Answer` (a str with usage), or :class:`TextChunk` s."""
    check_known("text_completion", kw, TextCompletionOptions)
    body: dict[str, Any] = {"system": check_str("system", system, empty=True), "prompt": check_str("prompt", prompt)}
    put_field(body, "response_format", opt_str("response_format", kw.get("response_format")))
    schema = kw.get("schema")
    if schema is not None:
        body["schema"] = check_json_object("schema", schema)
    return Call(
        SERVICES["text-completion"],
        body,
        _text_chunks("text-completion", "response"),
        _collect_text,
        streaming=check_bool("streaming", streaming),
    )


@method("flow-instance")
def list_models() -> Call[Mapping[str, Any], list[ModelInfo]]:
    """The models of the flow's LLM (text-completion ``list-models``)."""

    def convert(r: Mapping[str, Any]) -> list[ModelInfo]:
        out = []
        for m in r.get("models") or []:
            if isinstance(m, Mapping):
                ctx = m.get("context_length")
                out.append(
                    ModelInfo(
                        str(m.get("id") or ""),
                        m.get("name") if isinstance(m.get("name"), str) else None,
                        opt_int(ctx),
                        dict(m),
                    )
                )
        return out

    return call_single("text-completion", {"operation": "list-models"}, convert, ("models",))


@method("flow-instance")
def prompt(
    id: str, variables: Mapping[str, Any] | None = None, *, streaming: bool = False, **kw: Unpack[PromptOptions]
) -> Call[TextChunk, Answer]:
    """A prompt template; a JSON template's value is ``answer.object``.

    ``variables`` are any JSON values; ``terms`` are already JSON-encoded strings."""
    check_known("prompt", kw, PromptOptions)
    terms = kw.get("terms")
    body: dict[str, Any] = {"id": check_str("id", id)}
    if variables is not None and terms is not None:
        raise InputError("pass variables or terms, not both")
    if terms is not None:
        body["terms"] = {k: check_str(f"terms[{k!r}]", v, empty=True) for k, v in check_mapping("terms", terms).items()}
    else:
        body["variables"] = check_json_object("variables", variables or {})
    return Call(
        SERVICES["prompt"],
        body,
        _text_chunks("prompt", "text"),
        _collect_text,
        streaming=check_bool("streaming", streaming),
    )


# -- agent ---------------------------------------------------------------------------------

AGENT_FIELDS = (
    "question",
    "state",
    "group",
    "history",
    "collection",
    "session_id",
    "conversation_id",
    "pattern",
    "task_type",
    "framing",
    "correlation_id",
    "parent_session_id",
    "subagent_goal",
    "expected_siblings",
)


def _agent_chunks(response: Mapping[str, Any]) -> list[AgentChunk]:
    kind = response.get("message_type")
    content = response.get("content")
    text = content if isinstance(content, str) else ""
    eom = bool(response.get("end_of_message"))
    mid = response.get("message_id") if isinstance(response.get("message_id"), str) else None
    if kind == "explain":
        return [explain_event(response)]
    if kind == "thought":
        return [AgentThought(content=text, end_of_message=eom, message_id=mid)]
    if kind == "observation":
        return [AgentObservation(content=text, end_of_message=eom, message_id=mid)]
    if kind == "answer" or kind is None and ("end_of_dialog" in response or content is not None):
        return [
            AgentAnswer(
                content=text,
                end_of_message=eom,
                end_of_dialog=bool(response.get("end_of_dialog")),
                message_id=mid,
                **usage_of(response),
            )
        ]
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
        **last_usage(answers),
    )


@method("flow-instance")
def agent(question: str, *, streaming: bool = False, **kw: Unpack[AgentOptions]) -> Call[AgentChunk, Answer]:
    """The agent: an :class:`Answer` (with ``thoughts``, ``observations``, ``explain``), or
    AgentThought / AgentObservation / AgentAnswer / ExplainEvent chunks."""
    check_known("agent", kw, AgentOptions)
    group, history, pattern = kw.get("group"), kw.get("history"), kw.get("pattern")
    body: dict[str, Any] = {"question": check_str("question", question)}
    put_field(body, "state", opt_str("state", kw.get("state")))
    if group is not None:
        body["group"] = check_strs("group", group)
    if history is not None:
        body["history"] = [check_json_object(f"history[{i}]", h) for i, h in enumerate(history)]
    put_field(body, "collection", opt_str("collection", kw.get("collection")))
    put_field(body, "session_id", opt_str("session_id", kw.get("session_id")))
    put_field(body, "conversation_id", opt_str("conversation_id", kw.get("conversation_id")))
    if pattern is not None and pattern not in ("react", "plan-then-execute", "supervisor"):
        raise InputError(f"pattern must be react, plan-then-execute or supervisor, not {pattern!r}")
    put_field(body, "pattern", pattern)
    body.update(extra_options("agent", kw.get("options"), AGENT_FIELDS, body))
    return Call(SERVICES["agent"], body, _agent_chunks, _collect_agent, streaming=check_bool("streaming", streaming))


# -- graph-rag / document-rag ----------------------------------------------------------------

GRAPH_RAG_FIELDS = (
    "query",
    "collection",
    "entity-limit",
    "triple-limit",
    "max-subgraph-size",
    "max-path-length",
    "edge-score-limit",
    "edge-limit",
    "max-reranker-input",
    "grounding-seeds",
    "graph-seeds",
    "languages",
    "traversal-instructions",
    "graph",
)
DOCUMENT_RAG_FIELDS = ("query", "collection", "doc-limit", "fetch-limit")


def _rag_chunk(response: Mapping[str, Any], error: dict[str, str] | None = None) -> RAGChunk:
    text = response.get("response")
    return RAGChunk(
        content=text if isinstance(text, str) else "",
        end_of_message=bool(response.get("end_of_session")),
        end_of_stream=bool(response.get("end_of_stream")),
        end_of_session=bool(response.get("end_of_session")),
        error=error,
        sources=sources_of(response),
        **usage_of(response),
    )


def _rag_chunks(response: Mapping[str, Any]) -> list[RAGEvent]:
    if response.get("message_type") == "explain":
        return [explain_event(response)]
    # "chunk", graph-rag's final "chunk", document-rag's final "end", or REST's untyped reply
    return [_rag_chunk(response)]


def _rag_error(response: Mapping[str, Any]) -> list[RAGEvent]:
    err = error_of(response)
    return [_rag_chunk(response, {"type": err[0], "message": err[1]} if err else None)]


def _collect_rag(chunks: Sequence[RAGEvent]) -> Answer:
    parts = [c for c in chunks if isinstance(c, RAGChunk)]
    if not any(c.end_of_session or c.end_of_stream for c in parts):
        raise ServiceError("rag", "missing-field", "the answer ended without its final chunk")
    return Answer(
        "".join(c.content for c in parts),
        explain=[c for c in chunks if isinstance(c, ExplainEvent)],
        sources=[s for c in parts for s in c.sources],
        **last_usage(parts),
    )


@method("flow-instance")
def graph_rag(query: str, *, streaming: bool = False, **kw: Unpack[GraphRagOptions]) -> Call[RAGEvent, Answer]:
    """Graph RAG: an :class:`Answer` (with ``sources``, ``explain``), or RAGChunk / ExplainEvent.

    ``collection`` defaults to ``"default"``; limits left out take the gateway's defaults."""
    check_known("graph_rag", kw, GraphRagOptions)
    body: dict[str, Any] = {"query": check_str("query", query)}
    put_field(body, "collection", opt_str("collection", kw.get("collection", "default")))
    for key in ("entity_limit", "triple_limit", "max_subgraph_size", "max_path_length"):
        value = kw.get(key)
        if value is not None:
            body[key.replace("_", "-")] = check_int(key, value)
    body.update(extra_options("graph-rag", kw.get("options"), GRAPH_RAG_FIELDS, body))
    if "grounding-seeds" in body and "graph-seeds" in body:
        raise InputError("grounding-seeds and graph-seeds are mutually exclusive")
    return Call(
        SERVICES["graph-rag"],
        body,
        _rag_chunks,
        _collect_rag,
        streaming=check_bool("streaming", streaming),
        on_error=_rag_error,
    )


@method("flow-instance")
def document_rag(query: str, *, streaming: bool = False, **kw: Unpack[DocumentRagOptions]) -> Call[RAGEvent, Answer]:
    """Document RAG: an :class:`Answer`, or RAGChunk / ExplainEvent chunks."""
    check_known("document_rag", kw, DocumentRagOptions)
    body: dict[str, Any] = {"query": check_str("query", query)}
    put_field(body, "collection", opt_str("collection", kw.get("collection", "default")))
    doc_limit = kw.get("doc_limit")
    if doc_limit is not None:
        body["doc-limit"] = check_int("doc_limit", doc_limit)
    body.update(extra_options("document-rag", kw.get("options"), DOCUMENT_RAG_FIELDS, body))
    return Call(
        SERVICES["document-rag"],
        body,
        _rag_chunks,
        _collect_rag,
        streaming=check_bool("streaming", streaming),
        on_error=_rag_error,
    )
