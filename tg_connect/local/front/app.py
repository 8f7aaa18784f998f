"""The aiohttp application: the 2.11 gateway's routes, checks in the real gateway's order.

The order of checks is part of the wire behaviour: a global REST call is parsed and its
operation looked up *before* authentication (so bad JSON is 400 even without a token), a
flow service's kind is checked before authentication (404 ``unknown kind``), and a bulk
socket's kind before its ``?token=``.

Request bodies, and where the local gateway departs from that order to protect its memory.
The real gateway reads a global REST body whole (up to its ``client_max_size``, 256 MiB)
and parses it before it looks at the credential, so anyone can make it hold and parse
256 MiB. Here the credential is looked at first, *without* answering yet:

* a caller whose credential is not accepted (a token is configured and the request has
  none, or the wrong one; or, open, a malformed bearer) has at most
  :data:`PREAUTH_BODY` bytes read: a body within that gets the real order (400 for bad
  JSON or an unknown operation, then 401), a longer one is answered 401 at once, unread
  (by its ``Content-Length``, or as soon as a chunked body passes the limit);
* an accepted caller's JSON body (global and flow-service REST) may be up to
  :data:`MAX_JSON_BODY`; a longer one is answered 413 at once, unread. The real gateway
  takes 256 MiB; a smaller cap keeps a parse in a few hundred MB. Past its 256 MiB the
  real gateway answers a flow service with aiohttp's 413 (text) and its global REST with
  400 ``invalid json`` (its ``except Exception`` catches the 413): here both are a 413 with
  a JSON ``error``.
* flow-service REST, ``import-core`` and the GET routes check the credential before reading
  anything, as the real gateway does. ``import-core`` is read in 128 KiB pieces and stored
  item by item, so, as in the real gateway (which reads it as a stream, outside
  ``client_max_size``), its total size is not capped; one msgpack item may be up to
  :data:`MAX_CORE_ITEM` (msgpack's default, which the real gateway also uses).

A client sending ``Expect: 100-continue`` gets these refusals instead of ``100 Continue``,
so it does not even send the body. WebSocket frames are capped at 50 MiB, as in the real
gateway (:mod:`.bulk_sockets`).
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import msgpack
from aiohttp import HttpVersion11, web

from ...protocol.cores import GRAPH_EMBEDDINGS_TAG, TRIPLES_TAG
from ...protocol.registry import EXPORT_KINDS, FLOW_SERVICES, IMPORT_KINDS
from ..standins.dispatch import flow_stream, global_stream, last_frame
from ..standins.kg_cores import decode_knowledge_put, knowledge_service, store_put
from ..standins.registration import global_operations
from ..storage.backend import Backend
from . import bulk_sockets, gateway_metrics
from .auth import DEFAULT_WORKSPACE, Auth, auth_failure, workspace_not_found
from .bulk_sockets import SOCKETS
from .socket import socket_handler

logger = logging.getLogger("tg_connect.local")

MAX_BODY = 256 * 1024 * 1024  # the real gateway's client_max_size
MAX_JSON_BODY = 64 * 1024 * 1024  # an accepted caller's JSON REST body
PREAUTH_BODY = 64 * 1024  # the most read from a caller whose credential is not accepted
MAX_CORE_ITEM = 100 * 1024 * 1024  # one import-core msgpack item (msgpack's default buffer)
CORE_READ_CHUNK = 128 * 1024

BACKEND: web.AppKey[Backend] = web.AppKey("backend", Backend)
AUTH: web.AppKey[Auth] = web.AppKey("auth", Auth)


def make_app(backend: Backend, auth: Auth) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[BACKEND] = backend
    app[AUTH] = auth
    app[SOCKETS] = bulk_sockets.OpenSockets()
    app.router.add_get("/api/metrics/{path:.*}", metrics_route)
    # Before /api/v1/{kind}: aiohttp before 3.10 tries routes in the order they were added.
    app.router.add_post("/api/v1/import-core", import_core_route, expect_handler=_expect_core)
    app.router.add_post("/api/v1/{kind}", global_route, expect_handler=_expect_global)
    app.router.add_get("/api/v1/socket", mux_route)
    app.router.add_post("/api/v1/flow/{flow}/service/{kind}", flow_service_route, expect_handler=_expect_flow)
    app.router.add_get("/api/v1/flow/{flow}/import/{kind}", import_route)
    app.router.add_get("/api/v1/flow/{flow}/export/{kind}", export_route)
    app.router.add_get("/api/v1/export-core", export_core_route)
    app.router.add_get("/api/v1/document-stream", document_stream_route)
    app.on_shutdown.append(_close_sockets)
    return app


async def _close_sockets(app: web.Application) -> None:
    await app[SOCKETS].close_all()


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


# -- request bodies (see the module docstring) ----------------------------------------------


def _too_large(limit: int) -> web.Response:
    return _json({"error": f"request body too large: the limit is {limit} bytes"}, 413)


def _body_limit(request: web.Request) -> tuple[bool, int]:
    """(whether the credential is accepted, how many body bytes may be read)."""
    accepted = request.app[AUTH].accepts_headers(request.headers)
    return accepted, MAX_JSON_BODY if accepted else PREAUTH_BODY


def _early_refusal(request: web.Request, accepted: bool, limit: int) -> web.Response | None:
    """The answer to a request whose declared length is over ``limit``, before reading it
    (raises the 401 for a caller whose credential is not accepted)."""
    length = request.content_length
    if length is None or length <= limit:
        return None
    if not accepted:
        raise auth_failure()
    return _too_large(limit)


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The request body, or ``None`` as soon as it is known to be longer than ``limit``
    (from ``Content-Length``, or while reading a chunked body): never more is held."""
    length = request.content_length
    if length is not None and length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(request: web.Request, body: bytes) -> Any:
    """``request.json()`` on a body already read (the charset of the request, else UTF-8)."""
    return json.loads(body.decode(request.charset or "utf-8"))


async def _continue(request: web.Request) -> None:
    """aiohttp's default expect handler: ``100 Continue`` for ``Expect: 100-continue``."""
    if request.version == HttpVersion11:
        if request.headers.get("Expect", "").lower() != "100-continue":
            raise web.HTTPExpectationFailed(text=f"Unknown Expect: {request.headers.get('Expect', '')}")
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0


async def _expect_global(request: web.Request) -> web.StreamResponse | None:
    accepted, limit = _body_limit(request)
    refusal = _early_refusal(request, accepted, limit)
    if refusal is not None:
        return refusal
    await _continue(request)
    return None


async def _expect_flow(request: web.Request) -> web.StreamResponse | None:
    if request.match_info.get("kind") not in FLOW_SERVICES:
        return _json({"error": "unknown kind"}, 404)
    request.app[AUTH].check_headers(request.headers)
    refusal = _early_refusal(request, True, MAX_JSON_BODY)
    if refusal is not None:
        return refusal
    await _continue(request)
    return None


async def _expect_core(request: web.Request) -> web.StreamResponse | None:
    request.app[AUTH].check_headers(request.headers)
    await _continue(request)
    return None


# -- REST ---------------------------------------------------------------------------------


async def global_route(request: web.Request) -> web.Response:
    """``POST /api/v1/{kind}``: config, flow, librarian, knowledge, collection-management."""
    backend, auth = request.app[BACKEND], request.app[AUTH]
    kind = request.match_info["kind"]
    accepted, limit = _body_limit(request)
    raw = await read_body(request, limit)
    if raw is None:  # over the limit: refused unread (401 if not authenticated, else 413)
        if not accepted:
            raise auth_failure()
        return _too_large(limit)
    try:
        body = _parse_json(request, raw)
    except Exception:
        return _json({"error": "invalid json"}, 400)
    del raw
    if not isinstance(body, dict):
        return _json({"error": "body must be an object"}, 400)
    operation = body.get("operation", "")
    if not operation:
        return _json({"error": "missing operation"}, 400)
    if operation not in global_operations(kind):
        return _json({"error": "unknown operation"}, 400)
    auth.check_headers(request.headers)
    workspace = body.get("workspace") or DEFAULT_WORKSPACE
    body["workspace"] = workspace
    if not backend.known_workspace(workspace):
        raise workspace_not_found()
    try:
        return _json(await last_frame(global_stream(backend, kind, workspace, body)))
    except Exception as exc:
        return _json({"error": str(exc)})


async def flow_service_route(request: web.Request) -> web.Response:
    """``POST /api/v1/flow/{flow}/service/{kind}``; workspace from the body, else ``default``."""
    backend, auth = request.app[BACKEND], request.app[AUTH]
    kind = request.match_info["kind"]
    if kind not in FLOW_SERVICES:
        return _json({"error": "unknown kind"}, 404)
    auth.check_headers(request.headers)
    raw = await read_body(request, MAX_JSON_BODY)
    if raw is None:
        return _too_large(MAX_JSON_BODY)
    try:
        data = _parse_json(request, raw)
        del raw
        workspace = (data.get("workspace") if isinstance(data, dict) else None) or DEFAULT_WORKSPACE
        stream = flow_stream(backend, kind, workspace, request.match_info["flow"], data)
        return _json(await last_frame(stream))
    except web.HTTPException:
        raise
    except Exception as exc:  # bad JSON, "Invalid flow default/x": HTTP 200 with a string error
        return _json({"error": str(exc)})


async def metrics_route(request: web.Request) -> web.Response:
    """``GET /api/metrics/{path}``: Prometheus HTTP API answers (text/plain, like the proxy)."""
    auth = request.app[AUTH]
    auth.check_headers(request.headers)
    status, body = gateway_metrics.answer(request.app[BACKEND].metrics, request.match_info["path"], request.query)
    if body is None:
        return web.Response(status=404, text="404 page not found")
    return web.Response(status=status, text=json.dumps(body, separators=(",", ":")))


# -- sockets ------------------------------------------------------------------------------


async def mux_route(request: web.Request) -> web.StreamResponse:
    return await socket_handler(request, request.app[BACKEND], request.app[AUTH])


async def _bulk_route(request: web.Request, direction: str) -> web.StreamResponse:
    backend, auth = request.app[BACKEND], request.app[AUTH]
    kind = request.match_info["kind"]
    kinds = IMPORT_KINDS if direction == "import" else EXPORT_KINDS
    if kind not in kinds:
        return _json({"error": "unknown kind"}, 404)
    auth.check_query(request.query)  # 401 at the handshake
    workspace = request.query.get("workspace", DEFAULT_WORKSPACE)
    flow = request.match_info["flow"]
    handler = bulk_sockets.import_socket if direction == "import" else bulk_sockets.export_socket
    return await handler(request, backend, kind, workspace, flow)


async def import_route(request: web.Request) -> web.StreamResponse:
    return await _bulk_route(request, "import")


async def export_route(request: web.Request) -> web.StreamResponse:
    return await _bulk_route(request, "export")


# -- knowledge cores over HTTP ------------------------------------------------------------


async def export_core_route(request: web.Request) -> web.StreamResponse:
    """``GET /api/v1/export-core?id=&workspace=``: the core as msgpack items (empty if unknown)."""
    backend, auth = request.app[BACKEND], request.app[AUTH]
    auth.check_headers(request.headers)
    try:
        core_id = request.query["id"]
    except KeyError as exc:
        return _json({"error": str(exc)})
    workspace = request.query.get("workspace", DEFAULT_WORKSPACE)
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    await response.prepare(request)
    if backend.known_workspace(workspace):
        # As the real route: get-kg-core's frames, each written as one msgpack item.
        try:
            async for frame, _last in knowledge_service(
                backend, workspace, {"operation": "get-kg-core", "id": core_id}
            ):
                item = _core_item(frame)
                if item is not None:
                    await response.write(msgpack.packb(item, use_bin_type=True))
        except (ConnectionError, OverflowError, UnicodeEncodeError, ValueError, TypeError) as exc:
            logger.info("export-core stopped: %s", type(exc).__name__)  # real: logged, body cut short
    await response.write_eof()
    return response


def _core_item(frame: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """One get-kg-core frame as the msgpack item export-core writes for it (``None``: none)."""
    if "triples" in frame:
        meta = frame["triples"]["metadata"]
        return TRIPLES_TAG, {"m": {"i": meta["id"], "c": meta["collection"]}, "t": frame["triples"]["triples"]}
    if "graph-embeddings" in frame:
        meta = frame["graph-embeddings"]["metadata"]
        items = [{"e": e["entity"], "v": e["vector"]} for e in frame["graph-embeddings"]["entities"]]
        return GRAPH_EMBEDDINGS_TAG, {"m": {"i": meta["id"], "c": meta["collection"]}, "e": items}
    if "library-metadata" in frame:
        lm = frame["library-metadata"]
        return "lm", {
            "i": lm["id"],
            "k": lm["kind"],
            "t": lm["title"],
            "p": lm["parent-id"],
            "d": lm["document-type"],
            "c": lm["comments"],
            "g": lm["tags"],
        }
    if "library-blob" in frame:
        return "lb", {"i": frame["library-blob"]["id"], "d": frame["library-blob"]["data"]}
    return None


def _core_put(core_id: str, meta: dict[str, Any], item: Any) -> dict[str, Any] | None:
    """The put-kg-core request for one import-core msgpack item (``None``: an unknown tag, skipped)."""
    tag, body = item[0], item[1]
    if tag == TRIPLES_TAG:
        return {"operation": "put-kg-core", "id": core_id, "triples": {"metadata": meta, "triples": body["t"]}}
    if tag == GRAPH_EMBEDDINGS_TAG:
        ents = [{"entity": e["e"], "vector": e["v"]} for e in body["e"]]
        return {"operation": "put-kg-core", "id": core_id, "graph-embeddings": {"metadata": meta, "entities": ents}}
    if tag == "lm":
        return {
            "operation": "put-kg-core",
            "id": core_id,
            "library-metadata": {
                "id": body["i"],
                "kind": body.get("k", ""),
                "title": body.get("t", ""),
                "parent-id": body.get("p", ""),
                "document-type": body.get("d", ""),
                "comments": body.get("c", ""),
                "tags": body.get("g", []),
            },
        }
    if tag == "lb":
        return {
            "operation": "put-kg-core",
            "id": core_id,
            "library-blob": {"id": body["i"], "data": body.get("d", b"")},
        }
    return None


async def import_core_route(request: web.Request) -> web.StreamResponse:
    """``POST /api/v1/import-core?id=&workspace=``: store msgpack items as core ``id``.

    As the real import, every triples/graph-embeddings item is put with metadata
    ``{id: <core id>, collection: "default"}``; a bad item stops the import but the reply is
    still an empty 200.
    """
    backend, auth = request.app[BACKEND], request.app[AUTH]
    auth.check_headers(request.headers)
    try:
        core_id = request.query["id"]
    except KeyError as exc:
        return _json({"error": str(exc)})
    workspace = request.query.get("workspace", DEFAULT_WORKSPACE)
    if backend.known_workspace(workspace):
        meta = {"id": core_id, "collection": "default"}
        unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=MAX_CORE_ITEM)
        try:
            while True:
                chunk = await request.content.read(CORE_READ_CHUNK)
                if not chunk:
                    break
                unpacker.feed(chunk)
                for item in unpacker:
                    put = _core_put(core_id, meta, item)
                    if put is None:
                        continue
                    store_put(backend, workspace, core_id, decode_knowledge_put(put))
        except Exception as exc:
            logger.info("import-core stopped: %s", type(exc).__name__)  # real: logged, still 200
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    await response.prepare(request)
    await response.write_eof()
    return response


# -- documents over HTTP ----------------------------------------------------------------------


async def document_stream_route(request: web.Request) -> web.StreamResponse:
    """``GET /api/v1/document-stream?document-id=&workspace=&chunk-size=``: the raw bytes.

    As in 2.11: no ``document-id`` is a 500 with a text body; otherwise the 200 headers go
    out first and a librarian failure (unknown document or workspace) just ends the body.
    """
    backend, auth = request.app[BACKEND], request.app[AUTH]
    auth.check_headers(request.headers)
    workspace = request.query.get("workspace", DEFAULT_WORKSPACE)
    document_id = request.query.get("document-id")
    try:
        chunk_size = int(request.query.get("chunk-size", 1024 * 1024))
    except ValueError as exc:
        return _json({"error": str(exc)})
    if not document_id:
        return web.Response(status=500, text="Missing required parameter: document-id")
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    await response.prepare(request)
    if backend.known_workspace(workspace):
        try:
            for piece in backend.workspace(workspace).library.stream(document_id, chunk_size):
                if piece.get("content"):
                    await response.write(base64.b64decode(piece["content"]))
        except Exception as exc:
            logger.info("document-stream stopped: %s", exc)
    await response.write_eof()
    return response
