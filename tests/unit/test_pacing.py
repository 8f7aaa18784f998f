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
        self.baseline = {"triples-write": 0.0, "kg-store": 0.0}
        self.counts = dict(self.baseline)
        self.clock = 0.0

    async def sample(self) -> StoreSample:
        return StoreSample(self.clock, dict(self.counts))

    async def aclose(self) -> None:
        return None


def test_the_window_follows_the_slowest_store(monkeypatch: pytest.MonkeyPatch) -> None:
    progress = FakeProgress()
    monkeypatch.setattr(pacing, "time", SimpleNamespace(monotonic=lambda: progress.clock))
    paced = StorePaced(progress, horizon=20.0, min_backlog=8, poll=1.0)

    async def run() -> None:
        paced._history.append((0.0, 0))
        for _ in range(8):  # the minimum window goes at once
            await asyncio.wait_for(paced.acquire(1000), 1)
        assert paced.backlog == 8
        with pytest.raises(asyncio.TimeoutError):  # the ninth waits: nothing processed yet
            await asyncio.wait_for(paced.acquire(1000), 0.05)
        # 10 s later the triples writer processed 8 and the core store 4 messages: the
        # slowest one counts, at 0.4 messages/s: 8 messages of backlog allowed (20 s of it)
        progress.clock = 10.0
        progress.counts = {"triples-write": 8.0, "kg-store": 4.0}
        await paced._update()
        assert paced.processed == 4 and paced.rate == pytest.approx(0.4)
        assert paced.allowed == pytest.approx(8.0)
        # the stores speed up: 104 messages in the next 10 s -> 5.4/s over the 20 s window
        progress.clock = 20.0
        progress.counts = {"triples-write": 120.0, "kg-store": 108.0}
        await paced._update()
        assert paced.rate == pytest.approx(108 / 20) and paced.allowed == pytest.approx(108.0)

    asyncio.run(run())


def test_stores_that_stop_fail_the_load(monkeypatch: pytest.MonkeyPatch) -> None:
    progress = FakeProgress()
    monkeypatch.setattr(pacing, "time", SimpleNamespace(monotonic=lambda: progress.clock))
    paced = StorePaced(progress, stall_after=60.0)

    async def run() -> None:
        paced.start()
        paced.written = 10
        progress.clock = 61.0
        with pytest.raises(pacing.GatewayTimeoutError, match="processed nothing for 61 s while 10 messages wait"):
            await paced._update()
        await paced.aclose()

    asyncio.run(run())


def test_auto_without_metrics_falls_back_and_says_so() -> None:
    async def run() -> list[Any]:
        fallback = await make_pacer("auto", StoreWatch(None, "the gateway's metrics are unavailable (HTTP 502)"),
                                    "http://gw.example")
        unconsumed = await make_pacer("auto", StoreWatch(None, "no store consumes flow:tg:default:rows-store:default"),
                                      "http://gw.example")
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
    progress.baseline = {"triples-write": 100.0, "kg-store": 50.0}
    assert progress.since_start(StoreSample(0, {"triples-write": 130.0, "kg-store": 60.0})) == 10
    # a back end that restarted counts from zero again
    assert progress.since_start(StoreSample(0, {"triples-write": 7.0, "kg-store": 70.0})) == 7
    assert progress.since_start(StoreSample(0, {})) is None
