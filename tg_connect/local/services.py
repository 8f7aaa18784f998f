"""Service handlers: what each back-end service answers, in the real translators' JSON.

Every handler is an async generator of ``(response, final)`` pairs, the shape of a real
service's response stream after ``encode_with_completion``. The mux sends every pair; REST
returns the last one (the real ``ServiceRequestor.process`` stops at a final frame or one
carrying ``error``). Two kinds of failure are kept apart, as in 2.11:

* a request the *translator* cannot decode (a missing required key, a term that is a plain
  string) raises; :func:`run` turns it into ``{"error": {"type": "gateway-error", ...}}``;
* a failure *inside* a service is answered the way that service's translator answers it,
  which for config and flow means the error is dropped and an all-defaults reply is sent.

This module holds the global services (config, flow, collection-management, knowledge,
iam; the librarian is in :mod:`.library`), each a dispatch table operation -> answer, the
triples query, and the dispatch: every other flow service is a handler ``(Ctx, request) ->
stream`` in :mod:`.inference`, :mod:`.vectors`, :mod:`.retrieval`, :mod:`.agent`,
:mod:`.sparql` or :mod:`.structured`. Each handler registers under its service's name in
:mod:`tg_connect.protocol.registry` (:mod:`.registration`); the dispatch finds it there.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import agent, inference, library, retrieval, sparql, structured, vectors, wire
from .backend import DEFAULT_WORKSPACE, Backend, now_iso
from .flowctx import Ctx, Stream
from .registration import FLOW_HANDLERS, GLOBAL_HANDLERS, handles, handles_global
from .stores import ConfigStore

logger = logging.getLogger("tg_connect.local")

# The modules whose handlers register on import (this module's own register below).
HANDLER_MODULES = (agent, inference, library, retrieval, sparql, structured, vectors)


class JsonBatch:
    """A ``{"response": [triples]}`` reply whose triples are already JSON text.

    Streaming a large query builds no dict per triple: the mux splices the texts into the
    frame, giving the same bytes ``json.dumps`` would.
    """

    __slots__ = ("items",)

    def __init__(self, items: list[str]) -> None:
        self.items = items

    def text(self) -> str:
        return '{"response": [' + ", ".join(self.items) + "]}"

    def value(self) -> dict[str, Any]:
        return json.loads(self.text())  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return len(self.items)


def gateway_error(message: str) -> dict[str, Any]:
    return {"error": {"type": "gateway-error", "message": message}}


class InvalidFlow(RuntimeError):
    """Raised before any response, like the real dispatcher manager (mux type ``error``)."""


async def run(backend: Backend, stream: Stream, service: str) -> Stream:
    """Run a handler stream: translator errors become a gateway-error frame; stop at the
    first final or error frame; count the request in the gateway metrics."""
    ok = True
    try:
        async for response, final in stream:
            failed = isinstance(response, dict) and "error" in response
            ok = ok and not failed
            yield response, final
            if final or failed:
                break
    except Exception as exc:  # the translator or the request was malformed
        ok = False
        yield gateway_error(str(exc)), True
    finally:
        backend.metrics.count_request(service, ok)


def global_stream(backend: Backend, service: str, workspace: str, request: dict[str, Any]) -> Stream:
    """The response stream of a global service call (``request.operation`` already checked)."""
    handler = GLOBAL_HANDLERS.get(service)
    if handler is None:
        return run(backend, _unavailable(service), service)
    return run(backend, handler.answer(backend, workspace, request), service)


def flow_stream(backend: Backend, kind: str, workspace: str, flow: Any, request: Any) -> Stream:
    """The response stream of a flow service; raises :class:`InvalidFlow` up front."""
    record = backend.flow(workspace, flow)
    if record is None:
        raise InvalidFlow(f"Invalid flow {workspace}/{flow}")
    interfaces = record.get("interfaces")
    if not isinstance(interfaces, dict) or kind not in interfaces:
        raise InvalidFlow("This kind not supported by flow")
    handler = FLOW_HANDLERS.get(kind)
    if handler is None:
        return run(backend, _unavailable(kind), kind)
    return run(backend, handler(Ctx(backend, workspace, str(flow)), request), kind)


async def _unavailable(kind: str) -> Stream:
    yield gateway_error(f"{kind} is not available on the local gateway"), True


async def last_frame(stream: Stream) -> dict[str, Any]:
    """What REST returns: the last frame of the stream."""
    last: Any = {}
    async for response, _final in stream:
        last = response
    return last.value() if isinstance(last, JsonBatch) else last


# -- config (config-svc; errors are dropped by the 2.11 translator) ------------------------


def _config_reply(**fields: Any) -> dict[str, Any]:
    reply: dict[str, Any] = {"version": 0, "values": [], "directory": [], "config": {}}
    reply.update(fields)
    return reply


@dataclass(frozen=True)
class ConfigRequest:
    """A config request as the translator decoded it (``keys``/``values`` absent: ``None``)."""

    workspace: str
    type: Any
    keys: list[tuple[Any, Any]] | None
    values: list[tuple[Any, Any, Any]] | None

    def given_keys(self) -> list[tuple[Any, Any]]:
        """``keys``; a request without them fails (and its error is dropped), as in config-svc."""
        if self.keys is None:
            raise TypeError("'NoneType' object is not iterable")
        return self.keys


def _config_get(cfg: ConfigStore, req: ConfigRequest) -> dict[str, Any]:
    return _config_reply(version=cfg.version, values=[
        {"type": t, "key": k, "value": cfg.get(req.workspace, t, k)} for t, k in req.given_keys()
    ])


def _config_list(cfg: ConfigStore, req: ConfigRequest) -> dict[str, Any]:
    return _config_reply(version=cfg.version, directory=cfg.keys(req.workspace, req.type))


def _config_getvalues(cfg: ConfigStore, req: ConfigRequest) -> dict[str, Any]:
    return _config_reply(version=cfg.version, values=[
        {"type": req.type, "key": k, "value": v} for k, v in cfg.values(req.workspace, req.type)
    ])


def _config_getvalues_all_ws(cfg: ConfigStore, req: ConfigRequest) -> dict[str, Any]:
    return _config_reply(version=cfg.version, values=[
        {"workspace": ws, "type": req.type, "key": k, "value": v}
        for ws in sorted(cfg.workspaces) for k, v in cfg.values(ws, req.type)
    ])


def _config_config(cfg: ConfigStore, req: ConfigRequest) -> dict[str, Any]:
    return _config_reply(version=cfg.version, config=cfg.all(req.workspace))


def _config_put(cfg: ConfigStore, req: ConfigRequest) -> dict[str, Any]:
    entries = list(req.values or [])
    good = list(itertools.takewhile(lambda e: all(isinstance(x, str) for x in e), entries))
    if len(good) == len(entries):
        cfg.put_many(req.workspace, good)
    else:  # the real table store fails on a non-string value: no version bump
        for t, k, v in good:
            cfg.workspaces.setdefault(req.workspace, {}).setdefault(t, {})[k] = v
    return _config_reply()


def _config_delete(cfg: ConfigStore, req: ConfigRequest) -> dict[str, Any]:
    cfg.delete_many(req.workspace, [(t, k) for t, k in req.given_keys() if isinstance(t, str) and isinstance(k, str)])
    return _config_reply()


CONFIG_DISPATCH: dict[str, Callable[[ConfigStore, ConfigRequest], dict[str, Any]]] = {
    "get": _config_get,
    "list": _config_list,
    "getvalues": _config_getvalues,
    "getvalues-all-ws": _config_getvalues_all_ws,
    "config": _config_config,
    "put": _config_put,
    "delete": _config_delete,
}


@handles_global("config", CONFIG_DISPATCH)
async def config_service(backend: Backend, workspace: str, request: dict[str, Any]) -> Stream:
    keys = [(k["type"], k["key"]) for k in request["keys"]] if "keys" in request else None
    values = [(v["type"], v["key"], v["value"]) for v in request["values"]] if "values" in request else None
    op = request.get("operation")
    req = ConfigRequest(workspace, request.get("type"), keys, values)
    try:
        answer = CONFIG_DISPATCH.get(op) if isinstance(op, str) else None
        reply = answer(backend.config, req) if answer is not None else _config_reply()
    except Exception as exc:  # dropped by the translator, as in 2.11
        logger.info("config %s failed: %s", op, exc)
        reply = _config_reply()
    yield reply, True


# -- flow (flow-svc; errors dropped) ------------------------------------------------------


def _flow_reply(**fields: Any) -> dict[str, Any]:
    reply: dict[str, Any] = {"blueprint-names": [], "flow-ids": [], "blueprint-definition": "", "flow": "",
                             "description": "", "parameters": {}}
    reply.update(fields)
    return reply


def _list_blueprints(backend: Backend, workspace: str, request: dict[str, Any]) -> dict[str, Any]:
    return _flow_reply(**{"blueprint-names": backend.config.keys(workspace, "flow-blueprint")})


def _get_blueprint(backend: Backend, workspace: str, request: dict[str, Any]) -> dict[str, Any]:
    name = request.get("blueprint-name")
    reply = _flow_reply()
    definition = backend.config.get(workspace, "flow-blueprint", name) if isinstance(name, str) else None
    if definition is None:
        del reply["blueprint-definition"]  # None is not encoded (real reply has no key)
    else:
        reply["blueprint-definition"] = definition
    return reply


def _put_blueprint(backend: Backend, workspace: str, request: dict[str, Any]) -> dict[str, Any]:
    name = request.get("blueprint-name")
    definition = request.get("blueprint-definition")
    if isinstance(name, str) and isinstance(definition, str):
        backend.config.put_many(workspace, [("flow-blueprint", name, definition)])
    return _flow_reply()


def _delete_blueprint(backend: Backend, workspace: str, request: dict[str, Any]) -> dict[str, Any]:
    name = request.get("blueprint-name")
    if isinstance(name, str):
        backend.config.delete_many(workspace, [("flow-blueprint", name)])
    return _flow_reply()


def _list_flows(backend: Backend, workspace: str, request: dict[str, Any]) -> dict[str, Any]:
    return _flow_reply(**{"flow-ids": backend.config.keys(workspace, "flow")})


def _get_flow(backend: Backend, workspace: str, request: dict[str, Any]) -> dict[str, Any]:
    flow_id = request.get("flow-id")
    text = backend.config.get(workspace, "flow", flow_id) if isinstance(flow_id, str) else None
    if text is None:  # an unknown flow fails, as in flow-svc (and the error is dropped)
        raise TypeError("the JSON object must be str, bytes or bytearray, not NoneType")
    record = json.loads(text)
    return _flow_reply(flow=text, description=record.get("description", ""), parameters=record.get("parameters", {}))


def _start_flow(backend: Backend, workspace: str, request: dict[str, Any]) -> dict[str, Any]:
    backend.start_flow(workspace, request.get("flow-id"), request.get("blueprint-name"),
                       request.get("description"), request.get("parameters"))
    return _flow_reply()


def _stop_flow(backend: Backend, workspace: str, request: dict[str, Any]) -> dict[str, Any]:
    backend.stop_flow(workspace, request.get("flow-id"))
    return _flow_reply()


FLOW_DISPATCH: dict[str, Callable[[Backend, str, dict[str, Any]], dict[str, Any]]] = {
    "list-blueprints": _list_blueprints,
    "get-blueprint": _get_blueprint,
    "put-blueprint": _put_blueprint,
    "delete-blueprint": _delete_blueprint,
    "list-flows": _list_flows,
    "get-flow": _get_flow,
    "start-flow": _start_flow,
    "stop-flow": _stop_flow,
}


@handles_global("flow", FLOW_DISPATCH)
async def flow_service(backend: Backend, workspace: str, request: dict[str, Any]) -> Stream:
    op = request.get("operation")
    try:
        answer = FLOW_DISPATCH.get(op) if isinstance(op, str) else None
        reply = answer(backend, workspace, request) if answer is not None else _flow_reply()
    except Exception as exc:  # FlowStartError or worse: dropped by the translator, as in 2.11
        logger.info("flow %s failed: %s", op, exc)
        reply = _flow_reply()
    yield reply, True


# -- iam (the no-auth IAM regime of the real test deployment) ---------------------------------


def _anonymous() -> dict[str, Any]:
    return {"id": "anonymous", "default_workspace": DEFAULT_WORKSPACE, "username": "anonymous",
            "name": "Anonymous User", "email": "", "roles": ["admin"], "enabled": True,
            "must_change_password": False, "created": ""}


def _iam_user(backend: Backend, request: dict[str, Any]) -> dict[str, Any]:
    return {"user": _anonymous()}


def _iam_users(backend: Backend, request: dict[str, Any]) -> dict[str, Any]:
    return {"users": [_anonymous()]}


def _iam_create_workspace(backend: Backend, request: dict[str, Any]) -> dict[str, Any]:
    record = request.get("workspace_record")
    if isinstance(record, dict) and isinstance(record.get("id"), str) and record["id"]:
        backend.ensure_workspace(record["id"])
    return {}


def _iam_empty(backend: Backend, request: dict[str, Any]) -> dict[str, Any]:
    return {}


# Accepted (the gateway's registry has them) but answered with an empty reply, on purpose: one
# shared token stands in for users, keys, passwords and signing keys.
IAM_NOT_IMPLEMENTED = frozenset({
    "delete-user", "reset-password", "create-api-key", "list-api-keys", "revoke-api-key",
    "list-workspaces", "get-workspace", "update-workspace", "disable-workspace", "list-my-workspaces",
    "change-password", "rotate-signing-key", "mint-token", "login", "bootstrap", "bootstrap-status",
})
IAM_DISPATCH: dict[str, Callable[[Backend, dict[str, Any]], dict[str, Any]]] = {
    **{op: _iam_user for op in ("whoami", "create-user", "get-user", "update-user", "disable-user", "enable-user")},
    "list-users": _iam_users,
    "create-workspace": _iam_create_workspace,
    **{op: _iam_empty for op in sorted(IAM_NOT_IMPLEMENTED)},
}


@handles_global("iam", IAM_DISPATCH)
async def iam_service(backend: Backend, workspace: str, request: dict[str, Any]) -> Stream:
    """Answers as upstream's ``trustgraph.iam.noauth`` does (the local gateway's one shared
    token stands in for real identities): ``whoami`` and the user operations return the
    anonymous admin, ``create-workspace`` creates (and seeds) the workspace, the operations of
    :data:`IAM_NOT_IMPLEMENTED` an empty reply. Errors are dropped by the 2.11 translator:
    ``bootstrap_available`` is the only field always present."""
    op = request.get("operation")
    answer = IAM_DISPATCH.get(op) if isinstance(op, str) else None
    reply = answer(backend, request) if answer is not None else {}
    reply["bootstrap_available"] = False
    yield reply, True


# -- collection-management (served by the librarian) ------------------------------------

_COLLECTION_FIELDS = ("collection", "name", "description", "tags")


def _collection(meta: dict[str, Any]) -> dict[str, Any]:
    tags = meta.get("tags") or []
    return {"collection": meta.get("collection", ""), "name": meta.get("name", ""),
            "description": meta.get("description", ""), "tags": list(tags)}


def _request_error(message: str) -> dict[str, Any]:
    return {"error": {"type": "request-error", "message": message}, "timestamp": "", "collections": []}


async def _list_collections(backend: Backend, workspace: str, request: dict[str, Any]) -> Stream:
    try:
        found = []
        for _key, value in backend.config.values(workspace, "collection"):
            meta = json.loads(value)
            found.append(_collection({k: v for k, v in meta.items() if k in _COLLECTION_FIELDS}))
    except Exception as exc:
        yield _request_error(f"Failed to list collections: {exc}"), True
        return
    tag_filter = request.get("tag_filter")
    if tag_filter:
        wanted = set(tag_filter)
        found = [c for c in found if any(tag in wanted for tag in c["tags"])]
    limit = request.get("limit")
    if isinstance(limit, int) and limit > 0:
        found = found[:limit]
    yield {"timestamp": now_iso(), "collections": found}, True


async def _update_collection(backend: Backend, workspace: str, request: dict[str, Any]) -> Stream:
    collection = request.get("collection")
    if not isinstance(collection, str) or not collection:
        yield _request_error("Failed to update collection: a collection id is required"), True
        return
    meta = {
        "collection": collection,
        "name": request.get("name") or collection,
        "description": request.get("description") or "",
        "tags": list(request.get("tags") or []),
    }
    backend.config.put_many(workspace, [("collection", collection, json.dumps(meta))])
    yield {"timestamp": now_iso(), "collections": [meta]}, True


async def _delete_collection(backend: Backend, workspace: str, request: dict[str, Any]) -> Stream:
    collection = request.get("collection")
    if isinstance(collection, str):
        backend.config.delete_many(workspace, [("collection", collection)])
        await backend.drop_collection(workspace, collection)
    yield {"timestamp": now_iso(), "collections": []}, True


COLLECTION_DISPATCH: dict[str, Callable[[Backend, str, dict[str, Any]], Stream]] = {
    "list-collections": _list_collections,
    "update-collection": _update_collection,
    "delete-collection": _delete_collection,
}


@handles_global("collection-management", COLLECTION_DISPATCH)
async def collection_service(backend: Backend, workspace: str, request: dict[str, Any]) -> Stream:
    op = request.get("operation")
    answer = COLLECTION_DISPATCH.get(op) if isinstance(op, str) else None
    if answer is not None:
        async for frame in answer(backend, workspace, request):
            yield frame


# -- knowledge (the knowledge service over the kg-store tables) -----------------------------


_LIBRARY_FIELDS: dict[str, Any] = {"id": "", "kind": "", "title": "", "parent-id": "", "document-type": "",
                                   "comments": "", "tags": []}


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


async def _load_kg_core(backend: Backend, workspace: str, request: dict[str, Any], put: dict[str, Any]) -> Stream:
    async for frame in _republish(backend, workspace, "load-kg-core", request):
        yield frame


async def _load_de_core(backend: Backend, workspace: str, request: dict[str, Any], put: dict[str, Any]) -> Stream:
    async for frame in _republish(backend, workspace, "load-de-core", request):
        yield frame


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
        out["triples"] = ({"id": meta["id"], "root": meta.get("root", ""), "collection": meta["collection"]},
                          wire.triples(part["triples"]))
    if "graph-embeddings" in request:
        part = request["graph-embeddings"]
        meta = part["metadata"]
        entities = [[wire.term(e["entity"]), e["vector"]] for e in part["entities"]]
        out["graph-embeddings"] = ({"id": meta["id"], "root": meta.get("root", ""),
                                    "collection": meta["collection"]}, entities)
    if "document-embeddings" in request:
        part = request["document-embeddings"]
        meta = part["metadata"]
        chunks = [[c["chunk_id"], c["vector"]] for c in part["chunks"]]
        out["document-embeddings"] = ({"id": meta["id"], "root": meta.get("root", ""),
                                       "collection": meta["collection"]}, chunks)
    if "library-metadata" in request:
        lm = request["library-metadata"]
        out["library-metadata"] = {
            "id": lm.get("id", ""), "kind": lm.get("kind", ""), "title": lm.get("title", ""),
            "parent-id": lm.get("parent-id", ""), "document-type": lm.get("document-type", ""),
            "comments": lm.get("comments", ""), "tags": lm.get("tags", []),
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


async def _republish(backend: Backend, workspace: str, op: str, request: dict[str, Any]) -> Stream:
    """load-kg-core / load-de-core: republish the core on the flow's store topics.

    Like the real knowledge service the messages carry ``metadata.id`` = the core id and the
    requested collection, so they are stored, tapped, and (as kg-store does) appended to the
    core again. The reply is sent after publishing, so a query right after it sees the data.
    """
    core_id = request.get("id")
    flow_id = request.get("flow")
    if core_id is None:
        yield _load_error("Core ID must be specified"), False
        return
    if flow_id is None:
        yield _load_error("Flow ID must be specified"), False
        return
    record = backend.flow(workspace, flow_id)
    if record is None:
        yield _load_error(f"Invalid flow {flow_id} for workspace {workspace}"), False
        return
    interfaces = record.get("interfaces")
    if not isinstance(interfaces, dict):
        yield _load_error("No defined interfaces"), False
        return
    needed = ("document-embeddings-store",) if op == "load-de-core" else ("triples-store", "graph-embeddings-store")
    for name in needed:
        if name not in interfaces:
            yield _load_error(f"Flow has no {name}"), False
            return
    collection = request.get("collection") or "default"
    meta = {"id": core_id, "root": "", "collection": collection}
    cores = backend.workspace(workspace).cores
    key = core_id if isinstance(core_id, str) else ""
    if op == "load-de-core":
        topic = backend.topic(workspace, flow_id, "document-embeddings")
        for chunks in list(cores.items(key, "de")):
            if topic is not None:
                await backend.publish(workspace, topic, "document-embeddings", {
                    "metadata": meta, "chunks": [{"chunk_id": c, "vector": v} for c, v in chunks]})
    else:
        t_topic = backend.topic(workspace, flow_id, "triples")
        ge_topic = backend.topic(workspace, flow_id, "graph-embeddings")
        for triples in list(cores.items(key, "t")):
            if t_topic is not None:
                await backend.publish(workspace, t_topic, "triples", {"metadata": meta, "triples": triples})
        for entities in list(cores.items(key, "ge")):
            if ge_topic is not None:
                await backend.publish(workspace, ge_topic, "graph-embeddings", {
                    "metadata": meta, "entities": [{"entity": e, "vector": v} for e, v in entities]})
    await backend.settle()
    yield {}, True


# -- triples query ------------------------------------------------------------------------

LIMIT_ERROR = "LIMIT specified value of invalid type, must be a positive integer"


@handles("triples", object_request=False)  # the translator reads the terms first: its own errors
async def triples_query(ctx: Ctx, request: Any) -> Stream:
    """The triples query service: ``{"response": [triples]}``, batched when streaming.

    Streaming reads the store lazily, one batch ahead, so a million-triple result never sits
    in memory; each batch is a frame, the last one ``final`` (an empty result is one empty
    final frame, and there is no trailing empty frame), as the real service sends them.
    """
    pattern = {}
    for pos in ("s", "p", "o"):
        if pos in request:
            term = request[pos]
            term.get("t")  # a plain string raises "'str' object has no attribute 'get'"
            pattern[pos] = term
    g = request.get("g")
    limit = int(request.get("limit", 10000))
    collection = request.get("collection", "default")
    streaming = request.get("streaming", False)
    batch_size = int(request.get("batch-size", 20))
    if batch_size <= 0:
        batch_size = 20
    if limit < 0:
        yield {"response": [], "error": {"type": "triples-query-error", "message": LIMIT_ERROR}}, True
        return
    await ctx.backend.settle()  # triples still queued for the store are visible to the query
    store = ctx.backend.workspace(ctx.workspace).triple_store(str(collection), create=False)
    if store is None or limit == 0:
        yield {"response": []}, True
        return
    s, p, o = pattern.get("s"), pattern.get("p"), pattern.get("o")
    limit = min(limit, sys.maxsize)
    if not streaming:
        yield {"response": list(itertools.islice(store.match(s, p, o, g), limit))}, True
        return
    matches = itertools.islice(store.match_json(s, p, o, g), limit)
    batch = list(itertools.islice(matches, batch_size))
    while True:
        upcoming = list(itertools.islice(matches, batch_size))
        if not upcoming:
            yield JsonBatch(batch), True
            return
        yield JsonBatch(batch), False
        batch = upcoming
        await asyncio.sleep(0)  # let other requests run between batches
