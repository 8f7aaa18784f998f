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
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import tg_connect

from ..conftest import Gateway

LOCAL_STORE_RATE = 2_000.0  # rows/s the local gateway's paced store writes
ROWS = {"local": 20_000, "real": 50_000}
# Triples about 5,000 subjects with 10 object values each. The reference store's time per
# triple grows with the nodes it holds (about 0.65 ms per 1,000): with a new subject and object
# per triple, 50,000 triples would take it half an hour; these take a few minutes, while its
# speed still falls several times over during the load.
OBJECTS = 10


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


@pytest.mark.fresh_store
def test_auto_pacing_follows_the_stores(slow_gateway: Gateway, run_id: str) -> None:
    gateway = slow_gateway
    rows = ROWS[gateway.name]
    pred = f"http://pacing-{run_id}.example/p"
    df = pd.DataFrame(
        {
            "s": [f"http://pacing-{run_id}.example/s/{i // OBJECTS}" for i in range(rows)],
            "p": [pred] * rows,
            "o": [f"value {i % OBJECTS}" for i in range(rows)],
        }
    )
    before = store_totals(gateway)
    started = time.monotonic()
    report = tg_connect.to_trustgraph(
        df,
        url=gateway.url,
        token=gateway.token,
        collection=f"pace{run_id}",
        progress=False,
        max_rows_per_second="auto",
        wait="stored",
        wait_timeout=900,
    )
    wall = time.monotonic() - started
    assert report.ok, str(report)
    assert report.rows_delivered == rows and report.stored_complete and report.rows_stored == rows
    assert not report.notes, report.notes  # paced by the metrics, not by a fallback rate

    # What the stores themselves say about their speed, once the metrics show all of it.
    def since(now: float, then: float) -> float:  # a counter lower than before: the back end restarted
        return now - then if now >= then else now

    deadline = time.monotonic() + 60
    while since((after := store_totals(gateway))[0], before[0]) < rows and time.monotonic() < deadline:
        time.sleep(1)
    written, seconds = since(after[0], before[0]), since(after[1], before[1])
    assert written >= rows and seconds > 0
    store_rate = written / seconds
    print(
        f"\n{gateway.name}: {rows:,} rows in {wall:.1f} s; the stores needed {rows / store_rate:.1f} s"
        f" ({store_rate:,.0f} rows/s while writing)"
    )
    assert wall <= 1.5 * rows / store_rate, (wall, rows, store_rate)

    # Every triple is stored, and the back end still answers.
    got = tg_connect.read_trustgraph(
        "triples", url=gateway.url, token=gateway.token, collection=f"pace{run_id}", p=pred
    )
    assert len(got) == rows and set(zip(got["s"], got["o"], strict=True)) == set(zip(df["s"], df["o"], strict=True))


def test_auto_cuts_messages_to_a_second_of_store_work(tmp_path: Path, run_id: str) -> None:
    """A store that writes 200 rows/s gets messages of at most 200 rows (about one second of
    its work) though batch_size says 1,000: the first few of 100 rows while its speed is
    unknown. A checkpoint still records whole messages, once all their parts are delivered."""
    rows = 1200
    df = pd.DataFrame(
        {
            "s": [f"http://cut-{run_id}.example/s/{i}" for i in range(rows)],
            "p": [f"http://cut-{run_id}.example/p"] * rows,
            "o": [f"v{i}" for i in range(rows)],
        }
    )
    ckpt = tmp_path / "cut.ckpt"
    with tg_connect.LocalGateway(store_rows_per_second=200) as gw:
        report = tg_connect.to_trustgraph(
            df,
            url=gw.url,
            collection=f"cut{run_id}",
            progress=False,
            batch_size=1000,
            max_rows_per_second="auto",
            wait="stored",
            checkpoint=ckpt,
        )
        assert report.ok and report.rows_stored == rows, str(report)
        metrics = tg_connect.Api(gw.url).metrics()
        writes = metrics.query("tg_triples_store_write_batch_size_count").series[0].value
        buckets = {s.labels["le"]: s.value for s in metrics.query("tg_triples_store_write_batch_size_bucket")}
    assert writes == report.batches and report.batches >= rows // 200 + 1
    assert buckets["200.0"] == writes  # every message carried at most 200 rows
    assert len(ckpt.read_text().splitlines()) - 1 == 2  # the two encoded messages (1,000 + 200 rows)
