"""Stalls end: a gateway that stops answering at the handshake, or stops sending (or answering
pings) mid-read, makes every read path raise ``GatewayTimeoutError`` within 1.5x ``timeout``
of the stall's onset: the tail, the triples query, core reads, ``export_core``,
``import_core``, REST calls and the socket (mux), which then reconnects.

Elapsed times are the acceptance criterion itself, measured from the moment the proxy stalls.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import tg_connect
from tg_connect import GatewayTimeoutError

from ..flow.scripted import Hang, ScriptedGateway, frames
from . import FaultProxy
from .read_helpers import (
    core_body,
    handshake_bytes,
    in_thread,
    load,
    mux_auth_bytes,
    timed_from_fault,
    triples,
    wait_until,
)

T = 2.0  # the timeout under test
LIMIT = 1.5 * T


@pytest.fixture(scope="module")
def stored(local_gateway: tg_connect.LocalGateway) -> tuple[str, str]:
    """20,000 triples stored (about 2 MB from a query) and kept as a knowledge core: the core id
    and the run's predicate."""
    tag = f"stall-{time.monotonic_ns()}"
    load(local_gateway, triples(20_000, tag), batch_size=1000, document_id=tag)
    return tag, f"http://example.org/{tag}/p"


def expect_timeout(outcome: Any, elapsed: float) -> GatewayTimeoutError:
    error = outcome.error
    assert isinstance(error, GatewayTimeoutError), repr(error)
    assert isinstance(error, TimeoutError)
    assert elapsed < LIMIT, f"raised {elapsed:.2f} s after the stall (timeout {T} s)"
    return error


def rest_call(url: str) -> Any:
    with tg_connect.Api(url, timeout=T) as api:
        return api.flow().list()


def mux_call(url: str) -> Any:
    with tg_connect.Api(url, timeout=T) as api:
        return api.socket().list()


def read_paths(url: str, core_id: str, predicate: str, tmp_path: Path) -> dict[str, Callable[[], Any]]:
    return {
        "tail": lambda: tg_connect.read_trustgraph("triples", url=url, source="tail", idle_timeout=30, timeout=T),
        "query": lambda: tg_connect.read_trustgraph("triples", url=url, p=predicate, timeout=T),
        "core read": lambda: tg_connect.read_trustgraph("triples", url=url, source="core", core_id=core_id, timeout=T),
        "export_core": lambda: tg_connect.export_core(core_id, tmp_path / "core.msgpack", url=url, timeout=T),
        "import_core": lambda: tg_connect.import_core("copy", url=url, triples=triples(10, "x"), timeout=T),
        "REST call": lambda: rest_call(url),
        "mux call": lambda: mux_call(url),
    }


PATHS = ["tail", "query", "core read", "export_core", "import_core", "REST call", "mux call"]


@pytest.mark.parametrize("path", PATHS)
def test_a_stall_at_the_handshake_raises_within_the_timeout(
    local_gateway: tg_connect.LocalGateway, stored: tuple[str, str], tmp_path: Path, path: str
) -> None:
    """TCP accepted, nothing ever answered (sock_connect alone would not notice)."""
    with FaultProxy(local_gateway.url, stall_handshake=True) as proxy:
        outcome, elapsed = timed_from_fault(proxy, read_paths(proxy.url, *stored, tmp_path)[path])
    expect_timeout(outcome, elapsed)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", ["query", "mux call"])
def test_a_stall_before_the_auth_reply_raises_within_the_timeout(
    local_gateway: tg_connect.LocalGateway, stored: tuple[str, str], tmp_path: Path, path: str
) -> None:
    """The handshake passes, the auth reply never comes: one deadline covers both."""
    hello = handshake_bytes(local_gateway.url, "/api/v1/socket")
    with FaultProxy(local_gateway.url, stall_after=hello, direction="down") as proxy:
        outcome, elapsed = timed_from_fault(proxy, read_paths(proxy.url, *stored, tmp_path)[path])
    error = expect_timeout(outcome, elapsed)
    assert "auth" in str(error)


@pytest.mark.parametrize("path", ["query", "core read", "export_core"])
def test_a_stall_mid_read_raises_within_the_timeout(
    local_gateway: tg_connect.LocalGateway, stored: tuple[str, str], tmp_path: Path, path: str
) -> None:
    """500 kB of a 2 MB answer arrive, then nothing (the gateway stops sending)."""
    dest = tmp_path / "core.msgpack"
    dest.write_bytes(b"previous")
    with FaultProxy(local_gateway.url, stall_after=500_000, direction="down") as proxy:
        outcome, elapsed = timed_from_fault(proxy, read_paths(proxy.url, *stored, tmp_path)[path])
    error = expect_timeout(outcome, elapsed)
    if path != "export_core":
        assert error.rows_read is not None and 0 < error.rows_read < 20_000
        assert error.partial is not None and error.partial.num_rows == error.rows_read
    assert dest.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["core.msgpack"]


def test_a_rest_reply_stalled_in_its_headers_raises_within_the_timeout(local_gateway: tg_connect.LocalGateway) -> None:
    with FaultProxy(local_gateway.url, stall_after=40, direction="down") as proxy:
        outcome, elapsed = timed_from_fault(proxy, lambda: rest_call(proxy.url))
    expect_timeout(outcome, elapsed)


def test_an_import_core_the_gateway_stops_reading_raises_within_the_timeout(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path
) -> None:
    """The gateway stops reading 100 kB into a 300 kB body (the rest fits the socket buffers):
    no answer comes, and the upload raises within the timeout of the stall."""
    item, _ = core_body("small", 1, 1000)
    source = tmp_path / "small.msgpack"
    source.write_bytes(item * 3)
    with FaultProxy(local_gateway.url, stall_after=100_000, direction="up") as proxy:
        outcome, elapsed = timed_from_fault(
            proxy, lambda: tg_connect.import_core("small-copy", source, url=proxy.url, timeout=T)
        )
    error = expect_timeout(outcome, elapsed)
    assert "small-copy" in str(error)


def test_an_upload_blocked_by_a_gateway_that_stops_reading_raises_within_the_timeout(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path
) -> None:
    """40 MB, far more than the socket buffers take, so the upload itself blocks. The kernel
    keeps taking bytes for a while after the proxy stops reading, so the stall's onset, as the
    client sees it, is when it last took a chunk: the source is a pipe whose writer notes when
    each chunk was taken (the client reads the next chunk once the previous one was written)."""
    item, _ = core_body("big", 1, 1000)
    fifo = tmp_path / "big.msgpack"
    os.mkfifo(fifo)
    taken: list[float] = []

    def feed() -> None:
        try:
            with open(fifo, "wb", buffering=0) as pipe:
                for _ in range(400):
                    for start in range(0, len(item), 65536):
                        chunk = item[start : start + 65536]
                        if pipe.write(chunk) != len(chunk):
                            return  # cut short: the reader closed the pipe
                        taken.append(time.monotonic())
        except BrokenPipeError:
            pass  # the import gave up and closed the file

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    with FaultProxy(local_gateway.url, stall_after=1_000_000, direction="up") as proxy:
        with pytest.raises(GatewayTimeoutError, match="big-copy"):
            tg_connect.import_core("big-copy", fifo, url=proxy.url, timeout=T)
        ended = time.monotonic()
        assert proxy.stats.bytes_up < len(item) * 400
    feeder.join(10)
    assert not feeder.is_alive()  # the import closed its source when it failed
    assert ended - taken[-1] < LIMIT, f"raised {ended - taken[-1]:.2f} s after the last chunk was taken"


def test_a_tail_whose_gateway_stops_mid_stream_raises_within_the_timeout(
    local_gateway: tg_connect.LocalGateway, run_id: str
) -> None:
    table = triples(20_000, run_id)
    with FaultProxy(local_gateway.url, stall_after=300_000, direction="down") as proxy:

        def start_load() -> None:
            while proxy.stats.bytes_down == 0:  # the tail's handshake is through: the tap is subscribed
                time.sleep(0.005)
            load(local_gateway, table, batch_size=500)

        loader = threading.Thread(target=start_load)
        loader.start()
        outcome, elapsed = timed_from_fault(
            proxy,
            lambda: tg_connect.read_trustgraph("triples", url=proxy.url, source="tail", max_rows=10**9, timeout=T),
        )
        loader.join(60)
    error = expect_timeout(outcome, elapsed)
    assert "stopped answering pings" in str(error)
    assert error.rows_read is not None and 0 < error.rows_read < table.num_rows
    assert error.partial is not None and error.partial.num_rows == error.rows_read


@pytest.mark.parametrize("idle_timeout", [30.0, 1.0])
def test_a_tail_waiting_for_data_notices_a_dead_gateway(
    local_gateway: tg_connect.LocalGateway, idle_timeout: float
) -> None:
    """Pongs stop coming while the tail waits: a timeout error, not a normal (idle) end, even
    when ``idle_timeout`` is longer than ``timeout`` or shorter."""
    hello = handshake_bytes(local_gateway.url)
    with FaultProxy(local_gateway.url, stall_after=hello, direction="down") as proxy:
        started = time.monotonic()
        with pytest.raises(GatewayTimeoutError, match="stopped answering pings"):
            tg_connect.read_trustgraph("triples", url=proxy.url, source="tail", idle_timeout=idle_timeout, timeout=T)
        assert time.monotonic() - started < max(LIMIT, idle_timeout + T / 2 + 0.5)


def test_an_idle_tail_on_a_live_gateway_keeps_waiting(local_gateway: tg_connect.LocalGateway, run_id: str) -> None:
    """No idle_timeout: a socket that answers pings may stay silent far longer than timeout."""
    table = triples(10, run_id)

    def later() -> None:
        time.sleep(4 * 0.5)
        load(local_gateway, table)

    threading.Thread(target=later).start()
    got = tg_connect.read_trustgraph("triples", url=local_gateway.url, source="tail", max_rows=10, timeout=0.5)
    assert sorted(got["s"]) == sorted(table.column("s").to_pylist())
    # and with idle_timeout it ends normally, empty, once nothing came for that long
    started = time.monotonic()
    got = tg_connect.read_trustgraph("triples", url=local_gateway.url, source="tail", idle_timeout=1.0, timeout=T)
    assert len(got) == 0 and 1.0 <= time.monotonic() - started < 1.0 + T


@pytest.mark.parametrize("face", ["sync", "async"])
def test_a_stalled_mux_socket_is_dropped_and_the_next_call_reconnects(
    local_gateway: tg_connect.LocalGateway, face: str
) -> None:
    """The socket authenticates, then the gateway stops sending on it (first connection only)."""
    ready = mux_auth_bytes(local_gateway.url)
    with FaultProxy(local_gateway.url, stall_after=ready, direction="down", faulty_connections=1) as proxy:
        api = tg_connect.Api(proxy.url, timeout=T)
        if face == "sync":
            outcome, elapsed = timed_from_fault(proxy, lambda: api.socket().list())
            expect_timeout(outcome, elapsed)
            assert api.socket().list() == ["default"]  # on a new socket
        else:
            import asyncio

            async def twice() -> tuple[float, list[str]]:
                flows = api.async_socket()
                started = time.monotonic()
                with pytest.raises(GatewayTimeoutError):
                    await flows.list()
                took = time.monotonic() - started
                return took, await flows.list()

            took, again = asyncio.run(twice())
            assert took < LIMIT and again == ["default"]
        api.close()
        assert proxy.stats.connections == 2 and proxy.stats.faults == 1


@pytest.fixture
def scripted() -> Iterator[ScriptedGateway]:
    gw = ScriptedGateway().start()
    try:
        yield gw
    finally:
        gw.stop()


def test_a_slow_request_on_a_live_socket_keeps_the_socket(scripted: ScriptedGateway) -> None:
    """A request times out but the socket answers pings: only that request failed, and the
    next one goes on the same socket."""
    scripted.scripts["text-completion"] = [Hang()]
    scripted.scripts["flow"] = frames({"flow-ids": ["default"]})
    with tg_connect.Api(scripted.url, token="tg_good", timeout=1.0) as api:
        started = time.monotonic()
        with pytest.raises(GatewayTimeoutError, match="text-completion"):
            api.socket().flow("default").text_completion("", "x")
        assert time.monotonic() - started < 1.5
        assert api.socket().list() == ["default"]
        assert scripted.sockets_opened == 1


def test_a_slow_consumer_is_not_a_stall(local_gateway: tg_connect.LocalGateway, stored: tuple[str, str]) -> None:
    """Reading a query, then pausing for longer than timeout between batches (the socket is
    not read meanwhile, pongs included): no timeout, every row arrives."""
    _, predicate = stored
    reader = tg_connect.read_batches("triples", local_gateway.url, p=predicate, timeout=1.0, batch_size=500)
    rows = 0
    for i, batch in enumerate(reader):
        rows += batch.num_rows
        if i == 0:
            time.sleep(2.5)
    assert rows == 20_000
    with FaultProxy(local_gateway.url) as proxy:  # passes everything; shows when the tail is connected
        tail = in_thread(
            lambda: sum(
                b.num_rows
                for b in _slow(tg_connect.read_batches("triples", proxy.url, source="tail", max_rows=2000, timeout=1.0))
            )
        )
        wait_until(lambda: proxy.stats.bytes_down > 0)
        load(local_gateway, triples(2000, "slow"), batch_size=100)
        tail.join()
    assert tail.error is None and tail.result == 2000


def _slow(batches: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    for i, batch in enumerate(batches):
        if i == 0:
            time.sleep(2.5)
        yield batch
