"""Loading: a pipeline of small stages from a source to the gateway's import sockets.

::

    check ─► read + conform + encode ─► [bounded queue] ─► pace ─► send + confirm ─► account
    (preflight)   (a worker thread,                           (pacing)  (stream, one per      (ledger)
                   frames.chunks)                                        socket)

* **check** (:mod:`.preflight`): the gateway answers, the flow and its interface exist, the
  collection exists or is made. Nothing is sent to a target that would drop it.
* **encode** (:mod:`.frames`): chunks of rows are conformed (bad rows rejected or raised with
  row and column) and encoded into messages on worker threads; each chunk becomes one
  :class:`ChunkWork` on a queue of ``2 * concurrency`` chunks, so memory stays flat.
* **pace** (:mod:`.pacing`): a fixed rate, or the stores' own progress (``"auto"``).
* **send + confirm** (:mod:`.stream`): one :class:`~.stream.ImportStream` per socket; a
  message is delivered when a PONG to a later PING, or the clean close, proves the gateway
  took it in; a dropped connection is reconnected and its unconfirmed window written again.
* **account** (:mod:`.ledger`): the report, the checkpoint (delivered messages only) and the
  progress display advance on delivery, never on a write.

After the last message: optionally wait until the stores caught up (``wait="stored"``) and
read back what was stored (``verify=True``).
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import pyarrow as pa

from ..errors import AuthenticationError, InputError, TgConnectError
from ..protocol import messages, schemas
from ..protocol.columns import ExtraColumns
from ..protocol.conform import Conformed, Conformer, OnError
from ..protocol.endpoints import bulk_url, is_loopback, redact
from ..readers import open_source
from ..readers.base import Source
from ..readers.files import FileEntry, FilesSource
from ..target import Target
from ..transport.connect import MAX_FRAME
from ..wording import setting
from .checkpoint import Checkpoint
from .cores import record_core
from .frames import chunk_rows, chunks, item_count, split_frame
from .ledger import Ledger
from .pacing import Pacer, PacingStopped, StoreWatch, make_pacer, wait_stored, watch_stores
from .preflight import check_load_target, token_advice
from .progress import ProgressArg, ProgressSink
from .report import FileReport, FileStatus, LoadReport
from .stream import DeliveryPolicy, ImportStream, Outgoing
from .verify import VERIFIABLE, SentRows, averify

# Rows per import message, and a byte cap per message (a 384-float row is ~4 KB of JSON).
DEFAULT_BATCH_SIZE = 1000
DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024
DEFAULT_RETRIES = 5
DEFAULT_WAIT_TIMEOUT = 600.0
Wait = Literal["delivered", "stored"]
Rate = float | Literal["auto"] | None


@dataclass
class ChunkWork:
    """What the encode stage hands the send stage for one input chunk."""

    messages: list[Outgoing] = field(default_factory=list)
    skipped_rows: int = 0  # rows whose messages an earlier run delivered (checkpoint)
    conformed: Conformed | None = None  # for its rejections
    error: BaseException | None = None  # the input failed here: send what precedes it, then stop


_END = ChunkWork()  # one per sender: no more work


@dataclass
class LoadSpec:
    """A load's settings after validation (see :func:`aload` for each)."""

    kind: schemas.Kind
    flow: str
    collection: str
    batch_size: int
    max_batch_bytes: int
    concurrency: int
    compression: str | None
    rate: Rate
    wait: Wait
    wait_timeout: float
    verify: bool
    verify_timeout: float
    create_collection: bool
    policy: DeliveryPolicy


def _spec(
    target: Target,
    kind: str,
    flow: str,
    collection: str,
    batch_size: int,
    max_batch_bytes: int,
    concurrency: int,
    compression: str | None,
    max_rows_per_second: Rate,
    wait: str,
    wait_timeout: float,
    verify: bool,
    verify_timeout: float,
    create_collection: bool,
    retries: int,
) -> LoadSpec:
    kind_name = schemas.normalise_kind(kind)
    _check_sizes(batch_size, max_batch_bytes, concurrency)
    compression = _compression(target, compression)
    _check_rate(max_rows_per_second)
    if wait not in ("delivered", "stored"):
        raise ValueError(f"wait must be 'delivered' or 'stored', not {wait!r}")
    if retries < 0:
        raise ValueError("retries must be 0 or more")
    if verify and kind_name not in VERIFIABLE:
        raise InputError(
            f"{setting('verify', True)} needs a read path, and the gateway has one for"
            f" {' and '.join(VERIFIABLE)} only, not {kind_name}: load {kind_name} without it"
        )
    return LoadSpec(
        kind_name,
        flow,
        collection,
        batch_size,
        max_batch_bytes,
        concurrency,
        compression,
        max_rows_per_second,
        cast(Wait, wait),
        wait_timeout,
        verify,
        verify_timeout,
        create_collection,
        DeliveryPolicy(retries=retries),
    )


def _check_sizes(batch_size: int, max_batch_bytes: int, concurrency: int) -> None:
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if not 0 < max_batch_bytes <= MAX_FRAME:
        raise ValueError(f"max_batch_bytes must be between 1 and {MAX_FRAME:,} (the gateway's frame limit)")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")


def _compression(target: Target, compression: str | None) -> str | None:
    """The socket compression asked for; ``"auto"``: none on loopback, deflate elsewhere."""
    if compression == "auto":
        compression = None if is_loopback(target.url) else "deflate"
    if compression not in (None, "deflate"):
        raise ValueError("compression must be None, 'deflate' or 'auto'")
    return compression


def _check_rate(max_rows_per_second: Rate) -> None:
    if isinstance(max_rows_per_second, str) and max_rows_per_second != "auto":
        raise ValueError(f"max_rows_per_second must be a number, 'auto' or None, not {max_rows_per_second!r}")
    if isinstance(max_rows_per_second, (int, float)) and not max_rows_per_second > 0:
        raise ValueError("max_rows_per_second must be positive")


class _Encoder:
    """The encode stage: reads, conforms and encodes on a worker thread, and queues one
    :class:`ChunkWork` per chunk for the senders."""

    def __init__(
        self,
        source: Source,
        conformer: Conformer,
        spec: LoadSpec,
        meta: messages.Metadata,
        ledger: Ledger,
        checkpoint: Checkpoint | None,
        sent_rows: SentRows | None,
        encoders: int,
        queue: asyncio.Queue[ChunkWork],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.source = source
        self.conformer = conformer
        self.spec = spec
        self.meta = meta
        self.ledger = ledger
        self.checkpoint = checkpoint
        self.sent_rows = sent_rows
        self.encoders = encoders
        self.queue = queue
        self.loop = loop
        self.stopping = False
        self.splittable = False  # keep what each frame was encoded from, for the pace stage to cut

    def _put(self, work: ChunkWork) -> None:
        asyncio.run_coroutine_threadsafe(self.queue.put(work), self.loop).result()

    def run(self) -> None:
        seq = 0
        spec = self.spec
        try:
            for chunk in chunks(
                self.source.open(),
                self.conformer,
                spec.kind,
                self.meta,
                spec.batch_size,
                spec.max_batch_bytes,
                self.encoders,
                splittable=self.splittable,
            ):
                if self.stopping:
                    return
                conformed = chunk.conformed
                self.ledger.report.rows_read += item_count(chunk)
                if self.sent_rows is not None and conformed is not None and conformed.batch.num_rows:
                    index = (
                        conformed.row_index.to_numpy()
                        if conformed.row_index is not None
                        else np.arange(chunk.offset, chunk.offset + conformed.batch.num_rows)
                    )
                    self.sent_rows.add(conformed.batch, index)
                work = ChunkWork(conformed=conformed if conformed is not None and conformed.rejections else None)
                for frame in chunk.frames:
                    batch_id = self.checkpoint.batch_id(frame.data) if self.checkpoint is not None else None
                    if batch_id is not None and self.checkpoint is not None and batch_id in self.checkpoint.sent:
                        work.skipped_rows += frame.rows
                    else:
                        work.messages.append(Outgoing(seq, frame, batch_id))
                        seq += 1
                self.ledger.register(work.messages)
                if conformed is not None and conformed.error is not None:
                    work.error = conformed.error
                self.ledger.advance(chunk.offset + item_count(chunk))
                self._put(work)
                if work.error is not None:
                    return
        except BaseException as exc:  # handed to a sender, which owns the error path
            self._put(ChunkWork(error=exc))
        finally:
            for _ in range(spec.concurrency):
                self._put(_END)


class _Senders:
    """The pace, send and confirm stages: ``concurrency`` streams sharing one queue."""

    def __init__(
        self,
        url: str,
        target: Target,
        spec: LoadSpec,
        meta: messages.Metadata,
        ledger: Ledger,
        pacer: Pacer,
        queue: asyncio.Queue[ChunkWork],
    ) -> None:
        self.spec = spec
        self.meta = meta
        self.ledger = ledger
        self.pacer = pacer
        self.queue = queue
        self.stop = asyncio.Event()
        self.input_error: BaseException | None = None
        self.streams = [
            ImportStream(
                url,
                verify=target.verify,
                timeout=target.timeout,
                compression=spec.compression,
                policy=spec.policy,
                on_delivered=ledger.delivered,
                on_resend=ledger.resent,
            )
            for _ in range(spec.concurrency)
        ]

    async def _run(self, stream: ImportStream) -> None:
        try:
            try:
                await self._send_all(stream)
            except PacingStopped:  # another stream failed while this one waited for the stores
                pass
            await stream.finish()  # the close confirms what is still unconfirmed
        except BaseException:
            self.stop.set()
            self.pacer.stop()
            await stream.abort()
            raise

    async def _send_all(self, stream: ImportStream) -> None:
        # After another stream failed (stop), this one takes no more work: it closes, which
        # confirms what it wrote.
        while not self.stop.is_set() and (work := await self.queue.get()) is not _END:
            if work.conformed is not None:
                self.ledger.rejected(work.conformed)
            if work.skipped_rows:
                self.ledger.skipped(work.skipped_rows)
            for item in work.messages:
                if self.stop.is_set():
                    break
                for part in self._parts(item):
                    if not self.pacer.ready(part.frame.rows):
                        # The stores' progress is matched against delivered messages: confirm
                        # what this socket wrote before waiting on it.
                        await stream.flush()
                    await self.pacer.acquire(part.frame.rows)
                    await stream.send(part)
                    self.ledger.written(part)
            if work.error is not None:
                if not isinstance(work.error, InputError):
                    raise work.error
                self.input_error = work.error  # what precedes the bad row still goes

    def _parts(self, item: Outgoing) -> list[Outgoing]:
        """``item``, or the smaller messages the pace stage wants it cut into."""
        limit = self.pacer.max_rows()
        if limit is None or item.frame.rows <= limit or item.frame.source is None:
            return [item]
        frames = split_frame(item.frame, self.spec.kind, self.meta, limit, self.spec.max_batch_bytes)
        parts = [Outgoing(item.seq, frame, None, parent=item, part=i) for i, frame in enumerate(frames)]
        self.ledger.split(item, parts)
        return parts

    async def run(self) -> None:
        """Send everything; on the first failure the other streams stop taking work, close
        (confirming what they wrote) and the failure is raised."""
        tasks = [asyncio.ensure_future(self._run(s)) for s in self.streams]
        try:
            results = await asyncio.gather(*tasks, return_exceptions=True)
        except BaseException:  # cancelled: abort everything
            for task in tasks:
                task.cancel()
            for stream in self.streams:
                await stream.abort()
            raise
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]
        if self.input_error is not None:
            raise self.input_error

    def drain(self) -> None:
        """Take what is left in the queue so a producer blocked on it can finish."""
        while True:
            try:
                work = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if work.conformed is not None:
                self.ledger.rejected(work.conformed)


async def aload(
    data: Any,
    target: Target,
    *,
    kind: str = "triples",
    flow: str = "default",
    collection: str = "default",
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    on_error: OnError = "raise",
    columns: Mapping[str, str] | None = None,
    extra_columns: ExtraColumns = "error",
    document_id: str | None = None,
    progress: ProgressArg = False,
    dim: int | None = None,
    create_collection: bool = True,
    compression: str | None = "auto",
    concurrency: int = 1,
    max_rows_per_second: Rate = "auto",
    retries: int = DEFAULT_RETRIES,
    wait: Wait = "delivered",
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
    checkpoint: Any = None,
    verify: bool = False,
    verify_timeout: float = 60.0,
    format: str | None = None,
    read_options: Mapping[str, Any] | None = None,
    fail_fast: bool = False,
    encoders: int = 2,
) -> LoadReport:
    """Send ``data`` to the import socket of ``kind``; see :func:`tg_connect.to_trustgraph`."""
    spec = _spec(
        target,
        kind,
        flow,
        collection,
        batch_size,
        max_batch_bytes,
        concurrency,
        compression,
        max_rows_per_second,
        wait,
        wait_timeout,
        verify,
        verify_timeout,
        create_collection,
        retries,
    )
    opened = _open(data, spec, columns, format, read_options, fail_fast)
    conformer = Conformer(
        spec.kind, on_error=on_error, columns=columns, source=opened.name, dim=dim, extra_columns=extra_columns
    )
    source = await _columns_checked(opened, conformer)

    ckpt = _checkpoint(checkpoint, target, spec, batch_size, document_id)
    doc = document_id or (ckpt.document_id if ckpt is not None else None) or f"tg-connect-{uuid.uuid4()}"
    report = LoadReport(spec.kind, redact(target.url), flow, collection, doc)

    checked = await check_load_target(target, spec.kind, flow, collection, create_collection=create_collection)
    await record_core(target, spec.kind, doc, collection)  # a read by collection finds its core
    watch: StoreWatch | None = None
    if spec.rate == "auto" or spec.wait == "stored":
        watch = await watch_stores(target, checked.topic)
    pacer = await make_pacer(spec.rate, watch, target.url, batch_size)
    if pacer.note:
        report.notes.append(pacer.note)
    if ckpt is not None:
        ckpt.open(doc)

    sink = ProgressSink(progress, source.total_rows, f"load {spec.kind}")
    ledger = Ledger(report, sink, ckpt, pacer)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[ChunkWork] = asyncio.Queue(2 * spec.concurrency)  # chunks of ~65,536 rows
    sent_rows = SentRows() if verify else None
    meta = messages.Metadata(doc, collection, doc)
    encoder = _Encoder(source, conformer, spec, meta, ledger, ckpt, sent_rows, encoders, queue, loop)
    encoder.splittable = pacer.splits
    senders = _Senders(
        bulk_url(target.url, "import", flow, spec.kind, target.token, target.workspace),
        target,
        spec,
        meta,
        ledger,
        pacer,
        queue,
    )
    started = time.monotonic()
    try:
        failure = await _run_stages(encoder, senders, loop)
    finally:
        await pacer.aclose()
        report.seconds = time.monotonic() - started
        if ckpt is not None:
            ckpt.close()
    _account_input(report, ledger, opened)
    if failure is not None:
        failure = await _failed(failure, target, report, ledger, source.total_rows, sink, watch)
        if isinstance(failure, TgConnectError):
            failure.report = report  # type: ignore[attr-defined]
        raise failure
    finished = False
    try:
        if spec.wait == "stored":
            await _wait_stored(report, ledger, watch, spec.wait_timeout)
        if sent_rows is not None:
            await _verify(report, target, spec, doc, sent_rows)
        finished = True
    finally:
        sink.close(failed=not finished)
        await _stop_watching(watch)
        report.seconds = time.monotonic() - started
    return report


def _open(
    data: Any,
    spec: LoadSpec,
    columns: Mapping[str, str] | None,
    format: str | None,
    read_options: Mapping[str, Any] | None,
    fail_fast: bool = False,
) -> Source:
    """The load's source, reading its columns of few distinct values as dictionaries; a file
    of many that fails stops the load only with ``fail_fast``."""
    file_names = {canonical: name for name, canonical in (columns or {}).items()}
    few = [file_names.get(c, c) for c in schemas.FEW_DISTINCT.get(spec.kind, ())]
    return open_source(
        data,
        chunk_rows(spec.kind, spec.batch_size),
        kind=spec.kind,
        format=format,
        dictionary_columns=few,
        fail_fast=fail_fast,
        **dict(read_options or {}),
    )


async def _columns_checked(source: Source, conformer: Conformer) -> Source:
    """``source``, its columns checked against the kind before the load asks or sends
    anything: a table with columns the kind does not use, or without one it needs, fails
    here, not after the collection was created. The first batch is read for its schema (on a
    worker thread) and handed on with the rest; an error reading it is raised where the load
    reads, as before, so it is reported with what the load did."""
    batches = source.open()

    def first() -> pa.RecordBatch | BaseException | None:
        try:
            return next(batches, None)
        except Exception as exc:  # raised again where the load reads the source
            return exc

    head = await asyncio.get_running_loop().run_in_executor(None, first)
    if isinstance(head, pa.RecordBatch):
        conformer.check_columns(head.schema)
    return Source(source.name, lambda: _resumed(head, batches), source.total_rows)


def _resumed(head: pa.RecordBatch | BaseException | None, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The batches of a source whose first was read already: ``head`` (or the error reading
    it), then the rest."""
    if isinstance(head, BaseException):
        raise head
    if head is not None:
        yield head
        yield from rest


def _account_input(report: LoadReport, ledger: Ledger, source: Source) -> None:
    """The report's rejected rows and, for many files, its account of each file."""
    if ledger.rejected_parts:
        report.rejected_rows = pa.Table.from_batches(ledger.rejected_parts)
    if isinstance(source, FilesSource):
        report.files = file_reports(source.files, report)


_FILE_STATUS: dict[str, FileStatus] = {
    "read": "read",
    "failed": "failed",
    "skipped": "skipped",
    "reading": "stopped",
    "pending": "not read",
}


def file_reports(entries: list[FileEntry], report: LoadReport) -> list[FileReport]:
    """One :class:`FileReport` per file of a many-file load; a rejection counts against the
    file its input row came from."""
    starts = [e.first_row for e in entries if e.rows]
    owners = [e for e in entries if e.rows]
    rejected = dict.fromkeys(range(len(owners)), 0)
    for rejection in report.rejections:
        at = bisect.bisect_right(starts, rejection.row) - 1
        if at >= 0:
            rejected[at] += 1
    counts = {id(e): rejected[i] for i, e in enumerate(owners)}
    return [
        FileReport(
            e.path,
            _FILE_STATUS[e.status],
            e.format,
            e.rows,
            counts.get(id(e), 0),
            _error_text(e.error, e.path) if e.error is not None else None,
            e.reason,
        )
        for e in entries
    ]


def _error_text(error: BaseException, path: str) -> str:
    """``error``'s message without the ``source`` it shares with its file's entry."""
    text = str(error)
    if isinstance(error, InputError) and error.source == path:
        text = text.replace(f" (source {path})", "").replace(f"(source {path}, ", "(")
    return text


async def _run_stages(encoder: _Encoder, senders: _Senders, loop: asyncio.AbstractEventLoop) -> BaseException | None:
    """Encode on a worker thread and send until both are done; what stopped the senders, if
    anything (the encoder's own failure raises)."""
    failure: BaseException | None = None
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tg-connect-read") as pool:
        producer = loop.run_in_executor(pool, encoder.run)
        try:
            await senders.run()
        except BaseException as exc:
            failure = exc
        finally:
            encoder.stopping = True
            while not producer.done():  # unblock the producer so its thread ends
                senders.drain()
                await asyncio.sleep(0.01)
            senders.drain()
        await producer
    return failure


def _checkpoint(
    checkpoint: Any, target: Target, spec: LoadSpec, batch_size: int, document_id: str | None
) -> Checkpoint | None:
    """The checkpoint file asked for (``None``: none), checked to be this load's."""
    if checkpoint is None:
        return None
    ckpt = Checkpoint(
        checkpoint,
        {
            "kind": spec.kind,
            "target": redact(target.url),
            "workspace": target.workspace,
            "flow": spec.flow,
            "collection": spec.collection,
            "batch_size": batch_size,
        },
    )
    if document_id is not None and ckpt.document_id not in (None, document_id):
        raise InputError(f"checkpoint was written for document_id {ckpt.document_id!r}", source=str(ckpt.path))
    return ckpt


async def _failed(
    failure: BaseException,
    target: Target,
    report: LoadReport,
    ledger: Ledger,
    total_rows: int | None,
    sink: ProgressSink,
    watch: StoreWatch | None,
) -> BaseException:
    """``failure``, made ready to raise: progress stopped, the report saying what was not sent."""
    if isinstance(failure, AuthenticationError):  # the import socket's handshake: say which
        failure = token_advice(target, failure)
    sink.close(failed=True)
    await _stop_watching(watch)
    report.unsent_ranges = ledger.undelivered(total_rows)
    report.error = f"{type(failure).__name__}: {failure}"
    return failure


async def _stop_watching(watch: StoreWatch | None) -> None:
    if watch is not None and watch.progress is not None:
        await watch.progress.aclose()


async def _verify(report: LoadReport, target: Target, spec: LoadSpec, doc: str, sent_rows: SentRows) -> None:
    """``verify=True``: read the rows back; the report says how many were found."""
    report.rows_confirmed, report.unconfirmed, missing = await averify(
        target, spec.kind, spec.flow, spec.collection, doc, sent_rows, spec.verify_timeout
    )
    report.rows_unconfirmed = missing


async def _wait_stored(report: LoadReport, ledger: Ledger, watch: StoreWatch | None, timeout: float) -> None:
    """``wait="stored"``: wait until the stores processed every delivered message, as far as
    the gateway's metrics show; the report says how far they got."""
    if watch is None or watch.progress is None:
        reason = watch.reason if watch is not None else "no metrics"
        report.notes.append(f"wait='stored': cannot see the stores ({reason}); rows stored unknown")
        report.stored_complete = False
        return
    messages_done = report.batches
    processed = await wait_stored(watch.progress, messages_done, timeout)
    report.rows_stored = ledger.rows_stored(min(processed, messages_done))
    report.stored_complete = processed >= messages_done
    if not report.stored_complete:
        report.notes.append(
            f"wait='stored': the stores had processed {processed:,} of {messages_done:,} messages after {timeout:g} s"
        )
