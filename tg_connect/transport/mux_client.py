"""The async ``/api/v1/socket`` client: one WebSocket, many concurrent requests.

A reader task routes each frame to its request's bounded queue; a full queue stops the
reader, which stops reading the socket (TCP back-pressure), so a slow consumer never grows
memory. At most :data:`~tg_connect.protocol.mux.MAX_CONCURRENT_REQUESTS` requests are in
flight, matching the gateway. If the socket drops, every open request fails with a
:class:`~tg_connect.errors.GatewayConnectionError` naming the request; the next request
reconnects.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any, AsyncIterator, Mapping

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from ..errors import AuthenticationError, GatewayConnectionError, GatewayTimeoutError, ProtocolError
from ..protocol import mux
from ..protocol.endpoints import SOCKET_PATH, ws_base
from .connect import open_websocket

_CLOSED = object()


class AsyncMuxClient:
    """Requests over one multiplexed socket. Create and use it on one event loop."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 60.0, verify: bool = True,
                 workspace: str | None = None, queue_size: int = 8) -> None:
        self.url = ws_base(url) + SOCKET_PATH
        self._token = token
        self.timeout = timeout
        self.verify = verify
        self.workspace = workspace
        self.queue_size = queue_size
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._queues: dict[str, asyncio.Queue[Any]] = {}
        self._slots = asyncio.Semaphore(mux.MAX_CONCURRENT_REQUESTS)
        self._connect_lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self._closing = False
        self.default_workspace: str | None = None

    def __repr__(self) -> str:  # never shows the token
        return f"AsyncMuxClient({self.url!r})"

    async def _connection(self) -> ClientConnection:
        async with self._connect_lock:
            if self._ws is not None and self._reader is not None and not self._reader.done():
                return self._ws
            ws = await open_websocket(self.url, verify=self.verify, timeout=self.timeout)
            try:
                await ws.send(mux.auth_frame(self._token))
                raw = await asyncio.wait_for(ws.recv(), self.timeout)
                result = mux.parse_auth_reply(json.loads(raw))
            except (ConnectionClosed, OSError) as exc:
                await ws.close()
                raise GatewayConnectionError(f"{self.url}: closed during authentication: {exc}") from None
            except TimeoutError:
                await ws.close()
                raise GatewayTimeoutError(f"{self.url}: no reply to the auth frame within {self.timeout} s") from None
            if result is None or not result.ok:
                await ws.close()
                raise AuthenticationError(self.url, (result.error if result else None) or "unexpected auth reply")
            self.default_workspace = result.default_workspace
            self._closing = False
            self._ws = ws
            self._reader = asyncio.get_running_loop().create_task(self._read(ws))
            return ws

    async def _read(self, ws: ClientConnection) -> None:
        reason = "the gateway closed the socket"
        try:
            async for raw in ws:
                frame = mux.parse_response_frame(json.loads(raw))
                q = self._queues.get(frame.id or "")
                if q is not None:
                    await q.put(frame)  # blocks when the consumer is slow: back-pressure
        except ConnectionClosed as exc:
            reason = f"the socket closed ({exc})"
        except (ProtocolError, ValueError) as exc:
            reason = f"the gateway sent a malformed frame ({exc})"
            await ws.close()
        finally:
            if self._closing:
                reason = "the client closed the connection"
            for q in list(self._queues.values()):
                while q.full():
                    q.get_nowait()
                q.put_nowait((_CLOSED, reason))

    async def stream(
        self,
        service: str,
        request: Mapping[str, Any],
        *,
        flow: str | None = None,
        workspace: str | None = None,
        check: bool = True,
    ) -> AsyncIterator[Mapping[str, Any]]:
        """Yield each ``response`` of one request until the completion rule ends it.

        Errors in any of the gateway's forms raise; the timeout restarts at every frame.
        With ``check=False`` a ``response.error`` frame is yielded (it still ends the
        stream) so the caller can read the rest of it; top-level errors always raise.
        """
        async with self._slots:
            ws = await self._connection()
            rid = f"r{next(self._ids)}"
            q: asyncio.Queue[Any] = asyncio.Queue(self.queue_size)
            self._queues[rid] = q
            try:
                frame_text = mux.request_frame(rid, service, request, flow=flow,
                                               workspace=workspace or self.workspace)
                try:
                    await ws.send(frame_text)
                except ConnectionClosed as exc:
                    raise GatewayConnectionError(f"{self.url}: lost before {service} request {rid} was sent: {exc}") from None
                while True:
                    try:
                        # Frames usually wait already: skip wait_for's task when one does.
                        item = q.get_nowait() if not q.empty() else await asyncio.wait_for(q.get(), self.timeout)
                    except TimeoutError:
                        raise GatewayTimeoutError(
                            f"{service} request {rid}: no frame from {self.url} within {self.timeout} s"
                        ) from None
                    if isinstance(item, tuple) and item and item[0] is _CLOSED:
                        raise GatewayConnectionError(f"{service} request {rid} lost: {item[1]}")
                    if check or item.error is not None:
                        mux.raise_for_frame(service, item, self.url)
                    if item.response is not None:
                        yield item.response
                    if item.final:
                        return
            finally:
                self._queues.pop(rid, None)

    async def request(self, service: str, request: Mapping[str, Any], *, flow: str | None = None,
                      workspace: str | None = None) -> list[Mapping[str, Any]]:
        """All responses of one request, collected."""
        return [r async for r in self.stream(service, request, flow=flow, workspace=workspace)]

    async def aclose(self) -> None:
        """Close the socket and wait for the reader: open requests fail, naming the close."""
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader  # it ends once the socket is closed, reporting to open requests
        self._ws = None
        self._reader = None
