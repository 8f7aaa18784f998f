"""From a source to encoded import frames: read, conform, encode, in input order.

Chunks of ~65,536 rows are conformed and encoded as a whole (an Arrow kernel costs a fixed
overhead per call), then cut into messages of ``batch_size`` rows (fewer where a message would
exceed ``max_bytes``), each a slice of one buffer.
Arrow kernels release the GIL, so up to ``encoders`` chunks are conformed and encoded at once
on a small thread pool; results are still yielded strictly in input order, and at most
``encoders + 1`` chunks are held, so memory stays flat for any input size.
"""

from __future__ import annotations

import collections
import concurrent.futures
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ..protocol import messages, schemas
from ..protocol.conform import Conformed, Conformer

READ_CHUNK_ROWS = 65_536
# Vector rows are ~100x wider: chunks of them are cut smaller so a chunk stays tens of MB.
VECTOR_CHUNK_ROWS = 4_096
VECTOR_KINDS = ("graph-embeddings", "document-embeddings")


def chunk_rows(kind: str, batch_size: int) -> int:
    """Rows to read and encode at once for ``kind``."""
    return max(batch_size, VECTOR_CHUNK_ROWS if kind in VECTOR_KINDS else READ_CHUNK_ROWS)


@dataclass(frozen=True)
class FrameRows:
    """What a frame was encoded from, so the send stage can cut it into smaller messages: the
    canonical batch, the frame's rows in it (``start`` to ``stop``), and how to find a row's
    input row number (``index``, else ``offset`` plus its position). ``spread``: a rows batch
    split by schema name, whose rows are spread over the chunk (parts keep the whole span)."""

    batch: pa.RecordBatch
    start: int
    stop: int
    offset: int
    index: pa.Array | None = None
    spread: bool = False

    def input_rows(self, start: int, stop: int) -> tuple[int, int]:
        """First and last input row of the batch's rows ``start`` to ``stop`` (not spread)."""
        if self.index is not None:
            return int(self.index[start].as_py()), int(self.index[stop - 1].as_py())
        return self.offset + start, self.offset + stop - 1


@dataclass(frozen=True)
class Frame:
    """One import message: its bytes, and the input rows it carries (first..last); with
    ``source``, what it was encoded from (see :func:`split_frame`)."""

    data: messages.FrameData
    rows: int
    first_row: int
    last_row: int
    source: FrameRows | None = None


@dataclass
class Chunk:
    """The frames of one input chunk, with what the chunk rejected and where it ends."""

    offset: int
    num_rows: int
    frames: list[Frame] = field(default_factory=list)
    conformed: Conformed | None = None


def encode_chunk(
    conformer: Conformer,
    kind: schemas.Kind,
    meta: messages.Metadata,
    batch: pa.RecordBatch,
    offset: int,
    batch_size: int,
    max_bytes: int,
    splittable: bool = False,
) -> Chunk:
    """Conform and encode one chunk (run on a worker thread).

    A row whose message alone would pass the gateway's frame limit is a bad row (rejected, or
    raised with its row and column): the gateway would close the socket on it. No message is
    cut larger than that limit either, whatever ``max_bytes`` says. ``splittable``: each frame
    keeps what it was encoded from, so the send stage can cut it smaller (:func:`split_frame`).
    """
    conformed = conformer.conform(batch, offset, frame_limit=messages.FrameLimit.of(kind, meta))
    max_bytes = min(max_bytes, messages.GATEWAY_MAX_FRAME - 1)  # the gateway refuses a frame of the limit
    chunk = Chunk(offset, batch.num_rows, conformed=conformed)
    good = conformed.batch
    index = conformed.row_index
    for piece in messages.split_for_messages(kind, good):
        whole = piece is good
        hints = conformed.hints if whole else messages.NO_HINTS
        for data, start, stop in messages.encode_messages(kind, piece, meta, batch_size, hints, max_bytes):
            if whole and index is not None:
                first, last = index[start].as_py(), index[stop - 1].as_py()
            elif whole:
                first, last = offset + start, offset + stop - 1
            else:  # rows split by schema name: a message's rows are spread over the chunk
                first, last = offset, offset + batch.num_rows - 1
            source = FrameRows(piece, start, stop, offset, index if whole else None, not whole) if splittable else None
            chunk.frames.append(Frame(data, stop - start, first, last, source))
    return chunk


def split_frame(
    frame: Frame, kind: schemas.Kind, meta: messages.Metadata, max_rows: int, max_bytes: int
) -> list[Frame]:
    """``frame`` as messages of at most ``max_rows`` rows (the same rows, in order), encoded
    again from its source; a frame without one, or small enough, comes back whole."""
    source = frame.source
    if source is None or frame.rows <= max_rows:
        return [frame]
    rows = source.batch.slice(source.start, source.stop - source.start)
    out = []
    for data, start, stop in messages.encode_messages(kind, rows, meta, max_rows, messages.NO_HINTS, max_bytes):
        a, b = source.start + start, source.start + stop
        if source.spread:
            first, last = frame.first_row, frame.last_row
        else:
            first, last = source.input_rows(a, b)
        out.append(
            Frame(
                data,
                stop - start,
                first,
                last,
                FrameRows(source.batch, a, b, source.offset, source.index, source.spread),
            )
        )
    return out


def chunks(
    batches: Iterator[pa.RecordBatch],
    conformer: Conformer,
    kind: schemas.Kind,
    meta: messages.Metadata,
    batch_size: int,
    max_bytes: int,
    encoders: int = 2,
    splittable: bool = False,
) -> Iterator[Chunk]:
    """Encoded chunks of ``batches`` in input order (see the module docstring).

    The first chunk is conformed alone: it fixes the job's schema (and vector dimension),
    which later chunks, conformed concurrently, only read.
    """
    offset = 0
    pending: collections.deque[concurrent.futures.Future[Chunk]] = collections.deque()
    pool: concurrent.futures.ThreadPoolExecutor | None = None
    try:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if offset == 0 or encoders <= 1:
                done = encode_chunk(conformer, kind, meta, batch, offset, batch_size, max_bytes, splittable)
                while pending:
                    yield pending.popleft().result()
                yield done
            else:
                if pool is None:
                    pool = concurrent.futures.ThreadPoolExecutor(encoders, thread_name_prefix="tg-connect-encode")
                pending.append(
                    pool.submit(encode_chunk, conformer, kind, meta, batch, offset, batch_size, max_bytes, splittable)
                )
                while len(pending) > encoders:
                    yield pending.popleft().result()
            offset += batch.num_rows
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def item_count(chunk: Chunk) -> int:
    """Rows in a chunk that were read (all of them, or up to the first bad one)."""
    conformed: Any = chunk.conformed
    if conformed is not None and conformed.error is not None:
        return int(conformed.batch.num_rows)
    return chunk.num_rows
