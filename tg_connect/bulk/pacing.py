"""The pace stage of a load: how fast, and in how large messages, rows may go, so the stores
behind the gateway keep up.

The gateway never pushes back: its import sockets hand every message to a broker queue at
once, and the stores drain that queue at their own speed. Two things go wrong when a load
outruns them (measured on the reference 2.11.1 back end, docs/reliability.md):

* **one message that takes the store long to write.** Its store processors share one event
  loop with the rest of the back end (IAM, config, queries), so while a message is written
  nothing else runs: past about 2 s requests start failing with 401 (the IAM call times out),
  past about 2 minutes the broker drops the back end's connections and it does not recover.
  A store's time per row grows with what it holds (FalkorDB scans its whole graph), so a
  1,000-triple message takes 1.3 s on an empty store and over 60 s on one of 50,000 triples.
* **a backlog**: queued messages are safe in the broker, but all of it must be written before
  the stores are done, and reads see little of it meanwhile.

Three pacers share one interface:

* :class:`Unpaced`: as fast as the socket takes messages, in messages of ``batch_size`` rows;
* :class:`FixedRate`: at most ``rows_per_second`` over the whole job (all sockets together),
  the first message included;
* :class:`StorePaced` (``max_rows_per_second="auto"``): reads the stores' own metrics and
  keeps each message's write time near :data:`WRITE_SECONDS` (cutting messages smaller as the
  store slows) and the backlog within ``horizon`` seconds of the stores' speed.

:class:`StoreProgress` reads those metrics: for each processor consuming the flow's topic (for
triples the triples writer and the knowledge-core store), ``tg_consumer_processing_total{...,
status="ok"}`` (messages processed) and ``tg_consumer_request_duration_seconds_sum`` (seconds
spent processing them). The counters are totals over every writer, so a concurrent load or a
RAG query's explainability triples count too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import GatewayTimeoutError, TgConnectError
from ..flow.transports import RestTransport
from ..metrics import AsyncMetrics
from ..target import Target

log = logging.getLogger(__name__)

# With no metrics to go by, "auto" sends at this rate: about what the reference 2.11 back end
# (one triples writer on 2 cores) stores on a fresh graph.
FALLBACK_ROWS_PER_SECOND = 500.0
# What one message may cost the slowest store, in seconds of its work: the reference back end
# stays healthy up to about 1 s and starts failing requests past 2 s.
WRITE_SECONDS = 1.0
# Rows in the first messages, before the stores' speed is known (a large first message into a
# big store blocked the reference back end for over a minute).
FIRST_MESSAGE_ROWS = 100
# Messages another processor on the topic may be behind before it holds the load back.
OTHERS_BEHIND = 200


class Pacer(Protocol):
    """What the send stage asks before each message, and tells after each confirmation."""

    note: str | None  # what the report should say about pacing, if anything
    splits: bool  # whether max_rows() may ask for messages smaller than they were encoded

    async def acquire(self, rows: int) -> None:
        """Return when a message of ``rows`` rows may be written."""

    def ready(self, rows: int) -> bool:
        """Whether :meth:`acquire` would return at once (else the sender confirms what it
        wrote before it waits: the pace may depend on it)."""

    def max_rows(self) -> int | None:
        """The most rows a message should carry now (``None``: as encoded)."""

    def delivered(self, rows: Sequence[int]) -> None:
        """Messages of these sizes were confirmed delivered, in this order."""

    def stop(self) -> None:
        """The load is ending: wake a sender waiting in :meth:`acquire` (it raises
        :class:`PacingStopped`)."""

    async def aclose(self) -> None:
        """Stop any background work."""


class PacingStopped(Exception):
    """Raised in a sender waiting to send when the load is ending for another reason."""


class Unpaced:
    """No pacing: the socket's own speed."""

    note: str | None = None
    splits = False

    async def acquire(self, rows: int) -> None:
        return None

    def ready(self, rows: int) -> bool:
        return True

    def max_rows(self) -> int | None:
        return None

    def delivered(self, rows: Sequence[int]) -> None:
        return None

    def stop(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class FixedRate(Unpaced):
    """At most ``rows_per_second`` on average over the job, across every socket.

    Each message waits until the job's schedule reaches its last row, so the first message
    is paced too: 3,000 rows at 600 rows/s take 5 s, not 3.3 s.
    """

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


class MetricsUnavailable(TgConnectError):
    """The gateway's metrics could not be read (no Prometheus behind it, or no permission)."""


@dataclass(frozen=True)
class StoreSample:
    """For each store processor at one moment (monotonic seconds): messages processed, and
    seconds spent processing."""

    at: float
    processed: Mapping[str, float]
    busy: Mapping[str, float] = field(default_factory=dict)


class StoreProgress:
    """The progress of the stores consuming one flow topic, from the gateway's metrics."""

    PROCESSED = "tg_consumer_processing_total"
    BUSY = "tg_consumer_request_duration_seconds_sum"

    def __init__(self, target: Target, topic: str) -> None:
        self.topic = topic
        self._transport = RestTransport(target)
        self._metrics = AsyncMetrics(self._transport)
        self.baseline = StoreSample(0.0, {}, {})

    @property
    def selector(self) -> str:
        """One query for both counters (one request per poll: each costs the gateway an auth)."""
        return f'{{__name__=~"{self.PROCESSED}|{self.BUSY}",consumer="{self.topic}"}}'

    async def sample(self) -> StoreSample:
        """The counters now; raises :class:`MetricsUnavailable` when they cannot be read."""
        try:
            result = await self._metrics.query(self.selector)
        except TgConnectError as exc:
            raise MetricsUnavailable(str(exc)) from None
        processed: dict[str, float] = {}
        busy: dict[str, float] = {}
        for series in result:
            name = series.labels.get("processor", "")
            if series.name == self.PROCESSED and series.labels.get("status") == "ok":
                processed[name] = processed.get(name, 0.0) + series.value
            elif series.name == self.BUSY:
                busy[name] = busy.get(name, 0.0) + series.value
        return StoreSample(time.monotonic(), processed, busy)

    async def start(self) -> StoreSample:
        """Take the baseline the later counts are measured from."""
        self.baseline = await self.sample()
        return self.baseline

    def _since(self, now: Mapping[str, float], then: Mapping[str, float], name: str) -> float:
        value, base = now.get(name, 0.0), then.get(name, 0.0)
        return value - base if value >= base else value  # a counter that went down: a restart

    def processed_since_start(self, sample: StoreSample) -> dict[str, int]:
        """Messages each store processor processed since :meth:`start`."""
        return {name: int(self._since(sample.processed, self.baseline.processed, name)) for name in sample.processed}

    def busy_since_start(self, sample: StoreSample) -> dict[str, float]:
        """Seconds each store processor spent processing since :meth:`start`."""
        return {name: self._since(sample.busy, self.baseline.busy, name) for name in sample.busy}

    def since_start(self, sample: StoreSample) -> int | None:
        """Messages the slowest store processed since :meth:`start`; ``None`` if no store
        consumes the topic."""
        done = self.processed_since_start(sample)
        return min(done.values()) if done else None

    async def aclose(self) -> None:
        await self._transport.aclose()


class StorePaced:
    """``max_rows_per_second="auto"``: follows the stores (module docstring).

    From the metrics: the seconds per row of the slowest store processor, *tau* (its time
    spent over the rows it processed, in the last ``window`` seconds). A message carries at
    most ``WRITE_SECONDS / tau`` rows, so none costs a store much more than that; until tau is
    known, :data:`FIRST_MESSAGE_ROWS`. The backlog (rows written minus rows the slowest
    processor has done) stays under the stores' work for ``horizon`` seconds (at the larger
    of ``1 / tau`` and the rows a second they did over the window), and at least four
    messages: the metrics lag a scrape behind. A store that
    processes nothing for ``stall_after`` seconds while rows wait fails the load. A failed
    metrics read (the gateway refuses requests while its back end is busy) keeps the last
    counts, which can only make the backlog look larger.
    """

    note: str | None = None
    splits = True

    def __init__(
        self,
        progress: StoreProgress,
        *,
        batch_size: int = 1000,
        horizon: float = 15.0,
        poll: float = 1.0,
        window: float = 60.0,
        stall_after: float = 120.0,
    ) -> None:
        self.progress = progress
        self.batch_size = batch_size
        self.horizon = horizon
        self.poll = poll
        self.window = window
        self.stall_after = stall_after
        self.tau: float | None = None  # seconds per row of the slowest store processor
        self.throughput = 0.0  # rows per second the slowest processor did over the window
        self.bottleneck: str | None = None  # the processor paced against
        self.others_behind = 0  # messages the furthest-behind processor has still to do
        self.rows_written = 0
        self.rows_done = 0  # by the processor paced against, as far as the metrics show
        # Rows delivered before each delivered message, then the total: the stores take messages
        # in the order the gateway took them in, so k processed messages end at _ends[k].
        self._ends = [0]
        self._stopped = False
        self._history: deque[tuple[float, dict[str, int], dict[str, float]]] = deque()
        self._last_progress = time.monotonic()
        self._changed = asyncio.Event()
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    def start(self) -> None:
        """Begin watching (the progress's baseline was taken already)."""
        self._last_progress = time.monotonic()
        self._history.append((self._last_progress, {}, {}))
        self._task = asyncio.ensure_future(self._watch())

    @property
    def backlog(self) -> int:
        """Rows written that the slowest store processor has not done yet."""
        return self.rows_written - self.rows_done

    @property
    def allowed(self) -> int:
        """The backlog allowed now, in rows."""
        floor = 4 * self.max_rows()
        if self.tau is None:
            return floor
        # Time spent per row overstates the cost where processors share a loop (the reference
        # back end's do), and throughput understates it whenever the stores went idle: the
        # larger of the two speeds sizes the backlog (a backlog is safe; long writes are not).
        return max(floor, int(self.horizon * max(1 / self.tau, self.throughput)))

    def max_rows(self) -> int:
        if self.tau is None:
            return min(self.batch_size, FIRST_MESSAGE_ROWS)
        return max(1, min(self.batch_size, int(WRITE_SECONDS / self.tau)))

    def ready(self, rows: int) -> bool:
        # A message goes when the backlog has room for it; one larger than the room goes
        # once the backlog is empty (it cannot be split further here).
        return self.backlog <= 0 or (self.backlog + rows <= self.allowed and self.others_behind < OTHERS_BEHIND)

    async def acquire(self, rows: int) -> None:
        while not self.ready(rows):
            self._raise_if_over()
            self._changed.clear()
            self._wanted.set()
            await self._changed.wait()
        self._raise_if_over()
        self.rows_written += rows

    def _raise_if_over(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._stopped:
            raise PacingStopped()

    def delivered(self, rows: Sequence[int]) -> None:
        for n in rows:
            self._ends.append(self._ends[-1] + n)

    def stop(self) -> None:
        self._stopped = True
        self._changed.set()

    def rows_in(self, messages: int) -> int:
        """Rows in the first ``messages`` messages delivered."""
        return self._ends[min(messages, len(self._ends) - 1)]

    async def _watch(self) -> None:
        try:
            while True:
                try:
                    await asyncio.wait_for(self._wanted.wait(), self.poll)
                    # A blocked sender asks sooner, but at most 4 times a second: each read
                    # costs the gateway an authorisation, and a busy back end queues them.
                    await asyncio.sleep(0.25)
                except TimeoutError:
                    pass
                self._wanted.clear()
                try:
                    sample = await self.progress.sample()
                except MetricsUnavailable as exc:  # keep the last counts; say why if it lasts
                    log.debug("pacing: metrics unreadable (%s); keeping the last counts", exc)
                    self._check_stall(time.monotonic())
                    continue
                self.update(sample)
                self._changed.set()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the sender waiting in acquire()
            self._failure = exc
            self._changed.set()

    def update(self, sample: StoreSample) -> None:
        """Take in a sample of the counters: progress, speed, and stalls.

        The processor that spends the most time per row (for triples, the triples writer) is
        the one paced against. Another processor on the same topic can fall behind in
        messages without being slow (the reference knowledge-core store waits for loop turns
        while the writer works, then catches up at once), so it only holds the load back when
        it is :data:`OTHERS_BEHIND` messages behind.
        """
        processed = self.progress.processed_since_start(sample)
        if not processed:
            return
        busy = self.progress.busy_since_start(sample)
        rows = {name: self.rows_in(count) for name, count in processed.items()}
        now = sample.at
        self._history.append((now, rows, busy))
        while len(self._history) > 2 and now - self._history[1][0] >= self.window:
            self._history.popleft()
        then, rows_then, busy_then = self._history[0]
        taus: dict[str, float] = {}
        for name, count in rows.items():
            worked = count - rows_then.get(name, 0)
            spent = busy.get(name, 0.0) - busy_then.get(name, 0.0)
            if worked > 0 and spent > 0:
                taus[name] = spent / worked
        if taus:
            self.bottleneck = max(taus, key=lambda name: taus[name])
            self.tau = taus[self.bottleneck]
        paced_by = self.bottleneck if self.bottleneck in rows else min(rows, key=lambda name: rows[name])
        done = rows[paced_by]
        self.others_behind = max(len(self._ends) - 1 - processed[name] for name in processed)
        if now > then:
            self.throughput = (done - rows_then.get(paced_by, 0)) / (now - then)
        if done > self.rows_done:
            self._last_progress = now
            self.rows_done = done
        self._check_stall(now)
        log.debug(
            "pacing: %.2f ms a row (%s); %d rows written, %d done; messages up to %d rows, backlog up to %d",
            (self.tau or 0.0) * 1000,
            paced_by,
            self.rows_written,
            self.rows_done,
            self.max_rows(),
            self.allowed,
        )

    def _check_stall(self, now: float) -> None:
        if self.backlog > 0 and now - self._last_progress > self.stall_after:
            raise GatewayTimeoutError(
                f"the stores behind {self.progress.topic} have processed nothing for"
                f" {now - self._last_progress:.0f} s while {self.backlog:,} rows wait"
            )

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


async def make_pacer(
    max_rows_per_second: float | str | None, watch: StoreWatch | None, url: str, batch_size: int = 1000
) -> Pacer:
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
        paced = StorePaced(watch.progress, batch_size=batch_size)
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
    or ``timeout`` seconds pass; return how many it had processed (as the metrics show). A
    read that fails (a busy back end refusing requests) is tried again at the next poll."""
    deadline = time.monotonic() + timeout
    done = 0
    while True:
        try:
            done = progress.since_start(await progress.sample()) or 0
        except MetricsUnavailable as exc:
            log.debug("wait for stores: metrics unreadable (%s)", exc)
        if done >= messages or time.monotonic() >= deadline:
            return done
        await asyncio.sleep(min(poll, max(0.0, deadline - time.monotonic())))


__all__ = [
    "Pacer",
    "PacingStopped",
    "Unpaced",
    "FixedRate",
    "StorePaced",
    "StoreProgress",
    "StoreSample",
    "StoreWatch",
    "MetricsUnavailable",
    "make_pacer",
    "watch_stores",
    "wait_stored",
]
