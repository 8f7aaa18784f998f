"""Pacing: a fixed rate paces the first message too; the store-paced window follows the
stores' observed rate and never lets the backlog pass it; metrics that cannot be read fall
back to a conservative rate, said in the report."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from tg_connect.bulk import pacing
from tg_connect.bulk.pacing import FixedRate, StorePaced, StoreProgress, StoreSample, StoreWatch, make_pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += max(seconds, 0.0)


def test_a_fixed_rate_paces_the_first_message_too(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(pacing, "time", SimpleNamespace(monotonic=lambda: clock.now))
    monkeypatch.setattr(pacing, "asyncio", SimpleNamespace(sleep=clock.sleep))

    async def run() -> None:
        limiter = FixedRate(600)
        for _ in range(3):
            await limiter.acquire(1000)

    asyncio.run(run())
    # 3,000 rows at 600 rows/s take 5 s (the first message waits its share as well)
    assert clock.slept == [pytest.approx(1000 / 600), pytest.approx(1000 / 600), pytest.approx(1000 / 600)]
    assert clock.now - 100.0 == pytest.approx(5.0)


class FakeProgress(StoreProgress):
    """Counters the test sets, instead of a gateway's metrics."""

    def __init__(self) -> None:
        self.topic = "flow:tg:default:triples-store:default"
        self.baseline = StoreSample(0.0, {"triples-write": 0.0, "kg-store": 0.0}, {"triples-write": 0.0})
        self.counts = dict(self.baseline.processed)
        self.busy = dict(self.baseline.busy)
        self.clock = 0.0

    async def sample(self) -> StoreSample:
        return StoreSample(self.clock, dict(self.counts), dict(self.busy))

    async def aclose(self) -> None:
        return None


def test_messages_and_backlog_follow_the_busiest_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small first messages until the stores' speed is known; then messages of about one
    second of the busiest store's work, and a backlog of about ``horizon`` seconds of it."""
    progress = FakeProgress()
    monkeypatch.setattr(pacing, "time", SimpleNamespace(monotonic=lambda: progress.clock))
    paced = StorePaced(progress, batch_size=1000, horizon=15.0, poll=1.0)

    async def run() -> None:
        paced._history.append((0.0, {}, {}))
        assert paced.max_rows() == pacing.FIRST_MESSAGE_ROWS and paced.allowed == 400
        for _ in range(4):  # four first messages go at once (and the gateway takes them in)
            await asyncio.wait_for(paced.acquire(100), 1)
        paced.delivered([100] * 4)
        with pytest.raises(asyncio.TimeoutError):  # the fifth waits: nothing processed yet
            await asyncio.wait_for(paced.acquire(100), 0.05)
        # 10 s later: the triples writer has done 3 messages (300 rows) in 0.6 s of work (2 ms a
        # row); the core store 2 messages, in no time: the writer is what the load is paced by.
        progress.clock = 10.0
        progress.counts = {"triples-write": 3.0, "kg-store": 2.0}
        progress.busy = {"triples-write": 0.6}
        paced.update(await progress.sample())
        assert paced.bottleneck == "triples-write" and paced.rows_done == 300 and paced.others_behind == 2
        assert paced.tau == pytest.approx(0.002) and paced.max_rows() == 500 and paced.allowed == 7500
        # The store slows as it grows (2 s for the last 100 rows): 6.5 ms a row over the window
        progress.clock = 20.0
        progress.counts = {"triples-write": 4.0, "kg-store": 4.0}
        progress.busy = {"triples-write": 0.6 + 2.0}
        paced.update(await progress.sample())
        assert paced.tau == pytest.approx(2.6 / 400)  # over the whole window so far
        assert paced.max_rows() == int(1.0 / (2.6 / 400)) and paced.allowed == int(15.0 / (2.6 / 400))

    asyncio.run(run())


def test_a_processor_far_behind_in_messages_holds_the_load_back(monkeypatch: pytest.MonkeyPatch) -> None:
    progress = FakeProgress()
    monkeypatch.setattr(pacing, "time", SimpleNamespace(monotonic=lambda: progress.clock))
    paced = StorePaced(progress, batch_size=10)

    async def run() -> None:
        paced._history.append((0.0, {}, {}))
        for _ in range(300):
            paced.rows_written += 10
        paced.delivered([10] * 300)
        progress.clock = 10.0  # the writer is nearly done, the core store 250 messages behind
        progress.counts = {"triples-write": 299.0, "kg-store": 50.0}
        progress.busy = {"triples-write": 0.3}
        paced.update(await progress.sample())
        assert paced.backlog == 10 and paced.others_behind == 250
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(paced.acquire(10), 0.05)
        progress.counts = {"triples-write": 299.0, "kg-store": 200.0}
        paced.update(await progress.sample())
        await asyncio.wait_for(paced.acquire(10), 1)

    asyncio.run(run())


def test_a_message_larger_than_the_room_goes_when_the_backlog_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    progress = FakeProgress()
    monkeypatch.setattr(pacing, "time", SimpleNamespace(monotonic=lambda: progress.clock))
    paced = StorePaced(progress, batch_size=1000)

    async def run() -> None:
        await asyncio.wait_for(paced.acquire(5000), 1)  # nothing waits: it goes
        assert paced.backlog == 5000

    asyncio.run(run())


def test_a_stopped_load_wakes_a_sender_waiting_for_the_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    progress = FakeProgress()
    monkeypatch.setattr(pacing, "time", SimpleNamespace(monotonic=lambda: progress.clock))
    paced = StorePaced(progress, batch_size=100)

    async def run() -> None:
        for _ in range(4):
            await paced.acquire(100)
        waiting = asyncio.ensure_future(paced.acquire(100))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        paced.stop()  # another socket failed: this sender must not wait for the stores forever
        with pytest.raises(pacing.PacingStopped):
            await asyncio.wait_for(waiting, 1)

    asyncio.run(run())


def test_stores_that_stop_fail_the_load(monkeypatch: pytest.MonkeyPatch) -> None:
    progress = FakeProgress()
    monkeypatch.setattr(pacing, "time", SimpleNamespace(monotonic=lambda: progress.clock))
    paced = StorePaced(progress, stall_after=60.0)

    async def run() -> None:
        paced.start()
        await paced.acquire(100)
        progress.clock = 61.0
        with pytest.raises(pacing.GatewayTimeoutError, match="processed nothing for 61 s while 100 rows wait"):
            paced.update(await progress.sample())
        await paced.aclose()

    asyncio.run(run())


def test_auto_without_metrics_falls_back_and_says_so() -> None:
    async def run() -> list[Any]:
        fallback = await make_pacer(
            "auto", StoreWatch(None, "the gateway's metrics are unavailable (HTTP 502)"), "http://gw.example"
        )
        unconsumed = await make_pacer(
            "auto", StoreWatch(None, "no store consumes flow:tg:default:rows-store:default"), "http://gw.example"
        )
        return [fallback, unconsumed]

    fallback, unconsumed = asyncio.run(run())
    assert isinstance(fallback, FixedRate) and fallback.rate == pacing.FALLBACK_ROWS_PER_SECOND
    assert fallback.note is not None and "metrics are unavailable" in fallback.note and "500 rows/s" in fallback.note
    assert isinstance(unconsumed, pacing.Unpaced) and unconsumed.note is not None
    assert "nothing to pace against" in unconsumed.note
    with pytest.raises(ValueError, match="'auto' or None"):
        asyncio.run(make_pacer("fast", None, "http://gw.example"))  # type: ignore[arg-type]


def test_counts_since_start_take_the_slowest_and_survive_a_restart() -> None:
    progress = FakeProgress()
    progress.baseline = StoreSample(0.0, {"triples-write": 100.0, "kg-store": 50.0}, {"triples-write": 5.0})
    assert progress.since_start(StoreSample(0, {"triples-write": 130.0, "kg-store": 60.0})) == 10
    # a back end that restarted counts from zero again
    assert progress.since_start(StoreSample(0, {"triples-write": 7.0, "kg-store": 70.0})) == 7
    assert progress.busy_since_start(StoreSample(0, {}, {"triples-write": 7.5})) == {"triples-write": 2.5}
    assert progress.since_start(StoreSample(0, {})) is None
