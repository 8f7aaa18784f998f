"""The workspace administration services: config, flow, iam and collection-management.

Each is a dispatch table operation -> answer, registered with the operations it answers
(:mod:`.registration`). Config and flow answer as config-svc and flow-svc behind the 2.11
translators, which drop errors: a failed operation is an all-defaults reply. IAM answers as
upstream's no-auth regime.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..storage.backend import DEFAULT_WORKSPACE, Backend, now_iso
from ..storage.stores import ConfigStore
from .flowctx import Stream
from .registration import handles_global

logger = logging.getLogger("tg_connect.local")


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
    return _config_reply(
        version=cfg.version,
        values=[{"type": t, "key": k, "value": cfg.get(req.workspace, t, k)} for t, k in req.given_keys()],
    )


def _config_list(cfg: ConfigStore, req: ConfigRequest) -> dict[str, Any]:
    return _config_reply(version=cfg.version, directory=cfg.keys(req.workspace, req.type))


def _config_getvalues(cfg: ConfigStore, req: ConfigRequest) -> dict[str, Any]:
    return _config_reply(
        version=cfg.version,
        values=[{"type": req.type, "key": k, "value": v} for k, v in cfg.values(req.workspace, req.type)],
    )


def _config_getvalues_all_ws(cfg: ConfigStore, req: ConfigRequest) -> dict[str, Any]:
    return _config_reply(
        version=cfg.version,
        values=[
            {"workspace": ws, "type": req.type, "key": k, "value": v}
            for ws in sorted(cfg.workspaces)
            for k, v in cfg.values(ws, req.type)
        ],
    )


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
    reply: dict[str, Any] = {
        "blueprint-names": [],
        "flow-ids": [],
        "blueprint-definition": "",
        "flow": "",
        "description": "",
        "parameters": {},
    }
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
    backend.start_flow(
        workspace,
        request.get("flow-id"),
        request.get("blueprint-name"),
        request.get("description"),
        request.get("parameters"),
    )
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
    return {
        "id": "anonymous",
        "default_workspace": DEFAULT_WORKSPACE,
        "username": "anonymous",
        "name": "Anonymous User",
        "email": "",
        "roles": ["admin"],
        "enabled": True,
        "must_change_password": False,
        "created": "",
    }


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
IAM_NOT_IMPLEMENTED = frozenset(
    {
        "delete-user",
        "reset-password",
        "create-api-key",
        "list-api-keys",
        "revoke-api-key",
        "list-workspaces",
        "get-workspace",
        "update-workspace",
        "disable-workspace",
        "list-my-workspaces",
        "change-password",
        "rotate-signing-key",
        "mint-token",
        "login",
        "bootstrap",
        "bootstrap-status",
    }
)
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
    return {
        "collection": meta.get("collection", ""),
        "name": meta.get("name", ""),
        "description": meta.get("description", ""),
        "tags": list(tags),
    }


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
