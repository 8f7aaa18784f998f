"""Helpers for the read-side fault tests: data to load, a tail run in a thread, byte counts of
handshakes (to stall right after them), a tiny server for hand-made core bodies, the CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from aiohttp import web

import tg_connect
from tg_connect.protocol import cores
from tg_connect.transport.connect import open_websocket
from tg_connect.transport.mux_client import open_authenticated

from . import FaultProxy


def triples(n: int, tag: str) -> pa.Table:
    """``n`` distinct plain triples whose predicate carries ``tag`` (to tell runs apart)."""
    return pa.table(
        {
            "s": [f"http://example.org/{tag}/s{i}" for i in range(n)],
            "p": [f"http://example.org/{tag}/p"] * n,
            "o": [f"value {i}" for i in range(n)],
        }
    )


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


@dataclass
class Outcome:
    """What a call run in a thread returned or raised, and when it ended (time.monotonic())."""

    result: Any = None
    error: BaseException | None = None
    ended: float = 0.0
    thread: threading.Thread = field(default_factory=threading.Thread)

    def join(self, timeout: float = 60.0) -> Outcome:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the call did not end"
        return self


def in_thread(call: Callable[[], Any]) -> Outcome:
    """Start ``call`` in a thread (a tail waits for data the test then loads)."""
    outcome = Outcome()

    def run() -> None:
        try:
            outcome.result = call()
        except BaseException as exc:  # the test inspects it
            outcome.error = exc
        outcome.ended = time.monotonic()

    outcome.thread = threading.Thread(target=run, daemon=True)
    outcome.thread.start()
    return outcome


def handshake_bytes(gateway_url: str, path: str = "/api/v1/flow/default/export/triples") -> int:
    """Bytes the gateway sends to open the WebSocket at ``path`` (its HTTP 101 response),
    counted through a pass-through proxy: a proxy told to stall after that many lets the
    handshake through and nothing else (no auth reply, no frame, no pong)."""
    with FaultProxy(gateway_url) as proxy:

        async def run() -> int:
            ws = await open_websocket(f"ws://127.0.0.1:{proxy.port}{path}", timeout=10, ping_interval=None)
            await asyncio.sleep(0.2)  # let the proxy forward all the gateway sent
            count = proxy.stats.bytes_down
            await ws.close()
            return count

        return asyncio.run(run())


def timed_from_fault(proxy: FaultProxy, call: Callable[[], Any], limit: float = 60.0) -> tuple[Outcome, float]:
    """Run ``call`` in a thread; return its outcome and the seconds from the moment the proxy
    injected its fault (the stall's onset) to the moment the call ended."""
    outcome = in_thread(call)
    deadline = time.monotonic() + limit
    while proxy.stats.faults == 0 and outcome.thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.002)
    onset = time.monotonic()
    outcome.join(limit)
    assert proxy.stats.faults >= 1, "the fault never fired"
    return outcome, outcome.ended - onset


def mux_auth_bytes(gateway_url: str) -> int:
    """Bytes the gateway sends to open ``/api/v1/socket`` and answer the auth frame."""
    with FaultProxy(gateway_url) as proxy:

        async def run() -> int:
            ws, _ = await open_authenticated(
                f"ws://127.0.0.1:{proxy.port}/api/v1/socket", None, verify=True, timeout=10, ping_interval=None
            )
            await asyncio.sleep(0.2)
            count = proxy.stats.bytes_down
            await ws.close()
            return count

        return asyncio.run(run())


def core_body(core_id: str, items: int, rows_per_item: int) -> tuple[bytes, list[int]]:
    """A knowledge-core msgpack body of ``items`` triples items, and where each item ends."""
    body, ends = b"", []
    for i in range(items):
        wire = [
            {
                "s": {"t": "i", "i": f"http://example.org/s{i}-{j}"},
                "p": {"t": "i", "i": "http://example.org/p"},
                "o": {"t": "l", "v": f"v{j}"},
            }
            for j in range(rows_per_item)
        ]
        body += cores.triples_item(core_id, "default", wire)
        ends.append(len(body))
    return body, ends


class BodyServer:
    """A tiny HTTP server answering ``GET /api/v1/export-core`` with a fixed body (ending where
    the test says, e.g. inside an item): the body ends cleanly, with its Content-Length."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="body-server")
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _export(self, request: web.Request) -> web.Response:
        return web.Response(body=self.body, content_type="application/octet-stream")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v1/export-core", self._export)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def __enter__(self) -> BodyServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``tg-connect`` run as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "tg_connect", *args], capture_output=True, text=True, timeout=120, env={**os.environ}
    )


def load(gateway: tg_connect.LocalGateway, table: pa.Table, **options: Any) -> None:
    report = tg_connect.to_trustgraph(table, url=gateway.url, progress=False, **options)
    assert report.rows_sent == table.num_rows
