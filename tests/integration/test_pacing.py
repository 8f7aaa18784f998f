"""Pacing to the stores: a load larger than the stores can take at once, paced with
``max_rows_per_second="auto"`` and waited for with ``wait="stored"``.

Against the real 2.11.1 gateway the load is larger than the burst that stalls its back end
when sent at full speed (docs/reliability.md); against the local gateway, a paced store
(``store_rows_per_second``) plays the slow store. Both are checked the same way: every triple
is stored (read back by query), the back end still answers, and the load took at most 1.5x
the time the stores themselves needed, as their own metrics show (rows written / seconds
spent writing, from ``tg_triples_store_write_*``).
"""

from __future__ import annotations

import time
from typing import Iterator

import pandas as pd
import pytest

import tg_connect

from ..conftest import Gateway

LOCAL_STORE_RATE = 2_000.0  # rows/s the local gateway's paced store writes
ROWS = {"local": 20_000, "real": 50_000}


@pytest.fixture
def slow_gateway(gateway: Gateway) -> Iterator[Gateway]:
    """The real gateway as it is, or a local gateway whose store writes 2,000 rows/s."""
    if gateway.real:
        yield gateway
        return
    with tg_connect.LocalGateway(store_rows_per_second=LOCAL_STORE_RATE) as gw:
        yield Gateway("local", gw.url, None, 0.0)


def store_totals(gateway: Gateway) -> tuple[float, float]:
    """(triples written, seconds spent writing) by every triples store, from the metrics."""
    metrics = tg_connect.Api(gateway.url, token=gateway.token).metrics()
    written = sum(s.value for s in metrics.query("tg_triples_store_write_batch_size_sum"))
    seconds = sum(s.value for s in metrics.query("tg_triples_store_write_duration_seconds_sum"))
    return written, seconds


def test_auto_pacing_follows_the_stores(slow_gateway: Gateway, run_id: str) -> None:
    gateway = slow_gateway
    rows = ROWS[gateway.name]
    pred = f"http://pacing-{run_id}.example/p"
    df = pd.DataFrame({"s": [f"http://pacing-{run_id}.example/s/{i}" for i in range(rows)], "p": [pred] * rows,
                       "o": [f"value {i}" for i in range(rows)]})
    before = store_totals(gateway)
    started = time.monotonic()
    report = tg_connect.to_trustgraph(df, url=gateway.url, token=gateway.token, collection=f"pace{run_id}",
                                      progress=False, max_rows_per_second="auto", wait="stored", wait_timeout=900)
    wall = time.monotonic() - started
    assert report.ok, str(report)
    assert report.rows_delivered == rows and report.stored_complete and report.rows_stored == rows
    assert not report.notes, report.notes  # paced by the metrics, not by a fallback rate

    # What the stores themselves say about their speed, once the metrics show all of it.
    deadline = time.monotonic() + 60
    while (after := store_totals(gateway))[0] - before[0] < rows and time.monotonic() < deadline:
        time.sleep(1)
    written, seconds = after[0] - before[0], after[1] - before[1]
    assert written >= rows and seconds > 0
    store_rate = written / seconds
    assert wall <= 1.5 * rows / store_rate, (wall, rows, store_rate)

    # Every triple is stored, and the back end still answers.
    got = tg_connect.read_trustgraph("triples", url=gateway.url, token=gateway.token,
                                     collection=f"pace{run_id}", p=pred)
    assert len(got) == rows and set(got["s"]) == set(df["s"])
