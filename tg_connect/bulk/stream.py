"""One import socket that knows what was delivered: the send and confirm stages of a load.

The gateway's import sockets never answer a message, and a ``send()`` that returned only
means the bytes reached a buffer. What the gateway does give: it reads one frame, hands it
to its broker, then reads the next, and answers a WebSocket PING inside that same read loop
(aiohttp's autoping), so a PONG proves that every frame written before its PING was taken
in. The close handshake proves the same for the whole socket. So a stream pings after every
few messages (by count and by bytes), keeps the messages written since the last answered
PING in a bounded window, and reports a message delivered only when a later PONG or the
clean close has been seen (docs/reliability.md).

When the connection drops, the stream reconnects with backoff and writes its window again
(at-least-once: those messages may have arrived before the cut). A gateway that stops
reading, answering pings or closing raises :class:`~tg_connect.errors.GatewayTimeoutError`
within about ``timeout`` seconds instead: retrying a stalled gateway would only wait again.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn, TypeVar

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from ..errors import GatewayConnectionError, GatewayTimeoutError
from ..protocol.endpoints import redact
from ..transport.connect import open_websocket
from .frames import Frame

log = logging.getLogger(__name__)
T = TypeVar("T")

# Close codes after which writing the window again cannot help: the gateway refused a
# message (1000 is what the 2.11 gateway sends when it cannot decode one, 1009 a message over
# its 50 MiB frame limit) or the endpoint itself (1002, 1003, 1007, 1008).
_FINAL_CLOSE_CODES = frozenset({1000, 1002, 1003, 1007, 1008, 1009})


@dataclass(frozen=True)
class DeliveryPolicy:
    """How a stream confirms and recovers.

    ``ping_every_messages`` / ``ping_every_bytes``: a PING after this many messages or bytes,
    whichever comes first. ``window_bytes``: messages written but not yet confirmed, at most
    (the sender waits for a PONG beyond it; a single larger message still goes); it is also
    what a reconnect writes again. ``retries``: reconnects in a row without a confirmed
    message before the load fails; ``backoff`` the first wait between them (doubling, at most
    ``max_backoff``, with jitter).
    """

    ping_every_messages: int = 16
    ping_every_bytes: int = 512 * 1024
    window_bytes: int = 4 * 1024 * 1024
    retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 8.0


@dataclass(eq=False, slots=True)
class Outgoing:
    """One import message on its way: its frame, its number in the load, its checkpoint id,
    how often it was written, and its place on the stream that carries it.

    A message cut into smaller ones by the pace stage has ``parts_left`` (those not yet
    delivered); each part has the message as ``parent`` and its place in it as ``part``.
    """

    seq: int
    frame: Frame
    batch_id: str | None
    writes: int = 0
    ordinal: int = -1
    parent: Outgoing | None = None
    part: int = -1
    parts_left: int = 0

    @property
    def size(self) -> int:
        return len(self.frame.data)

    @property
    def key(self) -> tuple[int, int]:
        """Unique in a load: (message number, part number or -1)."""
        return (self.parent.seq if self.parent is not None else self.seq), self.part


class ConnectionLost(Exception):
    """A connection dropped in a way that writing the window again may mend."""


Confirmed = Callable[[list[Outgoing]], None]


class _Watchdog:
    """Aborts the connection when one step (a write, a wait for a PONG, the close) outlasts
    ``timeout``. One task per connection checks a timestamp, so a message costs no timer."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.step: str | None = None
        self.started = 0.0
        self.expired: str | None = None
        self._task: asyncio.Task[None] | None = None

    def watch(self, ws: ClientConnection) -> None:
        self.expired = None
        self._task = asyncio.ensure_future(self._run(ws))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self, ws: ClientConnection) -> None:
        loop = asyncio.get_running_loop()
        tick = min(max(self.timeout / 8, 0.01), 1.0)
        while True:
            await asyncio.sleep(tick)
            if self.step is not None and loop.time() - self.started > self.timeout:
                self.expired = self.step
                ws.transport.abort()
                return

    async def guard(self, step: str, awaitable: Awaitable[T]) -> T:
        self.step, self.started = step, asyncio.get_running_loop().time()
        try:
            return await awaitable
        finally:
            self.step = None


class ImportStream:
    """One import socket with a window of unconfirmed messages (see the module docstring).

    ``on_delivered`` is called, in order, with the messages each PONG (or the close)
    confirms; ``on_resend`` at each reconnect, with the messages it writes again. Both run on
    the event loop.
    """

    def __init__(
        self,
        url: str,
        *,
        verify: bool,
        timeout: float,
        compression: str | None,
        policy: DeliveryPolicy,
        on_delivered: Confirmed,
        on_resend: Confirmed,
        opener: Callable[..., Awaitable[ClientConnection]] = open_websocket,
    ) -> None:
        self.url = url
        self.endpoint = redact(url)
        self.verify = verify
        self.timeout = timeout
        self.compression = compression
        self.policy = policy
        self._on_delivered = on_delivered
        self._on_resend = on_resend
        self._open = opener
        self._ws: ClientConnection | None = None
        self._watchdog = _Watchdog(timeout)
        self._window: collections.deque[Outgoing] = collections.deque()
        self._window_bytes = 0
        self._pongs: collections.deque[asyncio.Future[float]] = collections.deque()
        self._next_ordinal = 0
        self._pinged_upto = 0  # ordinals below this are covered by a PING already sent
        self._since_ping_messages = 0
        self._since_ping_bytes = 0
        self._failures = 0  # reconnects in a row without a confirmed message
        self._connections = 0

    @property
    def unconfirmed(self) -> list[Outgoing]:
        """Messages written (or being written) and not yet confirmed, in order."""
        return list(self._window)

    # -- the two stages -------------------------------------------------------------------

    async def send(self, item: Outgoing) -> None:
        """Write ``item`` (reconnecting as needed) and keep the window within its bound."""
        item.ordinal = self._next_ordinal
        self._next_ordinal += 1
        self._window.append(item)
        self._window_bytes += item.size
        while True:
            try:
                if self._ws is None:
                    await self._connect()  # writes the whole window, this item included
                else:
                    await self._write(item)
                await self._keep_window()
                return
            except ConnectionLost as exc:
                await self._recover(exc)

    async def flush(self) -> None:
        """Wait until every message written so far is confirmed (reconnecting as needed).

        The send stage calls this before it waits on something that only confirmed messages
        can bring (the stores' progress is matched against delivered messages): otherwise the
        last messages would wait for the next 16th message's PING, and a cut after them would
        go unnoticed until the next write.
        """
        while self._window:
            try:
                if self._ws is None:
                    await self._connect()  # writes the window again and PINGs after it
                elif self._window[-1].ordinal >= self._pinged_upto:
                    await self._ping()
                    continue
                last = self._pongs[-1] if self._pongs else None
                if last is None:  # no PING in flight (none answered yet): ask again
                    await self._ping()
                    continue
                try:
                    await self._watchdog.guard("pong", asyncio.shield(last))
                except asyncio.CancelledError:
                    if not last.cancelled():
                        raise  # this task was cancelled, not the PING
                    self._lost(ConnectionAbortedError("the PING was abandoned"))
                except (ConnectionClosed, OSError) as exc:
                    self._lost(exc)
                await asyncio.sleep(0)  # the PONG's confirmation runs as a callback
            except ConnectionLost as exc:
                await self._recover(exc)

    async def finish(self) -> None:
        """Close; the clean close handshake confirms every message still in the window."""
        while True:
            try:
                if self._ws is None:
                    if not self._window:
                        return
                    await self._connect()
                await self._close()
                return
            except ConnectionLost as exc:
                await self._recover(exc)

    async def abort(self) -> None:
        """Drop the connection without a handshake (the load failed, or this stream did)."""
        ws, self._ws = self._ws, None
        self._watchdog.stop()
        if ws is not None:
            ws.transport.abort()
        for waiter in self._pongs:
            if not waiter.done():
                waiter.cancel()
        self._pongs.clear()

    # -- connection -----------------------------------------------------------------------

    async def _connect(self) -> None:
        try:
            ws = await self._open(
                self.url,
                verify=self.verify,
                timeout=self.timeout,
                compression=self.compression,
                ping_interval=None,
                close_timeout=self.timeout,
            )
        except GatewayConnectionError as exc:
            # Refused at the handshake (an HTTP status) is final; no connection at all may be
            # a gateway restarting, so it is retried.
            if isinstance(exc.__context__, OSError):
                raise ConnectionLost(str(exc)) from None
            raise
        self._ws = ws
        self._watchdog.watch(ws)
        self._pinged_upto = self._window[0].ordinal if self._window else self._next_ordinal
        if self._connections:
            self._on_resend([item for item in self._window if item.writes])
        self._connections += 1
        for item in list(self._window):
            await self._write(item)
        if self._window:
            await self._ping()

    async def _write(self, item: Outgoing) -> None:
        ws = self._ws
        assert ws is not None
        item.writes += 1
        try:
            await self._watchdog.guard("write", ws.send(item.frame.data, text=True))
        except ConnectionClosed as exc:
            self._lost(exc)
        except OSError as exc:
            self._lost(exc)
        self._since_ping_messages += 1
        self._since_ping_bytes += item.size
        if (
            self._since_ping_messages >= self.policy.ping_every_messages
            or self._since_ping_bytes >= self.policy.ping_every_bytes
        ):
            await self._ping()

    async def _ping(self) -> None:
        """Ask for a PONG covering every message written so far on this connection."""
        ws = self._ws
        if ws is None or not self._window:
            return
        upto = self._window[-1].ordinal + 1
        self._since_ping_messages = self._since_ping_bytes = 0
        try:
            pong = await self._watchdog.guard("ping", ws.ping())
        except (ConnectionClosed, OSError) as exc:
            self._lost(exc)
        waiter: asyncio.Future[float] = asyncio.ensure_future(pong)
        self._pinged_upto = upto
        self._pongs.append(waiter)
        waiter.add_done_callback(lambda answered: self._confirm(answered, upto))

    def _confirm(self, pong: asyncio.Future[float], upto: int) -> None:
        """A PONG arrived: every message written before its PING is delivered."""
        if pong.cancelled() or pong.exception() is not None:
            return
        done: list[Outgoing] = []
        while self._window and self._window[0].ordinal < upto:
            item = self._window.popleft()
            self._window_bytes -= item.size
            done.append(item)
        while self._pongs and self._pongs[0].done():
            self._pongs.popleft()
        if done:
            self._failures = 0
            self._on_delivered(done)

    async def _keep_window(self) -> None:
        """Wait for PONGs while the window is over its bound."""
        while self._window and self._window_bytes > self.policy.window_bytes:
            waiting = next((f for f in self._pongs if not f.done()), None)
            if waiting is None or self._window[-1].ordinal >= self._pinged_upto:
                # Nothing to wait for, or what is over the bound is not covered yet: a PING
                # (which also finds out at once if the connection is gone).
                await self._ping()
                continue
            try:
                await self._watchdog.guard("pong", asyncio.shield(waiting))
            except (ConnectionClosed, OSError) as exc:
                self._lost(exc)

    async def _close(self) -> None:
        ws = self._ws
        assert ws is not None
        await self._watchdog.guard("close", ws.close())
        self._watchdog.stop()
        if self._watchdog.expired is not None:
            self._lost(ConnectionAbortedError("stalled"))
        protocol = ws.protocol
        rcvd = protocol.close_rcvd
        if rcvd is None or protocol.close_sent is None:
            self._lost(ConnectionAbortedError("the connection dropped during the close handshake"))
        if not protocol.close_rcvd_then_sent and rcvd.code != 1000:
            self._closed_by_gateway(rcvd.code, rcvd.reason)  # it closed first: nothing is proven
        self._ws = None
        done = list(self._window)
        self._window.clear()
        self._window_bytes = 0
        self._pongs.clear()
        if done:
            self._failures = 0
            self._on_delivered(done)

    # -- failures -------------------------------------------------------------------------

    def _lost(self, exc: BaseException) -> NoReturn:
        """Raise what the end of the connection means: a stall, a refusal, or a mendable cut."""
        self._ws = None
        self._watchdog.stop()
        stalled = self._watchdog.expired
        if stalled is not None:
            what = {
                "write": "the gateway stopped reading: a message could not be written",
                "ping": "the gateway stopped reading: a ping could not be written",
                "pong": "no answer to a ping (the gateway stopped taking messages in)",
                "close": "the close handshake did not complete",
            }[stalled]
            raise GatewayTimeoutError(f"{self.endpoint}: {what} within {self.timeout:g} s") from None
        rcvd = getattr(exc, "rcvd", None)
        if rcvd is not None:
            self._closed_by_gateway(rcvd.code, rcvd.reason)
        raise ConnectionLost(f"the connection was cut ({exc})")

    def _closed_by_gateway(self, code: int, reason: str) -> NoReturn:
        self._ws = None
        said = f" {reason!r}" if reason else ""
        if code == 1009:
            raise GatewayConnectionError(
                f"{self.endpoint}: the gateway refused a message as too large (close code 1009{said}); its"
                " limit is 50 MiB a message: lower max_batch_bytes or batch_size"
            )
        if code == 1000:
            raise GatewayConnectionError(
                f"{self.endpoint}: the gateway closed the import socket (close code 1000{said}); the 2.11"
                " gateway does this when it cannot decode a message, or when the flow has no such interface"
            )
        if code in _FINAL_CLOSE_CODES:
            raise GatewayConnectionError(
                f"{self.endpoint}: the gateway closed the import socket (close code {code}{said})"
            )
        raise ConnectionLost(f"the gateway closed the connection (close code {code}{said})")

    async def _recover(self, exc: ConnectionLost) -> None:
        """Back off before the next attempt reconnects, or raise once the retries are spent."""
        await self.abort()
        self._failures += 1
        if self._failures > self.policy.retries:
            tried = f" after {self.policy.retries} reconnects" if self.policy.retries else " (retries=0)"
            raise GatewayConnectionError(f"{self.endpoint}: {exc}{tried}") from None
        delay = min(self.policy.backoff * 2 ** (self._failures - 1), self.policy.max_backoff)
        delay *= 0.5 + random.random() / 2  # spreads the reconnects of concurrent streams
        log.warning(
            "%s: %s; reconnecting in %.1f s (attempt %d of %d)",
            self.endpoint,
            exc,
            delay,
            self._failures,
            self.policy.retries,
        )
        await asyncio.sleep(delay)
