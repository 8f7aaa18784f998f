"""The async ``/api/v1/socket`` client: one WebSocket, many concurrent requests.

* **Slots.** At most :data:`~tg_connect.protocol.mux.MAX_CONCURRENT_REQUESTS` requests are in
  flight, matching the gateway; more wait their turn in order. A request that finds a free
  slot sends itself; otherwise it queues its frame and one sender task sends queued frames
  as slots free up, so a waiting request wakes once, for its reply. Its timeout starts when
  it is sent.
* **Channels.** A reader task routes each frame to its request's channel: a bounded deque with
  one waiting future. A full channel stops the reader, which stops reading the socket (TCP
  back-pressure), so a slow consumer never grows memory.
* **Failures.** If the socket drops, every open request fails with a
  :class:`~tg_connect.errors.GatewayConnectionError` naming the request and the cause; the next
  request reconnects. ``aclose()`` closes deterministically: requests in flight fail naming
  the close, and it returns once the reader has finished.
* **Stalls.** A request that waits ``timeout`` for a frame fails with a
  :class:`~tg_connect.errors.GatewayTimeoutError`, and the socket is then pinged: a pong means
  the gateway is alive and only that request is slow; none within ``timeout / 2`` means the
  socket is stalled, so it is dropped (its other requests fail with a timeout too) and the
  next request reconnects instead of waiting on it again. Keepalive pings
  (:func:`~tg_connect.transport.connect.keepalive`) notice a stall between requests.

The per-frame path is kept short, since it bounds streaming throughput: no task, lock or
timer per frame (one watchdog task per client checks deadlines), and the usual frame shape is
read by :func:`~tg_connect.protocol.mux.read_response`, the protocol core's one completion
rule. The requests' state (ids, slots, queue, deadlines) is :class:`~tg_connect.protocol.mux.Requests`:
this module only moves frames and wakes waiters.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
from collections.abc import Mapping
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from ..errors import AuthenticationError, GatewayConnectionError, GatewayTimeoutError, ProtocolError
from ..protocol import mux
from ..protocol.endpoints import SOCKET_PATH, ws_base
from .connect import (
    abort_websocket,
    auth_refused,
    close_reason,
    is_alive,
    is_keepalive_timeout,
    keepalive,
    open_websocket,
)

_CLOSED = object()
_EXPIRED = object()


def quick_close(timeout: float) -> float:
    """How long closing a read or request socket waits for the gateway's close frame.

    Everything wanted has arrived (or failed) by then, so a gateway slow to close is not
    waited for long; this also bounds how late a keepalive failure is reported.
    """
    return min(timeout / 4, 10.0)


async def open_authenticated(
    url: str, token: str | None, *, verify: bool, timeout: float, **ws_options: Any
) -> tuple[ClientConnection, mux.AuthResult]:
    """Open ``url`` (an ``/api/v1/socket`` URL) and pass its first-frame authentication.

    The handshake and the auth reply together must come within ``timeout`` (one deadline, so
    a gateway stalling in either costs ``timeout``, not twice it). ``ws_options`` go to
    :func:`~tg_connect.transport.connect.open_websocket` (keepalive, ``close_timeout``).
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    ws = await open_websocket(url, verify=verify, timeout=timeout, **ws_options)

    async def authenticate() -> Any:
        await ws.send(mux.auth_frame(token))
        return await ws.recv()

    try:
        raw = await asyncio.wait_for(authenticate(), max(started + timeout - loop.time(), 0.0))
        result = mux.parse_auth_reply(json.loads(raw))
    except TimeoutError:  # before OSError, which TimeoutError is a subclass of
        await abort_websocket(ws)  # a stalled socket would hold a graceful close for close_timeout
        raise GatewayTimeoutError(f"{url}: no reply to the auth frame within {timeout} s") from None
    except (ConnectionClosed, OSError) as exc:
        await abort_websocket(ws)
        raise GatewayConnectionError(f"{url}: closed during authentication: {exc}") from None
    except BaseException:
        await abort_websocket(ws)
        raise
    if result is None:
        await ws.close()
        raise AuthenticationError(url, "unexpected auth reply")
    if not result.ok:
        await ws.close()
        raise auth_refused(url, token_given=bool(token))
    return ws, result


class _Channel:
    """One request's frames: a bounded deque, the consumer's waiter, the reader's wait for space."""

    __slots__ = ("frames", "waiter", "space", "limit", "request")

    def __init__(self, limit: int, request: mux.RequestState) -> None:
        self.frames: collections.deque[Any] = collections.deque()
        self.waiter: asyncio.Future[Any] | None = None
        self.space: asyncio.Future[None] | None = None
        self.limit = limit
        self.request = request  # its state in the protocol's request table (deadline included)

    def push(self, item: Any) -> None:
        self.frames.append(item)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def release(self) -> None:
        """Let a reader waiting for space go on (the consumer took frames, or left)."""
        space = self.space
        if space is not None:
            self.space = None
            if not space.done():
                space.set_result(None)


class _Request:
    """One request over the socket: an async iterator of its responses.

    Started by the first ``__anext__``; holds a slot from when it is sent until it ends: on its
    final frame, an error, ``aclose()``, or when dropped unfinished (``__del__`` hands the
    release to the loop).
    """

    __slots__ = ("client", "service", "body", "flow", "workspace", "check", "channel", "loop", "ended")

    def __init__(
        self,
        client: AsyncMuxClient,
        service: str,
        body: Mapping[str, Any],
        flow: str | None,
        workspace: str | None,
        check: bool,
    ) -> None:
        self.client = client
        self.service = service
        self.body = body
        self.flow = flow
        self.workspace = workspace
        self.check = check
        self.channel: _Channel | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ended = False

    def __aiter__(self) -> _Request:
        return self

    @property
    def done(self) -> bool:
        """Whether the request has ended (its final frame was returned, or it failed or was closed)."""
        return self.ended

    @property
    def rid(self) -> str:
        return self.channel.request.rid if self.channel is not None else ""

    async def _start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.channel = await self.client.open_channel(self.service, self.body, self.flow, self.workspace)

    def _finish(self) -> None:
        if not self.ended:
            self.ended = True
            if self.channel is not None:
                self.client.end(self.channel)

    async def __anext__(self) -> Mapping[str, Any]:
        if self.channel is None:
            if self.ended:
                raise StopAsyncIteration
            await self._start()
        elif self.ended:
            raise StopAsyncIteration
        channel = self.channel
        assert channel is not None
        client = self.client
        try:
            while True:
                item = await client.next_frame(channel, self.service)
                if type(item) is tuple and item[0] is _CLOSED:
                    error = GatewayTimeoutError if item[2] else GatewayConnectionError
                    raise error(f"{self.service} request {channel.request.rid} lost: {item[1]}")
                response, final = mux.read_response(item, self.service, client.url, self.check)
                if final:
                    self._finish()
                    if response is None:
                        raise StopAsyncIteration
                if response is not None:
                    return response
        except BaseException:
            self._finish()
            raise

    async def aclose(self) -> None:
        self._finish()

    def __del__(self) -> None:
        if not self.ended and self.channel is not None and self.loop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self._finish)
            except RuntimeError:
                pass


class AsyncMuxClient:
    """Requests over one multiplexed socket. Create and use it on one event loop."""

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        timeout: float = 60.0,
        verify: bool = True,
        workspace: str | None = None,
        queue_size: int = 32,
    ) -> None:
        self.url = ws_base(url) + SOCKET_PATH
        self._token = token
        self.timeout = timeout
        self.verify = verify
        self.workspace = workspace
        self.queue_size = queue_size
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self.requests = mux.Requests(timeout)  # ids, slots, queue and deadlines, as data
        self._channels: dict[str, _Channel] = {}  # the open requests' frames and waiters, by id
        self._sender: asyncio.Task[None] | None = None
        self._sender_wakeup: asyncio.Future[None] | None = None
        self._connect_lock = asyncio.Lock()
        self._closing = False
        self._waiting: set[_Channel] = set()
        self._watchdog: asyncio.Task[None] | None = None
        self._probe: asyncio.Task[None] | None = None
        self._dropped: str | None = None  # why the probe dropped the socket
        self.default_workspace: str | None = None

    def __repr__(self) -> str:  # never shows the token
        return f"AsyncMuxClient({self.url!r})"

    async def _connection(self) -> ClientConnection:
        ws, reader, probe = self._ws, self._reader, self._probe
        if probe is not None and not probe.done():
            await asyncio.wait([probe])  # is the socket stalled? (bounded; never cancels the probe)
        elif ws is not None and reader is not None and not reader.done():
            return ws
        async with self._connect_lock:
            if self._ws is not None and self._reader is not None and not self._reader.done():
                return self._ws
            ws, result = await open_authenticated(
                self.url, self._token, verify=self.verify, timeout=self.timeout, close_timeout=quick_close(self.timeout)
            )
            self.default_workspace = result.default_workspace
            self._closing = False
            self._dropped = None
            self._ws = ws
            self._reader = asyncio.get_running_loop().create_task(self._read(ws))
            return ws

    async def _read(self, ws: ClientConnection) -> None:
        reason = "the gateway closed the socket"
        stalled = False
        channels = self._channels
        loads = json.loads
        try:
            async for raw in ws:
                frame = loads(raw)
                if type(frame) is not dict:
                    raise ProtocolError(f"socket frame is {type(frame).__name__}, not a JSON object")
                rid = frame.get("id")
                channel = channels.get(rid if type(rid) is str else str(rid))
                if channel is None:
                    continue  # an abandoned request's late frames, or an uncorrelatable error
                channel.push(frame)  # classified by its request (_Request.__anext__)
                if len(channel.frames) >= channel.limit:
                    space: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                    channel.space = space
                    await space  # a slow consumer: stop reading the socket until it catches up
                    if self._closing:
                        return
        except ConnectionClosed as exc:
            stalled = is_keepalive_timeout(exc)
            reason = (
                f"{close_reason(exc)} ({exc})"
                if not stalled
                else f"{close_reason(exc)} within {keepalive(self.timeout)} s"
            )
        except (ProtocolError, ValueError) as exc:
            reason = f"the gateway sent a malformed frame ({exc})"
            await ws.close()
        finally:
            self._lose_requests(reason, stalled)

    def _lose_requests(self, reason: str, stalled: bool) -> None:
        """The socket is gone: every request on it (queued ones too, unsent) ends with why."""
        if self._closing:
            reason, stalled = "the client closed the connection", False
        elif self._dropped is not None:
            reason, stalled = self._dropped, True
        for request in self.requests.lost():
            channel = self._channels.get(request.rid)
            if channel is not None:
                channel.push((_CLOSED, reason, stalled))

    async def open_channel(
        self, service: str, body: Mapping[str, Any], flow: str | None, workspace: str | None
    ) -> _Channel:
        """Register a request and send it now, or queue it until a slot frees."""
        ws = await self._connection()
        request = self.requests.add(service, body, flow, workspace)
        channel = self._channels[request.rid] = _Channel(self.queue_size, request)
        if request.state == mux.QUEUED:
            self._wake_sender()
            return channel
        try:
            await ws.send(request.text)
        except ConnectionClosed as exc:
            self.end(channel)
            raise GatewayConnectionError(
                f"{self.url}: lost before {service} request {request.rid} was sent: {exc}"
            ) from None
        except BaseException:
            self.end(channel)
            raise
        return channel

    def end(self, channel: _Channel) -> None:
        """A request is over: forget its channel, free its slot, and send what waited for it."""
        request = channel.request
        self._channels.pop(request.rid, None)
        channel.release()  # a reader waiting for this request's consumer goes on
        self.requests.end(request)
        if self.requests.queued:
            self._wake_sender()

    def _wake_sender(self) -> None:
        wakeup = self._sender_wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)
        elif self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_queued())

    async def _send_queued(self) -> None:
        """Send queued requests, oldest first, as slots free up; ends when the queue is empty.

        One task for all of them: every slot freed during a loop iteration is refilled in one
        step, instead of waking each waiting request to send itself.
        """
        loop = asyncio.get_running_loop()
        while self.requests.queued:
            request = self.requests.next_to_send(loop.time())
            if request is None:  # no free slot: wait for one
                self._sender_wakeup = wakeup = loop.create_future()
                try:
                    await wakeup
                finally:
                    self._sender_wakeup = None
                continue
            channel = self._channels.get(request.rid)
            if channel is None:
                continue
            ws = self._ws
            try:
                if ws is None:
                    raise ConnectionClosed(None, None)
                await ws.send(request.text)
            except ConnectionClosed as exc:
                channel.push((_CLOSED, f"the socket closed before it was sent ({exc})", False))
            except Exception as exc:  # deliver to the request, keep sending the others
                channel.push((_CLOSED, f"it could not be sent ({exc!r})", False))

    async def next_frame(self, channel: _Channel, service: str) -> Any:
        """The request's next frame; a sent request left waiting ``timeout`` s gets a timeout error.

        Deadlines are checked by one watchdog task per client (a timer per wait would cost
        every frame a heap entry), so a timeout fires up to a quarter of it late.
        """
        if not channel.frames:
            loop = asyncio.get_running_loop()
            waiter = loop.create_future()
            channel.waiter = waiter
            self.requests.waiting(channel.request, loop.time())
            self._waiting.add(channel)
            if self._watchdog is None or self._watchdog.done():
                self._watchdog = loop.create_task(self._watch())
            try:
                if await waiter is _EXPIRED and not channel.frames:
                    self._suspect()
                    raise GatewayTimeoutError(
                        f"{service} request {channel.request.rid}: no frame from {self.url} within {self.timeout} s"
                    )
            finally:
                channel.waiter = None
                self._waiting.discard(channel)
        item = channel.frames.popleft()
        if channel.space is not None and len(channel.frames) <= channel.limit // 2:
            channel.release()
        return item

    def _suspect(self) -> None:
        """A request waited ``timeout`` for a frame: start a probe of the socket (one at a time).

        Not while a slow consumer holds the reader (a full channel): then no pong could be
        read either, and the wait is the client's own doing, not a stalled gateway.
        """
        ws = self._ws
        if ws is None or self._closing or (self._probe is not None and not self._probe.done()):
            return
        if any(channel.space is not None for channel in self._channels.values()):
            return
        self._probe = asyncio.get_running_loop().create_task(self._check(ws))

    async def _check(self, ws: ClientConnection) -> None:
        """Ping ``ws``; with no pong within ``timeout / 2`` drop it and wait for its reader to end,
        so the next request (which waits for this check) opens a new socket."""
        wait = keepalive(self.timeout)
        if await is_alive(ws, wait) or ws is not self._ws or self._closing:
            return
        self._dropped = f"the socket stalled (no frame within {self.timeout} s, no pong within {wait} s); dropped"
        await abort_websocket(ws)
        reader = self._reader
        if reader is not None:
            for channel in list(self._channels.values()):
                channel.release()  # a reader waiting for a consumer must see the drop
            await asyncio.wait([reader])

    async def _watch(self) -> None:
        tick = min(max(self.timeout / 4, 0.01), 1.0)
        loop = asyncio.get_running_loop()
        while self._waiting:
            await asyncio.sleep(tick)
            now = loop.time()
            for channel in list(self._waiting):
                waiter = channel.waiter
                if self.requests.expired(channel.request, now) and waiter is not None and not waiter.done():
                    waiter.set_result(_EXPIRED)

    def stream(
        self,
        service: str,
        request: Mapping[str, Any],
        *,
        flow: str | None = None,
        workspace: str | None = None,
        check: bool = True,
    ) -> _Request:
        """An async iterator over each ``response`` of one request, until the completion rule ends it.

        The request is sent when iteration starts. Errors in any of the gateway's forms raise;
        the timeout restarts at every frame. With ``check=False`` a ``response.error`` frame is
        yielded (it still ends the stream) so the caller can read the rest of it; top-level
        errors always raise. ``aclose()`` abandons the request and frees its slot.
        """
        return _Request(self, service, request, flow, workspace or self.workspace, check)

    async def request(
        self, service: str, request: Mapping[str, Any], *, flow: str | None = None, workspace: str | None = None
    ) -> list[Mapping[str, Any]]:
        """All responses of one request, collected."""
        return [r async for r in self.stream(service, request, flow=flow, workspace=workspace)]

    async def aclose(self) -> None:
        """Close the socket and wait for the reader: open requests fail, naming the close."""
        self._closing = True
        for channel in list(self._channels.values()):
            channel.release()  # a reader held by a slow consumer must see the close
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader  # it ends once the socket is closed, reporting to open requests
        for task in (self._watchdog, self._sender, self._probe):
            if task is not None:
                task.cancel()
        self._ws = None
        self._reader = None
        self._watchdog = None
        self._sender = None
        self._probe = None

    def discard(self) -> None:
        """Close without awaiting: the socket is cut and its tasks cancelled, nothing waited for.

        For a client nobody will close (its owner was garbage-collected on the client's own loop,
        or its loop no longer runs). On a closed loop the tasks ended with it, and this only
        forgets them.
        """
        self._closing = True
        ws, tasks = self._ws, (self._reader, self._watchdog, self._sender, self._probe)
        self._ws = self._reader = self._watchdog = self._sender = self._probe = None
        with contextlib.suppress(RuntimeError):  # a closed loop takes no more callbacks
            if ws is not None:
                ws.transport.abort()
            for task in tasks:
                if task is not None:
                    task.cancel()
