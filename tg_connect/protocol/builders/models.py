"""Builders of the tool and model services: MCP tools, reranker, image to text, cloze, decision
scoring and field extraction."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import (
    Any,
)

from ...errors import InputError
from ...types import (
    Answer,
    ClozeResult,
    McpResult,
    RerankResult,
    ScoringResult,
    Table,
)
from ..calls import (
    Call,
    call_single,
    check_int,
    check_json_object,
    check_str,
    check_strs,
    last_frame,
    missing,
    opt_str,
    put_field,
    usage_of,
)
from ..registry import SERVICES, method
from .queries import RERANK_SCHEMA

# -- tools and models -------------------------------------------------------------------------


@method("flow-instance")
def mcp_tool(name: str, parameters: Mapping[str, Any] | None = None) -> Call[Mapping[str, Any], McpResult]:
    body = {"name": check_str("name", name), "parameters": check_json_object("parameters", parameters or {})}

    def convert(r: Mapping[str, Any]) -> McpResult:
        obj = r.get("object")
        if isinstance(obj, str):
            try:
                obj = json.loads(obj)
            except json.JSONDecodeError:
                pass
        text = r.get("text")
        return McpResult(text if isinstance(text, str) else None, obj)

    return call_single("mcp-tool", body, convert)


@method("flow-instance")
def reranker(
    query: str, documents: Sequence[str] | Mapping[str, str], *, limit: int | None = None
) -> Call[Mapping[str, Any], Table[RerankResult]]:
    """``documents`` (texts, ids ``d0``, ``d1``...; or ids to texts) ranked against ``query``.

    Rank ``documents`` (texts, or ids to texts) against ``query`` (its id is ``q0``)."""
    if isinstance(documents, Mapping):
        docs = [
            {"document_id": check_str("document id", k), "document_text": check_str(f"documents[{k!r}]", v, empty=True)}
            for k, v in documents.items()
        ]
    else:
        docs = [{"document_id": f"d{i}", "document_text": t} for i, t in enumerate(check_strs("documents", documents))]
    if not docs:
        raise InputError("documents must not be empty")
    body: dict[str, Any] = {"queries": [{"query_id": "q0", "query_text": check_str("query", query)}], "documents": docs}
    if limit is not None:
        body["limit"] = check_int("limit", limit)

    def parse(r: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        if not r.get("results"):  # a real ranking of non-empty documents is never empty
            raise missing("reranker", ("results",))
        return [r]

    def collect(frames: Sequence[Mapping[str, Any]]) -> Table[RerankResult]:
        out = [
            RerankResult(str(x.get("document_id")), str(x.get("query_id")), float(x.get("score") or 0.0))
            for x in last_frame(frames).get("results") or []
        ]
        return Table(
            out, RERANK_SCHEMA, lambda m: {"document_id": m.document_id, "query_id": m.query_id, "score": m.score}
        )

    return Call(SERVICES["reranker"], body, parse, collect)


@method("flow-instance")
def image_to_text(
    image: bytes, mime_type: str, *, prompt: str | None = None, system: str | None = None
) -> Call[Mapping[str, Any], Answer]:
    if not isinstance(image, (bytes, bytearray, memoryview)) or not image:
        raise InputError("image must be non-empty bytes")
    body: dict[str, Any] = {
        "image": base64.b64encode(bytes(image)).decode("ascii"),
        "mime_type": check_str("mime_type", mime_type),
    }
    put_field(body, "prompt", opt_str("prompt", prompt))
    put_field(body, "system", opt_str("system", system))

    def parse(r: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        if not r.get("description"):  # the dropped error is {"description": ""}
            raise missing("image-to-text", ("description",))
        return [r]

    return Call(
        SERVICES["image-to-text"],
        body,
        parse,
        lambda frames: Answer(str(last_frame(frames)["description"]), **usage_of(last_frame(frames))),
    )


@method("flow-instance")
def cloze(
    query: str | None = None, *, model: str | None = None, operation: str = "predict"
) -> Call[Mapping[str, Any], ClozeResult]:
    if operation not in ("predict", "list-models"):
        raise InputError(f"operation must be predict or list-models, not {operation!r}")
    body: dict[str, Any] = {"operation": operation}
    if operation == "predict":
        body["query"] = check_str("query", query)
    put_field(body, "model", opt_str("model", model))

    def convert(r: Mapping[str, Any]) -> ClozeResult:
        label = r.get("label")
        conf = r.get("confidence")
        if operation == "predict" and label is None:
            raise missing("cloze", ("label",))
        return ClozeResult(
            label if isinstance(label, str) else None,
            float(conf) if isinstance(conf, (int, float)) else None,
            tuple(m for m in r.get("models") or [] if isinstance(m, Mapping)),
        )

    return call_single("cloze", body, convert)


def _scoring(
    name: str, state: Mapping[str, Any], key: str, value: Mapping[str, Any]
) -> Call[Mapping[str, Any], ScoringResult]:
    body = {"state": check_json_object("state", state), key: check_json_object(key, value)}

    def convert(r: Mapping[str, Any]) -> ScoringResult:
        answers = r.get("answers")
        if not isinstance(answers, Mapping):
            raise missing(name, ("answers",))
        model = r.get("model")
        return ScoringResult(dict(answers), model if isinstance(model, str) else None)

    return call_single(name, body, convert)


@method("flow-instance")
def decision_scoring(state: Mapping[str, Any], questions: Mapping[str, Any]) -> Call[Mapping[str, Any], ScoringResult]:
    return _scoring("decision-scoring", state, "questions", questions)


@method("flow-instance")
def field_extraction(state: Mapping[str, Any], fields: Mapping[str, Any]) -> Call[Mapping[str, Any], ScoringResult]:
    return _scoring("field-extraction", state, "fields", fields)
