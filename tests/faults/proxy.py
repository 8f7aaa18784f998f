"""A TCP proxy that injects faults between a client and a gateway, for the fault tests.

It runs its own event loop on a background thread, so sync tests drive it. Each accepted
connection is forwarded to the upstream host and port byte for byte until a rule fires:

* ``cut_after=N``: after N bytes in ``direction``, both sides are dropped (RST-like: the
  sockets are aborted, so nothing still buffered in the proxy is delivered);
* ``stall_after=N``: after N bytes in ``direction``, the proxy stops reading from that side
  and stops forwarding; the connection stays open, silent, until the proxy is closed;
* ``stall_handshake=True``: the TCP connection is accepted and nothing is ever forwarded.

Rules apply to connections whose first bytes (the HTTP request line) contain ``only``
(default: every connection; ``only=b"/import/"`` picks the import sockets and leaves REST
calls alone), and to the first ``faulty_connections`` of those (default: all), so a client
that reconnects can be let through afterwards. ``direction`` is ``"up"`` (client to
gateway, where imports flow) or ``"down"`` (gateway to client, where reads flow).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

Direction = Literal["up", "down"]
_CHUNK = 64 * 1024


@dataclass
class Rule:
    """What to do to a connection."""

    cut_after: int | None = None
    stall_after: int | None = None
    stall_handshake: bool = False
    direction: Direction = "up"


@dataclass
class Stats:
    """What the proxy saw: connections accepted and bytes forwarded in each direction."""

    connections: int = 0
    faults: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    events: list[str] = field(default_factory=list)
    fault_at: float | None = None  # time.monotonic() when the first fault fired
    last_down_at: float | None = None  # time.monotonic() of the last bytes forwarded to the client


@dataclass
class _Link:
    """One proxied connection: its number, its rule, and the writers of both sides."""

    number: int
    rule: Rule
    client_writer: asyncio.StreamWriter
    up_writer: asyncio.StreamWriter
    done: asyncio.Event = field(default_factory=asyncio.Event)  # set when the connection was cut

    def abort_both(self) -> None:
        self.client_writer.transport.abort()
        self.up_writer.transport.abort()
        self.done.set()

    def close_both(self) -> None:
        for w in (self.client_writer, self.up_writer):
            if not w.is_closing():
                w.close()


class FaultProxy:
    """``with FaultProxy(gateway_url, cut_after=...) as proxy: ... proxy.url ...``"""

    def __init__(
        self,
        upstream_url: str,
        *,
        cut_after: int | None = None,
        stall_after: int | None = None,
        stall_handshake: bool = False,
        direction: Direction = "up",
        faulty_connections: int | None = None,
        only: bytes | None = None,
    ) -> None:
        parts = urlsplit(upstream_url)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.rule = Rule(cut_after, stall_after, stall_handshake, direction)
        self.faulty_connections = faulty_connections
        self.only = only
        self.matched = 0  # connections that matched ``only``
        self.stats = Stats()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fault-proxy")
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_rule(self, rule: Rule, faulty_connections: int | None = None) -> None:
        """Change the rule for connections accepted from now on."""
        self.rule = rule
        self.faulty_connections = None if faulty_connections is None else self.matched + faulty_connections

    def start(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        # End every connection's tasks (stalled pumps wait forever) while the loop still runs:
        # left pending, they would be destroyed with the loop, and their cleanup would then
        # raise "Event loop is closed" as an unraisable exception inside some later test.
        me = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not me]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        number = self.stats.connections
        self._writers.add(client_writer)
        first = b""
        if self.only is not None:  # the rule depends on the request line: read it first
            try:
                first = await client_reader.readuntil(b"\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                client_writer.transport.abort()
                return
        rule = self._rule_for(first)
        if rule.stall_handshake:
            self._fault()
            self.stats.events.append(f"connection {number}: stalled at the handshake")
            return  # accepted, never answered; aborted when the proxy closes
        try:
            up_reader, up_writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.add(up_writer)
        if first:
            up_writer.write(first)
        link = _Link(number, rule, client_writer, up_writer)
        tasks = [
            asyncio.ensure_future(self._pump(link, client_reader, up_writer, "up", len(first))),
            asyncio.ensure_future(self._pump(link, up_reader, client_writer, "down", 0)),
        ]
        await self._run(link, tasks)

    def _rule_for(self, first: bytes) -> Rule:
        """The rule for a new connection whose request line is ``first``: the proxy's, while it
        matches ``only`` and is within the first ``faulty_connections``; else none."""
        matches = self.only is None or self.only in first
        if matches:
            self.matched += 1
        faulty = matches and (self.faulty_connections is None or self.matched <= self.faulty_connections)
        return self.rule if faulty else Rule()

    async def _pump(
        self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: Direction, seen: int
    ) -> None:
        """Forward one direction until EOF, a connection error (both sides aborted), or the rule fires."""
        limits = (
            [(link.rule.cut_after, "cut"), (link.rule.stall_after, "stall")] if link.rule.direction == direction else []
        )
        try:
            while True:
                data = await reader.read(_CHUNK)
                if not data:
                    writer.write_eof() if writer.can_write_eof() else None
                    return
                for limit, action in limits:
                    if limit is not None and seen + len(data) >= limit:
                        await self._fire(link, writer, direction, data[: max(0, limit - seen)], limit, action)
                        return
                writer.write(data)
                await writer.drain()
                seen += len(data)
                self._count(direction, len(data))
        except (ConnectionError, OSError):
            link.abort_both()

    async def _fire(
        self, link: _Link, writer: asyncio.StreamWriter, direction: Direction, head: bytes, limit: int, action: str
    ) -> None:
        """Forward ``head`` (the bytes up to the limit), then cut or stall the connection."""
        if head:
            writer.write(head)
            await writer.drain()
        self._count(direction, len(head))
        self._fault()
        self.stats.events.append(f"connection {link.number}: {action} {direction} after {limit} bytes")
        if action == "cut":
            link.abort_both()
        else:
            await asyncio.Event().wait()  # stop reading and forwarding, forever

    async def _run(self, link: _Link, tasks: list[asyncio.Task[None]]) -> None:
        """Wait for both pumps to end, or for a cut; then end the other pump and close the sockets."""
        ended = asyncio.ensure_future(link.done.wait())
        try:
            try:
                await asyncio.wait([*tasks, ended], return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:  # the proxy is closing
                return
            if link.done.is_set():
                for task in tasks:
                    task.cancel()
            else:
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            ended.cancel()
            for task in tasks:
                task.cancel()
            if link.done.is_set() or all(t.done() for t in tasks):
                link.close_both()
            self._writers.discard(link.client_writer)
            self._writers.discard(link.up_writer)

    def _fault(self) -> None:
        self.stats.faults += 1
        if self.stats.fault_at is None:
            self.stats.fault_at = time.monotonic()

    def _count(self, direction: Direction, n: int) -> None:
        if direction == "up":
            self.stats.bytes_up += n
        else:
            self.stats.bytes_down += n
            if n:
                self.stats.last_down_at = time.monotonic()
