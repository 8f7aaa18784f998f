"""Loading: a bounded pipeline from a source to one import WebSocket.

read -> conform (reject bad rows into the report) -> encode (vectorised) runs in a worker
thread; sending runs on the event loop. A small queue between them lets the next message be
encoded while the previous one is on the wire and keeps memory flat for any input size.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Iterator, Mapping

import pyarrow as pa
from websockets.exceptions import ConnectionClosed

from ..errors import GatewayConnectionError, TgConnectError
from ..protocol import messages, schemas
from ..protocol.conform import Conformer, OnError
from ..protocol.endpoints import bulk_url, redact
from ..readers import open_source
from ..transport.connect import open_websocket
from ..transport.rest import AsyncRestClient
from .progress import ProgressArg, ProgressSink
from .report import LoadReport
from ..target import Target

# Rows per import message, and a byte cap for vector kinds (a 384-float row is ~4 KB of JSON).
DEFAULT_BATCH_SIZE = 1000
DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024
_QUEUE_DEPTH = 4
READ_CHUNK_ROWS = 65_536
_END = object()


def _rows_per_message(kind: str, batch: pa.RecordBatch, batch_size: int, max_bytes: int) -> int:
    if "vector" in batch.schema.names and batch.num_rows:
        dim: int = batch.schema.field("vector").type.list_size
        per_row = 64 + dim * 14  # worst-case float text plus the entity or chunk id
        return max(1, min(batch_size, max_bytes // per_row))
    return batch_size


class _Frame:
    __slots__ = ("data", "rows", "first_row", "last_row")

    def __init__(self, data: bytes, rows: int, first_row: int, last_row: int) -> None:
        self.data, self.rows, self.first_row, self.last_row = data, rows, first_row, last_row


def _frames(source_batches: Iterator[pa.RecordBatch], conformer: Conformer, kind: schemas.Kind,
            meta: messages.Metadata, batch_size: int, max_bytes: int, report: LoadReport) -> Iterator[_Frame | tuple[str, Any]]:
    """Encoded frames in input order, interleaved with ('rejected', Conformed) notes.

    Input arrives in large chunks: Arrow kernels cost a fixed overhead per call, so a chunk is
    conformed and encoded once and then cut into messages of ``batch_size`` rows.
    """
    offset = 0
    for batch in source_batches:
        if batch.num_rows == 0:
            continue
        conformed = conformer.conform(batch, offset)
        report.rows_read += batch.num_rows if conformed.error is None else conformed.batch.num_rows
        if conformed.rejections:
            yield ("rejected", conformed)
        index = conformed.row_index
        good = conformed.batch
        step = _rows_per_message(kind, good, batch_size, max_bytes)
        for piece in messages.split_for_messages(kind, good):
            piece_index = index if piece is good else None
            for data, start, stop in messages.encode_messages(kind, piece, meta, step):
                if piece_index is not None:
                    first, last = piece_index[start].as_py(), piece_index[stop - 1].as_py()
                elif piece is good:
                    first, last = offset + start, offset + stop - 1
                else:  # rows split by schema name: the message spans the chunk
                    first, last = offset, offset + batch.num_rows - 1
                yield _Frame(data, stop - start, first, last)
        conformed.raise_error()
        offset += batch.num_rows


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
    compression: str | None = None,
) -> LoadReport:
    """Send ``data`` to the import socket of ``kind``; see :func:`tg_connect.to_trustgraph`."""
    kind_name = schemas.normalise_kind(kind)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    # Read in large chunks (see _frames); messages are cut to batch_size rows afterwards.
    source = open_source(data, max(batch_size, READ_CHUNK_ROWS))
    doc = document_id or f"tg-connect-{uuid.uuid4()}"
    url = bulk_url(target.url, "import", flow, kind_name, target.token, target.workspace)
    report = LoadReport(kind_name, redact(target.url), flow, collection, doc)
    conformer = Conformer(kind_name, on_error=on_error, columns=columns, source=source.name, dim=dim)
    meta = messages.Metadata(doc, collection, doc)
    rejected_parts: list[pa.RecordBatch] = []
    started = time.monotonic()
    sink = ProgressSink(progress, source.total_rows, f"load {kind_name}")
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue(_QUEUE_DEPTH)
    stop = False

    def produce() -> None:
        try:
            for item in _frames(source.open(), conformer, kind_name, meta, batch_size, max_batch_bytes, report):
                if stop:
                    return
                asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()
            asyncio.run_coroutine_threadsafe(queue.put(_END), loop).result()
        except BaseException as exc:  # handed to the sender, which owns the error path
            asyncio.run_coroutine_threadsafe(queue.put(("error", exc)), loop).result()

    failure: BaseException | None = None
    next_unsent: int | None = None
    try:
        if create_collection:
            await ensure_collection(target, collection)
        ws = await open_websocket(url, verify=target.verify, timeout=target.timeout, compression=compression)
    except BaseException:
        sink.close()
        raise
    producer = loop.run_in_executor(None, produce)
    try:
        while True:
            item = await queue.get()
            if item is _END:
                break
            if isinstance(item, tuple) and item[0] == "error":
                raise item[1]
            if isinstance(item, tuple) and item[0] == "rejected":
                conformed = item[1]
                report.rejections.extend(conformed.rejections)
                report.rows_rejected += len(conformed.rejections)
                rejected_parts.append(conformed.rejected_rows)
                continue
            frame: _Frame = item
            next_unsent = frame.first_row
            try:
                await ws.send(frame.data, text=True)
            except ConnectionClosed as exc:
                raise GatewayConnectionError(
                    f"{redact(url)}: the gateway closed the import socket ({exc}); it does this when"
                    " it cannot decode a message"
                ) from None
            next_unsent = None
            report.rows_sent += frame.rows
            report.batches += 1
            report.bytes_sent += len(frame.data)
            sink.update(frame.rows, len(frame.data))
        await ws.close()
        await ws.wait_closed()
    except BaseException as exc:
        failure = exc
        stop = True
        while not producer.done():  # unblock the producer so its thread ends
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                await asyncio.sleep(0.01)
        await ws.close()
    finally:
        report.seconds = time.monotonic() - started
        sink.close()
    await producer
    if rejected_parts:
        report.rejected_rows = pa.Table.from_batches(rejected_parts)
    if failure is not None:
        # Frames leave the queue in input order, so everything before this row was sent.
        first = next_unsent if next_unsent is not None else report.rows_read
        report.unsent_ranges = [(first, source.total_rows - 1 if source.total_rows is not None else None)]
        report.error = f"{type(failure).__name__}: {failure}"
        if isinstance(failure, TgConnectError):
            failure.report = report  # type: ignore[attr-defined]
        raise failure
    return report
