"""Loading: a bounded pipeline from a source to ``concurrency`` import WebSockets.

A producer thread reads, conforms and encodes (:mod:`.frames`) and hands frames through a
small queue to sender tasks on the event loop, one WebSocket each; the next chunk is encoded
while frames are on the wire. Memory is a few chunks whatever the input size. The gateway
never pushes back, so ``max_rows_per_second`` lets a load go no faster than the stores behind
the gateway can take it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pyarrow as pa
from websockets.exceptions import ConnectionClosed

from ..errors import GatewayConnectionError, InputError, TgConnectError
from ..protocol import messages, schemas
from ..protocol.conform import Conformer, OnError
from ..protocol.endpoints import bulk_url, is_loopback, redact
from ..readers import open_source
from ..target import Target
from ..transport.connect import open_websocket
from ..transport.rest import AsyncRestClient
from .checkpoint import Checkpoint
from .frames import Frame, chunk_rows, chunks, item_count
from .progress import ProgressArg, ProgressSink
from .report import LoadReport
from .verify import VERIFIABLE, SentRows, averify

# Rows per import message, and a byte cap for vector kinds (a 384-float row is ~4 KB of JSON).
DEFAULT_BATCH_SIZE = 1000
DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024
_END = object()


async def ensure_collection(target: Target, collection: str) -> None:
    """Create ``collection`` if the gateway does not list it.

    The real gateway's stores reject writes to an unknown collection, and its import
    sockets cannot say so (messages are redelivered forever), so this is checked first.
    """
    rest = AsyncRestClient(target.url, target.token, timeout=target.timeout, verify=target.verify)
    try:
        listed = await rest.global_service(
            "collection-management", {"operation": "list-collections", "workspace": target.workspace}
        )
        names = {c.get("collection") for c in listed.get("collections") or [] if isinstance(c, Mapping)}
        if collection not in names:
            await rest.global_service(
                "collection-management",
                {"operation": "update-collection", "workspace": target.workspace,
                 "collection": collection, "name": collection},
            )
    finally:
        await rest.aclose()


class RateLimiter:
    """Spaces sends so that rows go out at no more than ``rows_per_second`` on average."""

    def __init__(self, rows_per_second: float) -> None:
        if rows_per_second <= 0:
            raise ValueError("max_rows_per_second must be positive")
        self.rate = float(rows_per_second)
        self._next = time.monotonic()
        self._lock = asyncio.Lock()

    async def wait(self, rows: int) -> None:
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + rows / self.rate
        if start > now:
            await asyncio.sleep(start - now)


@dataclass
class _Queued:
    seq: int
    frame: Frame
    batch_id: str | None


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


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
    document_id: str | None = None,
    progress: ProgressArg = False,
    dim: int | None = None,
    create_collection: bool = True,
    compression: str | None = "auto",
    concurrency: int = 1,
    max_rows_per_second: float | None = None,
    checkpoint: Any = None,
    verify: bool = False,
    verify_timeout: float = 60.0,
    format: str | None = None,
    read_options: Mapping[str, Any] | None = None,
    encoders: int = 2,
) -> LoadReport:
    """Send ``data`` to the import socket of ``kind``; see :func:`tg_connect.to_trustgraph`."""
    kind_name = schemas.normalise_kind(kind)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if compression == "auto":
        compression = None if is_loopback(target.url) else "deflate"
    if compression not in (None, "deflate"):
        raise ValueError("compression must be None, 'deflate' or 'auto'")
    if verify and kind_name not in VERIFIABLE:
        raise ValueError(f"verify=True needs a read path; the gateway has one for {', '.join(VERIFIABLE)} only")
    sent_rows = SentRows() if verify else None
    limiter = RateLimiter(max_rows_per_second) if max_rows_per_second else None
    file_names = {canonical: name for name, canonical in (columns or {}).items()}
    few = [file_names.get(c, c) for c in schemas.FEW_DISTINCT.get(kind_name, ())]
    source = open_source(data, chunk_rows(kind_name, batch_size), kind=kind_name, format=format,
                         dictionary_columns=few, **dict(read_options or {}))

    ckpt: Checkpoint | None = None
    if checkpoint is not None:
        ckpt = Checkpoint(checkpoint, {
            "kind": kind_name, "target": redact(target.url), "workspace": target.workspace,
            "flow": flow, "collection": collection, "batch_size": batch_size,
        })
        if document_id is not None and ckpt.document_id not in (None, document_id):
            raise InputError(f"checkpoint was written for document_id {ckpt.document_id!r}",
                             source=str(ckpt.path))
        document_id = document_id or ckpt.document_id
    doc = document_id or f"tg-connect-{uuid.uuid4()}"
    url = bulk_url(target.url, "import", flow, kind_name, target.token, target.workspace)
    report = LoadReport(kind_name, redact(target.url), flow, collection, doc)
    conformer = Conformer(kind_name, on_error=on_error, columns=columns, source=source.name, dim=dim)
    meta = messages.Metadata(doc, collection, doc)
    rejected_parts: list[pa.RecordBatch] = []
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue(2 * concurrency)  # chunks of ~65,536 rows
    stopping = False
    queued_upto = 0  # every input row before this was queued, skipped or rejected
    pending: dict[int, tuple[int, int]] = {}  # frames queued or in flight, by sequence number
    started = time.monotonic()
    sink = ProgressSink(progress, source.total_rows, f"load {kind_name}")

    def put(item: Any) -> None:
        asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()

    def produce() -> None:
        nonlocal queued_upto
        seq = 0
        try:
            for chunk in chunks(source.open(), conformer, kind_name, meta, batch_size, max_batch_bytes, encoders):
                conformed = chunk.conformed
                report.rows_read += item_count(chunk)
                if sent_rows is not None and conformed is not None and conformed.batch.num_rows:
                    index = (conformed.row_index.to_numpy() if conformed.row_index is not None
                             else np.arange(chunk.offset, chunk.offset + conformed.batch.num_rows))
                    sent_rows.add(conformed.batch, index)
                if stopping:
                    return
                # One hand-over per chunk, not per frame: crossing threads costs more than a send.
                items: list[Any] = []
                if conformed is not None and conformed.rejections:
                    items.append(("rejected", conformed))
                for frame in chunk.frames:
                    batch_id = ckpt.batch_id(frame.data) if ckpt is not None else None
                    if batch_id is not None and ckpt is not None and batch_id in ckpt.sent:
                        items.append(("skipped", frame))
                    else:
                        pending[seq] = (frame.first_row, frame.last_row)
                        items.append(_Queued(seq, frame, batch_id))
                        seq += 1
                if conformed is not None and conformed.error is not None:
                    items.append(("error", conformed.error))
                put(items)
                queued_upto = chunk.offset + item_count(chunk)
                if conformed is not None and conformed.error is not None:
                    return
            for _ in range(concurrency):
                put(_END)
        except BaseException as exc:  # handed to the senders, which own the error path
            put(("error", exc))

    async def send_all(ws: Any) -> None:
        while True:
            got = await queue.get()
            if got is _END:
                return
            for item in got if isinstance(got, list) else [got]:
                await send_one(ws, item)

    async def send_one(ws: Any, item: Any) -> None:
        if isinstance(item, tuple):
            tag, value = item
            if tag == "error":
                raise value
            if tag == "rejected":
                report.rejections.extend(value.rejections)
                report.rows_rejected += len(value.rejections)
                rejected_parts.append(value.rejected_rows)
            elif tag == "skipped":
                report.rows_skipped += value.rows
                sink.update(value.rows, 0, 0)
            return
        queued: _Queued = item
        frame = queued.frame
        if limiter is not None:
            await limiter.wait(frame.rows)
        try:
            await ws.send(frame.data, text=True)
        except ConnectionClosed as exc:
            raise GatewayConnectionError(
                f"{redact(url)}: the gateway closed the import socket ({exc}); it does this when"
                " it cannot decode a message"
            ) from None
        pending.pop(queued.seq, None)
        if ckpt is not None and queued.batch_id is not None:
            ckpt.record(queued.batch_id)
        report.rows_sent += frame.rows
        report.batches += 1
        report.bytes_sent += len(frame.data)
        sink.update(frame.rows, len(frame.data))

    async def sender() -> None:
        ws = await open_websocket(url, verify=target.verify, timeout=target.timeout, compression=compression)
        try:
            await send_all(ws)
            await ws.close()
            await ws.wait_closed()
        finally:
            await ws.close()

    failure: BaseException | None = None
    try:
        if create_collection:
            await ensure_collection(target, collection)
        if ckpt is not None:
            ckpt.open(doc)
    except BaseException:
        sink.close()
        raise
    producer = loop.run_in_executor(None, produce)
    tasks = [asyncio.ensure_future(sender()) for _ in range(concurrency)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    except BaseException as exc:
        failure = exc
        stopping = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        while not producer.done():  # unblock the producer so its thread ends
            try:
                got = queue.get_nowait()
                for item in got if isinstance(got, list) else [got]:
                    if isinstance(item, tuple) and item[0] == "rejected":
                        report.rejections.extend(item[1].rejections)
                        report.rows_rejected += len(item[1].rejections)
                        rejected_parts.append(item[1].rejected_rows)
            except asyncio.QueueEmpty:
                await asyncio.sleep(0.01)
    finally:
        report.seconds = time.monotonic() - started
        sink.close()
        if ckpt is not None:
            ckpt.close()
    await producer
    if rejected_parts:
        report.rejected_rows = pa.Table.from_batches(rejected_parts)
    if failure is not None:
        end = source.total_rows - 1 if source.total_rows is not None else None
        unsent: list[tuple[int, int | None]] = list(_merge(list(pending.values())))
        if end is None or queued_upto <= end:
            unsent.append((queued_upto, end))
        report.unsent_ranges = unsent
        report.error = f"{type(failure).__name__}: {failure}"
        if isinstance(failure, TgConnectError):
            failure.report = report  # type: ignore[attr-defined]
        raise failure
    if sent_rows is not None:
        report.rows_confirmed, report.unconfirmed = await averify(
            target, kind_name, flow, collection, doc, sent_rows, verify_timeout)
    return report
