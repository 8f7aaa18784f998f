"""Bulk import/export sockets (``/api/v1/flow/{flow}/import|export/{kind}``).

Import: each text frame is one message; it is parsed with the stdlib ``json`` module and
published (stored, kept in the knowledge core, tapped) *inside the receive loop*, before the
next frame is read. No frame is ever sent back; a malformed message closes the socket with
code 1000 and no reason, as the real gateway does.

What a client can confirm, as with the real gateway (whose listener also awaits each
frame's publish before reading the next): aiohttp answers a client's PING inside
``receive()``, in order with the data frames, so a PONG means every frame sent before the
PING was taken in; and the close handshake completes only after every frame before the
CLOSE was. Taken in means stored (the inserts queued for the store thread are waited for
when a query or the close needs them), except with a paced store (see :mod:`..storage.backend`),
where, as with the real gateway's broker, it means queued: the close handshake then does
not wait for the queue, and the store metrics tell what is stored. A paced store whose
queue is full closes the socket with 1011 (internal error) and says why in the reason.

Export is a live tap, like the real gateway's fresh broker subscription per socket: an
export socket sees the messages published on its workspace+topic while it is open, and
nothing from before. Each subscriber has a bounded queue (:mod:`..storage.taps`): when a
reader falls behind, publishers *wait* for it (backpressure reaches the importing client
through TCP) instead of buffering without bound. The real gateway's RabbitMQ queue is
unbounded; this is the deliberate difference that keeps memory flat.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from ..storage.taps import StoreQueueFull

if TYPE_CHECKING:
    from ..storage.backend import Backend


logger = logging.getLogger("tg_connect.local")

WS_MAX_MESSAGE = 50 * 1024 * 1024  # the real gateway's max_msg_size


class OpenSockets:
    """The open websockets of an app, closed at shutdown (aiohttp would wait for them)."""

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    def add(self, ws: web.WebSocketResponse) -> None:
        self._sockets.add(ws)

    async def close_all(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"server shutdown")


SOCKETS = web.AppKey("sockets", OpenSockets)


async def accept(request: web.Request, autoclose: bool = True) -> web.WebSocketResponse:
    """Complete the handshake (no compression: it costs more CPU than it saves on loopback)."""
    ws = web.WebSocketResponse(max_msg_size=WS_MAX_MESSAGE, compress=False, autoclose=autoclose)
    await ws.prepare(request)
    sockets = request.app.get(SOCKETS)
    if sockets is not None:
        sockets.add(ws)
    return ws


async def _close_at_once(ws: web.WebSocketResponse) -> web.WebSocketResponse:
    await ws.close(code=1000)
    return ws


async def import_socket(
    request: web.Request, backend: Backend, kind: str, workspace: str, flow: str
) -> web.WebSocketResponse:
    """Handle an accepted import socket (auth and kind were checked by the caller)."""
    ws = await accept(request, autoclose=False)
    topic = backend.topic(workspace, flow, kind)
    if topic is None:  # unknown flow or workspace, or a flow without that interface
        return await _close_at_once(ws)
    loads = json.loads
    publish = backend.publish
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT or msg.type == WSMsgType.BINARY:
                try:
                    await publish(workspace, topic, kind, loads(msg.data), msg.data)
                except StoreQueueFull as exc:
                    logger.error("import %s: %s; closing the socket", kind, exc)
                    await ws.close(code=1011, message=b"store queue full: the paced store is behind")
                    break
                except Exception as exc:  # malformed: close quietly, as the real gateway does
                    logger.info("import %s: malformed message closes the socket: %s", kind, type(exc).__name__)
                    await backend.settle()
                    await ws.close(code=1000)
                    break
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        # The close handshake completes only now (autoclose is off): unless the store is
        # paced, everything received is in the stores when the client sees its close
        # acknowledged. A paced store's queue is not waited for, as with the real broker.
        if not backend.paced:
            await backend.settle()
            backend.workspace(workspace).flush()
        if not ws.closed:
            await ws.close()
    return ws


async def _send_published(frames: asyncio.Queue[str], ws: web.WebSocketResponse) -> None:
    """Send each frame published on the tap, until the socket fails or closes."""
    errors = 0
    while True:
        frame = await frames.get()
        try:
            await ws.send_str(frame)
            errors = 0
        except (ConnectionError, RuntimeError):
            errors += 1  # the real export loop gives up after 5 consecutive send errors
            if errors >= 5 or ws.closed:
                return


async def export_socket(
    request: web.Request, backend: Backend, kind: str, workspace: str, flow: str
) -> web.WebSocketResponse:
    """Handle an accepted export socket: send every message published on its topic.

    The tap is subscribed *before* the handshake completes, so anything imported after the
    client sees the socket open reaches it (the real gateway needs ~0.5 s to bind its queue).
    """
    topic = backend.topic(workspace, flow, kind)
    if topic is None:
        return await _close_at_once(await accept(request))
    sub = backend.taps.subscribe(workspace, topic)
    try:
        ws = await accept(request)
    except BaseException:
        backend.taps.unsubscribe(workspace, topic, sub)
        raise

    task = asyncio.ensure_future(_send_published(sub.queue, ws))
    try:
        async for msg in ws:  # export sockets ignore what the client sends; this sees the close
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        backend.taps.unsubscribe(workspace, topic, sub)
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
        if not ws.closed:
            await ws.close()
    return ws
