"""``/api/v1/socket``: the multiplexed request/response socket (2.11 ``dispatch/mux.py``).

Frame handling follows the real ``Mux.receive`` step by step, because clients see its exact
error frames: JSON errors and frames without ``id``/``request`` are answered ``{"error":
{"message": ..., "type": "error"}, "complete": true}`` (with the id only when there is one),
requests before ``auth-ok`` get ``auth-required``, unknown services ``unknown-service``,
unknown workspaces ``workspace-not-found``. At most
:data:`~tg_connect.protocol.mux.MAX_CONCURRENT_REQUESTS` requests of one socket run at once;
the reader waits for a free slot, which stops it reading (TCP backpressure), as the real
gateway's bounded queue does. Responses of different ids interleave freely.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from ...protocol.mux import MAX_CONCURRENT_REQUESTS
from ...protocol.registry import FLOW_SERVICES
from ..standins.dispatch import flow_stream, global_stream
from ..standins.registration import global_operations
from ..standins.triples import JsonBatch
from ..storage.backend import Backend
from .auth import DEFAULT_WORKSPACE, Auth
from .bulk_sockets import accept

logger = logging.getLogger("tg_connect.local")


class MuxSession:
    """The state of one socket: its identity, its request slots, and one send lock."""

    def __init__(self, ws: web.WebSocketResponse, backend: Backend, auth: Auth) -> None:
        self.ws = ws
        self.backend = backend
        self.auth = auth
        self.authenticated = False
        self.slots = asyncio.Semaphore(MAX_CONCURRENT_REQUESTS)
        self.tasks: set[asyncio.Task[None]] = set()
        self._send_lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any] | str) -> None:
        if self.ws.closed:
            return
        text = frame if isinstance(frame, str) else json.dumps(frame)
        async with self._send_lock:
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                pass  # the client went away; its responses are dropped, as in the real mux

    async def receive(self, text: str | bytes) -> None:
        request_id: Any = None
        try:
            data = json.loads(text)
            if isinstance(data, dict) and data.get("type") == "auth":
                await self._auth(data)
                return
            request_id = data.get("id")
            if "request" not in data or "id" not in data:
                raise RuntimeError("Bad message")
            if not self.authenticated:
                await self.send(
                    {"id": request_id, "error": {"message": "auth failure", "type": "auth-required"}, "complete": True}
                )
                return
            service = data.get("service", "")
            inner = data.get("request") or {}
            operation = inner.get("operation", "") if isinstance(inner, dict) else ""
            flow = data.get("flow")
            if flow:
                known = service in FLOW_SERVICES
            elif service == "iam":  # IAM operations are registered under bare names (docs/protocol.md 3.4)
                known = operation in global_operations("iam")
            else:
                known = bool(operation) and operation in global_operations(service)
            if not known:
                await self.send(
                    {
                        "id": request_id,
                        "error": {"message": "unknown service", "type": "unknown-service"},
                        "complete": True,
                    }
                )
                return
            workspace = data.get("workspace", "") or DEFAULT_WORKSPACE
            if not self.backend.known_workspace(workspace):
                await self.send(
                    {
                        "id": request_id,
                        "error": {"message": "workspace not found", "type": "workspace-not-found"},
                        "complete": True,
                    }
                )
                return
            await self.slots.acquire()
            task = asyncio.ensure_future(self._request(data["id"], workspace, flow, service, data["request"]))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        except Exception as exc:
            reply: dict[str, Any] = {"error": {"message": str(exc), "type": "error"}, "complete": True}
            if request_id:
                reply["id"] = request_id
            await self.send(reply)

    async def _auth(self, data: dict[str, Any]) -> None:
        if self.auth.accepts(data.get("token", "")):
            self.authenticated = True
            await self.send({"type": "auth-ok", "default_workspace": DEFAULT_WORKSPACE})
        else:  # the socket stays open and keeps any earlier identity
            await self.send({"type": "auth-failed", "error": "auth failure"})

    async def _request(self, request_id: Any, workspace: str, flow: Any, service: str, request: Any) -> None:
        try:
            if flow:
                stream = flow_stream(self.backend, service, workspace, flow, request)
            else:
                stream = global_stream(self.backend, service, workspace, request)
            async for response, final in stream:
                if isinstance(response, JsonBatch):  # pre-encoded: splice, same bytes as json.dumps
                    await self.send(
                        '{"id": '
                        + json.dumps(request_id)
                        + ', "response": '
                        + response.text()
                        + ', "complete": '
                        + ("true" if final else "false")
                        + "}"
                    )
                else:
                    await self.send({"id": request_id, "response": response, "complete": final})
        except Exception as exc:  # e.g. "Invalid flow default/x", "This kind not supported by flow"
            await self.send({"id": request_id, "error": {"message": str(exc), "type": "error"}, "complete": True})
        finally:
            self.slots.release()

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass


async def socket_handler(request: web.Request, backend: Backend, auth: Auth) -> web.WebSocketResponse:
    """The handshake always succeeds; authentication is the first-frame protocol."""
    ws = await accept(request)
    session = MuxSession(ws, backend, auth)
    try:
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                await session.receive(msg.data)
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        await session.close()
        if not ws.closed:
            await ws.close()
    return ws
