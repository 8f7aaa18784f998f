"""Loads under faults: cuts, kills and stalls between the client and a local gateway.

The gateway runs in a process of its own (``tg-connect serve``), and a TCP proxy of ours
(:mod:`tests.faults.proxy`) cuts or stalls the import sockets at chosen points. Every case
checks the claim the load makes against what the gateway stored: the rows a report (or a
checkpoint) calls delivered never exceed the rows stored, and after a rerun with the
checkpoint every row is stored, exactly once as a set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tg_connect
from tg_connect.errors import GatewayConnectionError, GatewayTimeoutError
from tg_connect.sample import sample_triples

from . import FaultProxy

ROWS = 200_000
BATCH = 1000


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """``tg-connect serve`` on a free port, in its own process."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tg_connect", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("tg-connect local gateway at "), first
        yield first.rsplit(" ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return sample_triples(ROWS)


@pytest.fixture(scope="module")
def parquet(table: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "in.parquet"
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="module")
def frame_bytes(served: str, table: pa.Table) -> int:
    """How many bytes one full load writes on its import socket (to place the cuts)."""
    report = tg_connect.to_trustgraph(table, url=served, collection="sizing", progress=False, batch_size=BATCH)
    assert report.ok and report.rows_delivered == ROWS
    return report.bytes_sent


_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"


def stored(url: str, collection: str) -> int:
    """Triples in the collection (a SPARQL count: reading 200,000 back would take 10x longer)."""
    result = tg_connect.Api(url).flow().id("default").sparql_query(_COUNT, collection=collection)
    term = result.bindings[0]["n"]
    assert term is not None
    return int(term.value)


def check_rerun(
    url: str,
    table: pa.Table,
    collection: str,
    ckpt: Path,
    delivered_before: int,
    gateway: str | None = None,
    concurrency: int = 1,
) -> None:
    """A rerun with the checkpoint skips only what was delivered, and then all is stored.

    (``url`` must be the one the checkpoint was written for: it names the job.) The pace stage
    may cut the first messages of a load into parts, and a message is recorded once all its
    parts are delivered: with a message partly delivered on each socket, the rerun sends those
    rows again (at-least-once), at most a message a socket."""
    again = tg_connect.to_trustgraph(
        table, url=url, collection=collection, progress=False, batch_size=BATCH, checkpoint=ckpt
    )
    assert again.ok, str(again)
    assert delivered_before - concurrency * BATCH < again.rows_skipped <= delivered_before
    assert again.rows_skipped + again.rows_delivered == ROWS
    assert stored(gateway or url, collection) == ROWS


CUTS = [0.0015, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 0.99]  # of the bytes a load writes


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("at", CUTS)
def test_a_cut_then_a_rerun(
    served: str, table: pa.Table, frame_bytes: int, tmp_path: Path, run_id: str, concurrency: int, at: float
) -> None:
    """retries=0: the cut fails the load; what it calls delivered is stored; the rerun
    completes it. With 4 sockets, one of them is cut (at that fraction of its share)."""
    collection = f"cut{run_id}"
    ckpt = tmp_path / "load.ckpt"
    cut = max(int(frame_bytes * at / concurrency), 2000)
    with FaultProxy(served, cut_after=cut, only=b"/import/", faulty_connections=1) as proxy:
        with pytest.raises(GatewayConnectionError) as raised:
            tg_connect.to_trustgraph(
                table,
                url=proxy.url,
                collection=collection,
                progress=False,
                batch_size=BATCH,
                concurrency=concurrency,
                retries=0,
                checkpoint=ckpt,
            )
        assert proxy.stats.faults == 1
        report = raised.value.report  # type: ignore[attr-defined]
        assert not report.ok and report.error
        have = stored(served, collection)
        assert report.rows_delivered <= have, str(report)
        undelivered = sum((ROWS - 1 if b is None else b) - a + 1 for a, b in report.unsent_ranges)
        assert report.rows_delivered + undelivered == ROWS, str(report)
        assert len(ckpt.read_text().splitlines()) - 1 <= report.batches  # delivered messages, no more
        check_rerun(proxy.url, table, collection, ckpt, report.rows_delivered, served, concurrency)


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("at", [0.0015, 0.5, 0.99])
def test_a_cut_is_mended_by_reconnecting(
    served: str, table: pa.Table, frame_bytes: int, run_id: str, concurrency: int, at: float
) -> None:
    """With retries (the default), a dropped socket is reconnected and its unconfirmed window
    sent again: the load succeeds, and says what it resent."""
    collection = f"mend{run_id}"
    cut = max(int(frame_bytes * at / concurrency), 2000)
    with FaultProxy(served, cut_after=cut, only=b"/import/", faulty_connections=1) as proxy:
        report = tg_connect.to_trustgraph(
            table, url=proxy.url, collection=collection, progress=False, batch_size=BATCH, concurrency=concurrency
        )
        assert proxy.stats.faults == 1
    assert report.ok and report.rows_delivered == ROWS, str(report)
    assert report.reconnects == 1 and report.rows_resent > 0  # the window at the cut went again
    assert stored(served, collection) == ROWS


def test_retries_are_bounded(served: str, table: pa.Table, run_id: str) -> None:
    """A socket cut every time it carries 1 MB fails after ``retries`` reconnects in a row
    without progress, with a report that still never overstates."""
    collection = f"bound{run_id}"
    with FaultProxy(served, cut_after=1500, only=b"/import/") as proxy:
        with pytest.raises(GatewayConnectionError, match="after 2 reconnects") as raised:
            tg_connect.to_trustgraph(
                table, url=proxy.url, collection=collection, progress=False, batch_size=BATCH, retries=2
            )
        assert proxy.stats.faults == 3
    report = raised.value.report  # type: ignore[attr-defined]
    assert report.rows_delivered == 0 and report.resume_from_row == 0
    assert stored(served, collection) == 0


KILL_POINTS = [10, 50, 100, 150, 190]  # delivered batches recorded when the client is killed


@pytest.mark.parametrize("after", KILL_POINTS)
def test_a_killed_client_then_a_rerun(served: str, parquet: Path, tmp_path: Path, run_id: str, after: int) -> None:
    """SIGKILL mid-load: the checkpoint lists only delivered batches (all stored), and the
    rerun completes the load."""
    path = parquet
    ckpt = tmp_path / "load.ckpt"
    collection = f"kill{run_id}"
    code = (
        "import tg_connect;"
        f"tg_connect.to_trustgraph({str(path)!r}, url={served!r}, collection={collection!r},"
        f" progress=False, batch_size={BATCH}, max_rows_per_second=40_000, checkpoint={str(ckpt)!r})"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if ckpt.exists() and len(ckpt.read_text().splitlines()) > after:
                break
            assert proc.poll() is None, "the load ended before it could be killed"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    recorded = len(ckpt.read_text().splitlines()) - 1
    assert after <= recorded < ROWS // BATCH
    have = stored(served, collection)
    again = tg_connect.to_trustgraph(
        path, url=served, collection=collection, progress=False, batch_size=BATCH, checkpoint=ckpt
    )
    assert again.ok, str(again)
    assert 0 < again.rows_skipped <= have  # the rows the checkpoint calls delivered were all stored
    assert again.rows_skipped + again.rows_delivered == ROWS
    assert stored(served, collection) == ROWS


def _elapsed(call: Any) -> float:
    started = time.monotonic()
    with pytest.raises(GatewayTimeoutError):
        call()
    return time.monotonic() - started


TIMEOUT = 3.0


def test_a_stall_at_the_import_handshake_raises_within_the_timeout(served: str, run_id: str) -> None:
    with FaultProxy(served, stall_handshake=True, only=b"/import/") as proxy:
        took = _elapsed(
            lambda: tg_connect.to_trustgraph(
                sample_triples(1000), url=proxy.url, collection=f"st{run_id}", progress=False, timeout=TIMEOUT
            )
        )
    assert took < 1.5 * TIMEOUT


@pytest.mark.parametrize("direction", ["up", "down"])
def test_a_stall_mid_load_raises_within_the_timeout(served: str, table: pa.Table, run_id: str, direction: str) -> None:
    """The gateway stops reading ("up": the client's writes block), or its answers stop
    ("down": no PONG comes); either way the load ends with GatewayTimeoutError, and the report
    claims no more than was stored."""
    collection = f"sm{run_id}"
    with FaultProxy(
        served,
        stall_after=5_000_000 if direction == "up" else 300,
        direction=direction,  # type: ignore[arg-type]
        only=b"/import/",
    ) as proxy:
        with pytest.raises(GatewayTimeoutError) as raised:
            tg_connect.to_trustgraph(
                table, url=proxy.url, collection=collection, progress=False, batch_size=BATCH, timeout=TIMEOUT
            )
        ended = time.monotonic()
        assert proxy.stats.fault_at is not None
    # Up to the stall the load ran at full speed. The gateway still answers for what reached
    # it before the stall; from its last answer to the error: at most 1.5x the timeout.
    last_answer = max(proxy.stats.fault_at, proxy.stats.last_down_at or 0.0)
    assert ended - last_answer < 1.5 * TIMEOUT
    report = raised.value.report  # type: ignore[attr-defined]
    assert report.rows_delivered <= stored(served, collection)
