"""The knowledge service: knowledge cores over the kg-store tables (``/api/v1/knowledge``).

A dispatch table operation -> answer (:mod:`.registration`). Cores are kept by
:class:`~..storage.stores.CoreStore`; ``load-kg-core``/``load-de-core`` publish a core again
on a flow's store topics. :func:`decode_knowledge_put` and :func:`store_put` also serve the
``import-core`` route (:mod:`..front.app`).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

from ..front import wire
from ..storage.backend import Backend
from .flowctx import Stream
from .registration import handles_global

_LIBRARY_FIELDS: dict[str, Any] = {
    "id": "",
    "kind": "",
    "title": "",
    "parent-id": "",
    "document-type": "",
    "comments": "",
    "tags": [],
}


def _core_metadata(core_id: str) -> dict[str, Any]:
    # The table store returns every row as Metadata(id=<core id>, collection="default").
    return {"id": core_id, "root": "", "collection": "default"}


def _load_error(message: str) -> dict[str, Any]:
    return {"error": {"type": "load-error", "message": message}}


def _core_key(request: dict[str, Any]) -> str:
    core_id = request.get("id")
    return core_id if isinstance(core_id, str) else ""


KnowledgeOperation = Callable[[Backend, str, dict[str, Any], dict[str, Any]], Stream]


async def _list_kg_cores(backend: Backend, workspace: str, request: dict[str, Any], put: dict[str, Any]) -> Stream:
    yield {"ids": backend.workspace(workspace).cores.ids("ge")}, True  # the real store lists the ge table


async def _list_de_cores(backend: Backend, workspace: str, request: dict[str, Any], put: dict[str, Any]) -> Stream:
    yield {"ids": backend.workspace(workspace).cores.ids("de")}, True


async def _get_kg_core(backend: Backend, workspace: str, request: dict[str, Any], put: dict[str, Any]) -> Stream:
    cores = backend.workspace(workspace).cores
    key = _core_key(request)
    for triples in cores.items(key, "t"):
        yield {"triples": {"metadata": _core_metadata(key), "triples": wire.triples(triples)}}, False
        await asyncio.sleep(0)
    for entities in cores.items(key, "ge"):
        ents = [{"vector": v, "entity": wire.term(e)} for e, v in entities]
        yield {"graph-embeddings": {"metadata": _core_metadata(key), "entities": ents}}, False
        await asyncio.sleep(0)
    # Then the library document of the core's id and its children, each as its metadata and
    # its content (base64 text, as the librarian keeps it).
    for meta, content in backend.workspace(workspace).library.tree(key):
        yield {"library-metadata": {k: meta.get(k, d) for k, d in _LIBRARY_FIELDS.items()}}, False
        yield {"library-blob": {"id": meta.get("id", ""), "data": base64.b64encode(content).decode()}}, False
    yield {"eos": True}, True


async def _get_de_core(backend: Backend, workspace: str, request: dict[str, Any], put: dict[str, Any]) -> Stream:
    key = _core_key(request)
    for chunks in backend.workspace(workspace).cores.items(key, "de"):
        rows = [{"chunk_id": c, "vector": v} for c, v in chunks]
        yield {"document-embeddings": {"metadata": _core_metadata(key), "chunks": rows}}, False
        await asyncio.sleep(0)
    yield {"eos": True}, True


async def _delete_kg_core(backend: Backend, workspace: str, request: dict[str, Any], put: dict[str, Any]) -> Stream:
    backend.workspace(workspace).cores.delete(_core_key(request), ("t", "ge"))  # library documents stay
    yield {}, True


async def _delete_de_core(backend: Backend, workspace: str, request: dict[str, Any], put: dict[str, Any]) -> Stream:
    backend.workspace(workspace).cores.delete(_core_key(request), ("de",))
    yield {}, True


async def _put_core(backend: Backend, workspace: str, request: dict[str, Any], put: dict[str, Any]) -> Stream:
    store_put(backend, workspace, request.get("id"), put)
    yield {}, True


def _load_refusal(backend: Backend, workspace: str, request: dict[str, Any], needed: tuple[str, ...]) -> str | None:
    """Why a load-kg-core / load-de-core cannot run (the real service's messages), or ``None``."""
    if request.get("id") is None:
        return "Core ID must be specified"
    flow_id = request.get("flow")
    if flow_id is None:
        return "Flow ID must be specified"
    record = backend.flow(workspace, flow_id)
    if record is None:
        return f"Invalid flow {flow_id} for workspace {workspace}"
    interfaces = record.get("interfaces")
    if not isinstance(interfaces, dict):
        return "No defined interfaces"
    for name in needed:
        if name not in interfaces:
            return f"Flow has no {name}"
    return None


def _load_metadata(request: dict[str, Any]) -> dict[str, Any]:
    """The metadata the republished messages carry: the core id and the requested collection."""
    return {"id": request.get("id"), "root": "", "collection": request.get("collection") or "default"}


# load-kg-core / load-de-core republish the core on the flow's store topics. Like the real
# knowledge service the messages carry ``metadata.id`` = the core id and the requested
# collection, so they are stored, tapped, and (as kg-store does) appended to the core again
# (hence the core's items are listed before publishing). The reply is sent after publishing,
# so a query right after it sees the data.


async def _load_kg_core(backend: Backend, workspace: str, request: dict[str, Any], put: dict[str, Any]) -> Stream:
    refusal = _load_refusal(backend, workspace, request, ("triples-store", "graph-embeddings-store"))
    if refusal is not None:
        yield _load_error(refusal), False
        return
    meta = _load_metadata(request)
    cores = backend.workspace(workspace).cores
    t_topic = backend.topic(workspace, request.get("flow"), "triples")
    ge_topic = backend.topic(workspace, request.get("flow"), "graph-embeddings")
    for triples in list(cores.items(_core_key(request), "t")):
        if t_topic is not None:
            await backend.publish(workspace, t_topic, "triples", {"metadata": meta, "triples": triples})
    for entities in list(cores.items(_core_key(request), "ge")):
        if ge_topic is not None:
            await backend.publish(
                workspace,
                ge_topic,
                "graph-embeddings",
                {"metadata": meta, "entities": [{"entity": e, "vector": v} for e, v in entities]},
            )
    await backend.settle()
    yield {}, True


async def _load_de_core(backend: Backend, workspace: str, request: dict[str, Any], put: dict[str, Any]) -> Stream:
    refusal = _load_refusal(backend, workspace, request, ("document-embeddings-store",))
    if refusal is not None:
        yield _load_error(refusal), False
        return
    meta = _load_metadata(request)
    topic = backend.topic(workspace, request.get("flow"), "document-embeddings")
    for chunks in list(backend.workspace(workspace).cores.items(_core_key(request), "de")):
        if topic is not None:
            await backend.publish(
                workspace,
                topic,
                "document-embeddings",
                {"metadata": meta, "chunks": [{"chunk_id": c, "vector": v} for c, v in chunks]},
            )
    await backend.settle()
    yield {}, True


async def _unload_kg_core(backend: Backend, workspace: str, request: dict[str, Any], put: dict[str, Any]) -> Stream:
    yield {"error": {"type": "not-implemented", "message": "Not implemented"}}, False


KNOWLEDGE_DISPATCH: dict[str, KnowledgeOperation] = {
    "list-kg-cores": _list_kg_cores,
    "list-de-cores": _list_de_cores,
    "get-kg-core": _get_kg_core,
    "get-de-core": _get_de_core,
    "delete-kg-core": _delete_kg_core,
    "delete-de-core": _delete_de_core,
    "put-kg-core": _put_core,
    "put-de-core": _put_core,
    "load-kg-core": _load_kg_core,
    "load-de-core": _load_de_core,
    "unload-kg-core": _unload_kg_core,
}


@handles_global("knowledge", KNOWLEDGE_DISPATCH)
async def knowledge_service(backend: Backend, workspace: str, request: dict[str, Any]) -> Stream:
    put = decode_knowledge_put(request)  # raises like KnowledgeRequestTranslator.decode
    op = request.get("operation")
    answer = KNOWLEDGE_DISPATCH.get(op) if isinstance(op, str) else None
    if answer is not None:
        async for frame in answer(backend, workspace, request, put):
            yield frame


def decode_knowledge_put(request: dict[str, Any]) -> dict[str, Any]:
    """The parts of a put request, decoded with the real translator's required keys."""
    out: dict[str, Any] = {}
    if "triples" in request:
        part = request["triples"]
        meta = part["metadata"]
        out["triples"] = (
            {"id": meta["id"], "root": meta.get("root", ""), "collection": meta["collection"]},
            wire.triples(part["triples"]),
        )
    if "graph-embeddings" in request:
        part = request["graph-embeddings"]
        meta = part["metadata"]
        entities = [[wire.term(e["entity"]), e["vector"]] for e in part["entities"]]
        out["graph-embeddings"] = (
            {"id": meta["id"], "root": meta.get("root", ""), "collection": meta["collection"]},
            entities,
        )
    if "document-embeddings" in request:
        part = request["document-embeddings"]
        meta = part["metadata"]
        chunks = [[c["chunk_id"], c["vector"]] for c in part["chunks"]]
        out["document-embeddings"] = (
            {"id": meta["id"], "root": meta.get("root", ""), "collection": meta["collection"]},
            chunks,
        )
    if "library-metadata" in request:
        lm = request["library-metadata"]
        out["library-metadata"] = {
            "id": lm.get("id", ""),
            "kind": lm.get("kind", ""),
            "title": lm.get("title", ""),
            "parent-id": lm.get("parent-id", ""),
            "document-type": lm.get("document-type", ""),
            "comments": lm.get("comments", ""),
            "tags": lm.get("tags", []),
        }
    if "library-blob" in request:
        lb = request["library-blob"]
        out["library-blob"] = {"id": lb.get("id", ""), "data": lb.get("data", b"")}
    return out


def store_put(backend: Backend, workspace: str, core_id: Any, put: dict[str, Any]) -> None:
    """put-kg-core / put-de-core: rows are keyed by ``metadata.root or metadata.id``."""
    cores = backend.workspace(workspace).cores

    def key(meta: dict[str, Any]) -> str:
        k = meta.get("root") or meta.get("id")
        return k if isinstance(k, str) else json.dumps(k)

    if "triples" in put and put["triples"][1]:
        cores.append(key(put["triples"][0]), "t", put["triples"][1])
    if "graph-embeddings" in put and put["graph-embeddings"][1]:
        cores.append(key(put["graph-embeddings"][0]), "ge", put["graph-embeddings"][1])
    if "document-embeddings" in put and put["document-embeddings"][1]:
        cores.append(key(put["document-embeddings"][0]), "de", put["document-embeddings"][1])
    # A library document comes as its metadata, then its content: the metadata waits for the
    # content, and the two make a librarian document (one of that id already there stays).
    data = backend.workspace(workspace)
    if "library-metadata" in put:
        data.library_pending[str(put["library-metadata"]["id"])] = put["library-metadata"]
    if "library-blob" in put:
        meta = data.library_pending.pop(str(put["library-blob"]["id"]), None)
        if meta is not None:  # a blob without its metadata is dropped, as the real service logs
            data.library.add_from_core(meta, put["library-blob"]["data"])
