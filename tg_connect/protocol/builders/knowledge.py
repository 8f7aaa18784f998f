"""Builders of the knowledge service: knowledge cores (list, get, put, delete, load, unload)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
)

from ...errors import InputError
from ...types import (
    KnowledgeCore,
    KnowledgeItem,
)
from ..calls import Call, call_single, check_bool, check_json_object, check_str
from ..registry import SERVICES, method

# -- knowledge cores ---------------------------------------------------------------------------

KNOWLEDGE_KINDS = ("triples", "graph-embeddings", "document-embeddings", "library-metadata", "library-blob")


def _knowledge_chunks(response: Mapping[str, Any]) -> list[KnowledgeItem]:
    for kind in KNOWLEDGE_KINDS:
        body = response.get(kind)
        if isinstance(body, Mapping):
            meta = body.get("metadata")
            return [KnowledgeItem(kind, dict(meta) if isinstance(meta, Mapping) else {}, dict(body))]
    return []  # {"eos": true} and empty frames


@method("knowledge", "get_kg_core", generated=False)
@method("knowledge", "get_de_core", generated=False)
def get_core(
    id: str, *, kind: Literal["kg", "de"] = "kg", streaming: bool = False
) -> Call[KnowledgeItem, KnowledgeCore]:
    return Call(
        SERVICES["knowledge"],
        {"operation": f"get-{kind}-core", "id": check_str("id", id)},
        _knowledge_chunks,
        lambda items: KnowledgeCore(items),
        streaming=check_bool("streaming", streaming),
        needs_every_frame=True,
    )


@method("knowledge", "list_kg_cores", generated=False)
@method("knowledge", "list_de_cores", generated=False)
def list_cores(kind: Literal["kg", "de"] = "kg") -> Call[Mapping[str, Any], list[str]]:
    return call_single(
        "knowledge", {"operation": f"list-{kind}-cores"}, lambda r: [str(x) for x in r.get("ids") or []], ("ids",)
    )


def _core_part(name: str, part: Mapping[str, Any], items_key: str) -> dict[str, Any]:
    body = check_json_object(name, part)
    meta = body.get("metadata")
    if not (isinstance(meta, Mapping) and isinstance(meta.get("id"), str) and isinstance(meta.get("collection"), str)):
        raise InputError(f"{name} needs metadata with string 'id' and 'collection'")
    if not isinstance(body.get(items_key), list):
        raise InputError(f"{name} needs a list {items_key!r}")
    return body


@method("knowledge", "put_kg_core", generated=False)
@method("knowledge", "put_de_core", generated=False)
def put_core(
    id: str,
    *,
    kind: Literal["kg", "de"] = "kg",
    triples: Mapping[str, Any] | None = None,
    graph_embeddings: Mapping[str, Any] | None = None,
    document_embeddings: Mapping[str, Any] | None = None,
) -> Call[Mapping[str, Any], None]:
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
    return call_single("knowledge", body, lambda r: None, ())


@method("knowledge", "delete_kg_core", generated=False)
@method("knowledge", "delete_de_core", generated=False)
def delete_core(id: str, kind: Literal["kg", "de"] = "kg") -> Call[Mapping[str, Any], None]:
    return call_single("knowledge", {"operation": f"delete-{kind}-core", "id": check_str("id", id)}, lambda r: None, ())


@method("knowledge", "load_kg_core", generated=False)
@method("knowledge", "load_de_core", generated=False)
def load_core(
    id: str, *, kind: Literal["kg", "de"] = "kg", flow: str = "default", collection: str = "default"
) -> Call[Mapping[str, Any], None]:
    return call_single(
        "knowledge",
        {
            "operation": f"load-{kind}-core",
            "id": check_str("id", id),
            "flow": check_str("flow", flow),
            "collection": check_str("collection", collection),
        },
        lambda r: None,
        (),
    )


@method("knowledge", "unload_kg_core")
def unload_core(id: str, *, flow: str = "default") -> Call[Mapping[str, Any], None]:
    return call_single(
        "knowledge",
        {"operation": "unload-kg-core", "id": check_str("id", id), "flow": check_str("flow", flow)},
        lambda r: None,
        (),
    )
