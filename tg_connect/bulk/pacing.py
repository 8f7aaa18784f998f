"""The pace stage of a load: how fast messages may go, so the stores behind the gateway keep up.

The gateway never pushes back: its import sockets hand every message to a broker queue at
once, and the stores drain that queue at their own speed (a few hundred triples a second on
a small deployment, falling as the graph grows). A burst far ahead of them builds a backlog
that can stall a back end. Three pacers share one interface:

* :class:`Unpaced`: as fast as the socket takes messages;
* :class:`FixedRate`: at most ``rows_per_second`` over the whole job (all sockets together),
  the first message included;
* :class:`StorePaced` (``max_rows_per_second="auto"``): keeps the backlog (messages written
  minus messages the slowest store has processed, read from the gateway's own metrics) within
  about ``horizon`` seconds of the stores' observed rate, so the load follows the stores as
  they speed up or slow down (docs/reliability.md).

:class:`StoreProgress` reads those metrics: ``tg_consumer_processing_total{consumer=<flow
topic>, status="ok"}``, one series per processor that consumes the topic (for triples the
triples writer and the knowledge-core store). The counters are totals over every writer, so
a concurrent load or a RAG query's explainability triples count too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Mapping, Protocol

from ..errors import GatewayTimeoutError, TgConnectError
from ..metrics import AsyncMetrics
from ..flow.transports import RestTransport
from ..target import Target

log = logging.getLogger(__name__)

# With no metrics to go by, "auto" sends at this rate: about what the reference 2.11 back end
# (one triples writer on 2 cores) stores on a fresh graph.
FALLBACK_ROWS_PER_SECOND = 500.0


class Pacer(Protocol):
    """What the send stage asks before each message, and tells after each confirmation."""

    note: str | None  # what the report should say about pacing, if anything

    async def acquire(self, rows: int) -> None:
        """Return when a message of ``rows`` rows may be written."""

    def delivered(self, messages: int) -> None:
        """``messages`` more messages were confirmed delivered."""

    async def aclose(self) -> None:
        """Stop any background work."""


class Unpaced:
    """No pacing: the socket's own speed."""

    note: str | None = None

    async def acquire(self, rows: int) -> None:
        return None

    def delivered(self, messages: int) -> None:
        return None

    async def aclose(self) -> None:
        return None


class FixedRate:
    """At most ``rows_per_second`` on average over the job, across every socket.

    Each message waits until the job's schedule reaches its last row, so the first message
    is paced too: 3,000 rows at 600 rows/s take 5 s, not 3.3 s.
    """

    note: str | None = None

    def __init__(self, rows_per_second: float) -> None:
        if not rows_per_second > 0:
            raise ValueError("max_rows_per_second must be positive")
        self.rate = float(rows_per_second)
        self._next: float | None = None

    async def acquire(self, rows: int) -> None:
        now = time.monotonic()
        start = now if self._next is None else max(now, self._next)
        self._next = start + rows / self.rate
        await asyncio.sleep(self._next - now)

    def delivered(self, messages: int) -> None:
        return None

    async def aclose(self) -> None:
        return None


class MetricsUnavailable(TgConnectError):
    """The gateway's metrics could not be read (no Prometheus behind it, or no permission)."""


@dataclass(frozen=True)
class StoreSample:
    """Messages each store processor had processed at one moment (monotonic seconds)."""

    at: float
    processed: Mapping[str, float]


class StoreProgress:
    """The progress of the stores consuming one flow topic, from the gateway's metrics."""

    METRIC = "tg_consumer_processing_total"

    def __init__(self, target: Target, topic: str) -> None:
        self.topic = topic
        self._transport = RestTransport(target)
        self._metrics = AsyncMetrics(self._transport)
        self.baseline: dict[str, float] = {}

    @property
    def selector(self) -> str:
        return f'{self.METRIC}{{consumer="{self.topic}",status="ok"}}'

    async def sample(self) -> StoreSample:
        """The counters now; raises :class:`MetricsUnavailable` when they cannot be read."""
        try:
            result = await self._metrics.query(self.selector)
        except TgConnectError as exc:
            raise MetricsUnavailable(str(exc)) from None
        processed: dict[str, float] = {}
        for series in result:
            name = series.labels.get("processor", "")
            processed[name] = processed.get(name, 0.0) + series.value
        return StoreSample(time.monotonic(), processed)

    async def start(self) -> StoreSample:
        """Take the baseline the later counts are measured from."""
        first = await self.sample()
        self.baseline = dict(first.processed)
        return first

    def since_start(self, sample: StoreSample) -> int | None:
        """Messages the slowest store processed since :meth:`start`; ``None`` if no store
        consumes the topic. A counter that went down (a restarted back end) counts from 0."""
        if not sample.processed:
            return None
        done = []
        for name, value in sample.processed.items():
            base = self.baseline.get(name, 0.0)
            done.append(value - base if value >= base else value)
        return int(min(done))

    async def aclose(self) -> None:
        await self._transport.aclose()


class StorePaced:
    """``max_rows_per_second="auto"``: keeps the stores' backlog bounded (module docstring).

    ``horizon``: how many seconds of the stores' own observed rate may wait in their queue.
    ``min_backlog``: messages always allowed in flight (the rate is unknown at first, and the
    metrics lag by a scrape interval). ``stall_after``: seconds with messages waiting and no
    store progress before the load fails.
    """

    note: str | None = None

    def __init__(self, progress: StoreProgress, *, horizon: float = 20.0, min_backlog: int = 8,
                 poll: float = 1.0, stall_after: float = 120.0) -> None:
        self.progress = progress
        self.horizon = horizon
        self.min_backlog = min_backlog
        self.poll = poll
        self.stall_after = stall_after
        self.written = 0  # messages allowed to go
        self.confirmed = 0
        self.processed = 0
        self.allowed = float(min_backlog)
        self.rate = 0.0  # messages/s, the slowest store, over the recent window
        self._history: deque[tuple[float, int]] = deque()
        self._last_progress = time.monotonic()
        self._changed = asyncio.Event()
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    def start(self) -> None:
        """Begin watching (the progress's baseline was taken already)."""
        now = time.monotonic()
        self._history.append((now, 0))
        self._last_progress = now
        self._task = asyncio.ensure_future(self._watch())

    @property
    def backlog(self) -> int:
        return self.written - self.processed

    async def acquire(self, rows: int) -> None:
        while self.backlog >= self.allowed:
            if self._failure is not None:
                raise self._failure
            self._changed.clear()
            self._wanted.set()
            await self._changed.wait()
        self.written += 1

    def delivered(self, messages: int) -> None:
        self.confirmed += messages

    async def _watch(self) -> None:
        try:
            while True:
                try:
                    await asyncio.wait_for(self._wanted.wait(), self.poll)
                    await asyncio.sleep(0.05)  # a blocked sender asks at most 20 times a second
                except asyncio.TimeoutError:
                    pass
                self._wanted.clear()
                await self._update()
                self._changed.set()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the sender waiting in acquire()
            self._failure = exc
            self._changed.set()

    async def _update(self) -> None:
        sample = await self.progress.sample()
        done = self.progress.since_start(sample)
        if done is None:
            return
        now = sample.at
        if done > self.processed:
            self._last_progress = now
        elif self.backlog > 0 and now - self._last_progress > self.stall_after:
            raise GatewayTimeoutError(
                f"the stores behind {self.progress.topic} have processed nothing for"
                f" {now - self._last_progress:.0f} s while {self.backlog} messages wait")
        self.processed = max(self.processed, done)
        self._history.append((now, self.processed))
        window = max(self.horizon, 4 * self.poll)
        while len(self._history) > 2 and now - self._history[1][0] >= window:
            self._history.popleft()
        then, before = self._history[0]
        if now > then:
            self.rate = (self.processed - before) / (now - then)
        self.allowed = max(float(self.min_backlog), self.rate * self.horizon)

    async def aclose(self) -> None:
        """Stop polling (the progress stays open: its owner closes it)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except BaseException:
                pass


@dataclass
class StoreWatch:
    """The stores' progress for one load, when the gateway's metrics show it; otherwise
    ``progress`` is ``None`` and ``reason`` says why."""

    progress: StoreProgress | None
    reason: str | None = None


_warned: set[str] = set()


async def watch_stores(target: Target, topic: str | None) -> StoreWatch:
    """Start watching the stores that consume ``topic`` (the baseline is taken now)."""
    if topic is None:
        return StoreWatch(None, "the flow names no topic for this kind")
    progress = StoreProgress(target, topic)
    try:
        first = await progress.start()
    except MetricsUnavailable as exc:
        await progress.aclose()
        return StoreWatch(None, f"the gateway's metrics are unavailable ({exc})")
    if not first.processed:
        await progress.aclose()
        return StoreWatch(None, f"no store consumes {topic}")
    return StoreWatch(progress)


async def make_pacer(max_rows_per_second: float | str | None, watch: StoreWatch | None, url: str) -> Pacer:
    """The pacer for ``max_rows_per_second``: ``None``, a number of rows a second, or
    ``"auto"`` (which needs ``watch``)."""
    if max_rows_per_second is None:
        return Unpaced()
    if not isinstance(max_rows_per_second, str):
        return FixedRate(float(max_rows_per_second))
    if max_rows_per_second != "auto":
        raise ValueError(f"max_rows_per_second must be a number, 'auto' or None, not {max_rows_per_second!r}")
    assert watch is not None
    if watch.progress is not None:
        paced = StorePaced(watch.progress)
        paced.start()
        return paced
    pacer: Pacer
    if watch.reason is not None and watch.reason.startswith("no store consumes"):
        pacer = Unpaced()
        pacer.note = f"pacing: {watch.reason}, so there is nothing to pace against"
        return pacer
    pacer = FixedRate(FALLBACK_ROWS_PER_SECOND)
    pacer.note = f"pacing: {watch.reason}; sent at a fixed {FALLBACK_ROWS_PER_SECOND:g} rows/s"
    if url not in _warned:  # logged once per gateway; every report says it too
        _warned.add(url)
        log.warning("%s", pacer.note)
    return pacer


async def wait_stored(progress: StoreProgress, messages: int, timeout: float, poll: float = 1.0) -> int:
    """Wait until the slowest store has processed ``messages`` messages since the load began,
    or ``timeout`` seconds pass; return how many it had processed (as the metrics show)."""
    deadline = time.monotonic() + timeout
    while True:
        done = progress.since_start(await progress.sample()) or 0
        if done >= messages or time.monotonic() >= deadline:
            return done
        await asyncio.sleep(min(poll, max(0.0, deadline - time.monotonic())))
