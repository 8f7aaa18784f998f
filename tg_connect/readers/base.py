"""What every reader yields: a named stream of Arrow record batches, and shared helpers."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import InputError
from ..protocol import schemas


@dataclass
class Source:
    """A stream of record batches from one input, with a name for error messages.

    ``total_rows`` is known for tables and Parquet files (from metadata), else ``None``.
    ``open`` starts the stream; it is called once per job. A source over a one-shot input
    (a generator, a record batch reader) can be opened only once.
    """

    name: str
    open: Callable[[], Iterator[pa.RecordBatch]]
    total_rows: int | None = None


def rebatch(
    batches: Iterable[pa.RecordBatch], batch_size: int, min_rows: int | None = None
) -> Iterator[pa.RecordBatch]:
    """Batches of exactly ``batch_size`` rows (the last may be shorter), in order.

    Large batches are sliced (no copy); small ones are gathered and concatenated. With
    ``min_rows``, sizes may vary between ``min_rows`` and ``batch_size``: a batch of at least
    ``min_rows`` rows with nothing gathered before it passes as it is (sliced if too large),
    so a source whose batches already have a workable size is never copied. A change of
    schema flushes what is gathered, so a later consumer sees the change and can name it. If
    the upstream iterator raises, the rows gathered so far are yielded first, then the error
    propagates: nothing read before a corrupt part of a file is held back.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    pending = _Pending(batch_size)
    upstream = iter(batches)
    while True:
        try:
            batch = next(upstream)
        except StopIteration:
            break
        except BaseException:
            if pending.held:
                yield pending.flush()
            raise
        if pending.parts and not batch.schema.equals(pending.parts[0].schema):
            yield pending.flush()
        start = 0
        if min_rows is not None and not pending.parts:
            start = yield from _as_it_is(batch, batch_size, min_rows)
        yield from pending.gather(batch, start)
        if batch.num_rows == 0 and not pending.parts:
            pending.parts.append(batch)  # keep the schema of an empty input
    if pending.held or pending.parts:
        yield pending.flush()


def _as_it_is(batch: pa.RecordBatch, batch_size: int, min_rows: int) -> Generator[pa.RecordBatch, None, int]:
    """The parts of ``batch`` workable as they are (``min_rows`` to ``batch_size`` rows):
    slices, no copy. Returns the row the rest starts at."""
    start, n = 0, batch.num_rows
    while n - start >= min_rows:
        piece = batch.slice(start, batch_size) if start or n > batch_size else batch
        start += piece.num_rows
        yield piece
    return start


class _Pending:
    """Rows gathered towards a batch of ``size`` rows."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.parts: list[pa.RecordBatch] = []
        self.held = 0

    def gather(self, batch: pa.RecordBatch, start: int) -> Iterator[pa.RecordBatch]:
        """Gather ``batch`` from row ``start`` on; yield each batch of ``size`` rows completed."""
        n = batch.num_rows
        while start < n:
            room = self.size - self.held
            piece = batch.slice(start, room) if start or n - start > room else batch
            self.parts.append(piece)
            self.held += piece.num_rows
            start += piece.num_rows
            if self.held == self.size:
                yield self.flush()

    def flush(self) -> pa.RecordBatch:
        """What is gathered, as one batch; nothing is held after."""
        batch = _concat(self.parts)
        self.parts, self.held = [], 0
        return batch


def _concat(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    nonempty = [b for b in batches if b.num_rows]
    if len(nonempty) <= 1:
        return nonempty[0] if nonempty else batches[0]
    concat = getattr(pa, "concat_batches", None)  # pyarrow >= 19
    if concat is not None:
        joined: pa.RecordBatch = concat(nonempty)
        return joined
    return pa.Table.from_batches(nonempty).combine_chunks().to_batches()[0]


def check_same_columns(first: pa.Schema, schema: pa.Schema, source: str) -> None:
    """Raise an :class:`InputError` naming the column when ``schema``'s columns or their types
    differ from ``first``'s (the order may differ: callers select ``first.names``)."""
    old = {f.name: f.type for f in first}
    new = {f.name: f.type for f in schema}
    if len(new) != len(schema.names):
        raise InputError(f"duplicate column names {schema.names}", source=source)
    for name in list(old) + [n for n in new if n not in old]:
        if name not in new:
            raise InputError("column missing (the first input has it)", source=source, column=name)
        if name not in old:
            raise InputError("column not in the first input", source=source, column=name)
        if old[name] != new[name]:
            raise InputError(
                f"column has type {new[name]}; the first input has {old[name]}", source=source, column=name
            )


def chain(parts: Sequence[tuple[str, Callable[[], Iterator[pa.RecordBatch]]]]) -> Iterator[pa.RecordBatch]:
    """The batches of several inputs in order, each checked against the first's columns.

    A later input whose columns are in another order is reordered; one that lacks a column,
    has an extra one or another type is an :class:`InputError` naming that input. The
    :data:`~tg_connect.protocol.schemas.INPUT_ERROR` column of a batch with unreadable
    records is not one of the input's columns: it is kept as it is.
    """
    first: pa.Schema | None = None
    for name, open_part in parts:
        for batch in open_part():
            batch, errors = split_input_errors(batch)
            if first is None:
                first = batch.schema
            elif batch.schema is not first and not batch.schema.equals(first):
                check_same_columns(first, batch.schema, name)
                batch = batch.select(first.names)
                if not batch.schema.equals(first):  # nullability or metadata only
                    batch = pa.RecordBatch.from_arrays(batch.columns, schema=first)
            if errors is not None:
                batch = batch.append_column(pa.field(schemas.INPUT_ERROR, schemas.INPUT_ERROR_TYPE), errors)
            yield batch


def split_input_errors(batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.Array | None]:
    """``batch`` without its :data:`~tg_connect.protocol.schemas.INPUT_ERROR` column, and
    that column (``None`` when the batch has none)."""
    if schemas.INPUT_ERROR not in batch.schema.names:
        return batch, None
    return batch.drop_columns([schemas.INPUT_ERROR]), batch.column(schemas.INPUT_ERROR)


def with_input_errors(
    batch: pa.RecordBatch, errors: Mapping[int, tuple[str | None, str]], source: str | None = None
) -> pa.RecordBatch:
    """``batch`` with an :data:`~tg_connect.protocol.schemas.INPUT_ERROR` column marking the
    rows of ``errors`` (row in the batch -> ``(column, reason)``) as records the reader could
    not read; ``batch`` itself when there are none."""
    if not errors:
        return batch
    return batch.append_column(
        pa.field(schemas.INPUT_ERROR, schemas.INPUT_ERROR_TYPE), input_error_array(batch.num_rows, errors, source)
    )


def input_error_array(rows: int, errors: Mapping[int, tuple[str | None, str]], source: str | None = None) -> pa.Array:
    """An :data:`~tg_connect.protocol.schemas.INPUT_ERROR` column of ``rows`` rows, null but
    for the rows of ``errors`` (row -> ``(column, reason)``)."""
    values: list[dict[str, Any] | None] = [None] * rows
    for row, (column, reason) in errors.items():
        values[row] = {"source": source, "column": column, "reason": reason, "text": None}
    return pa.array(values, schemas.INPUT_ERROR_TYPE)


def interleave_unread(batch: pa.RecordBatch, unread: Sequence[tuple[int, Mapping[str, Any]]]) -> pa.RecordBatch:
    """``batch`` with a row of nulls put in for each record a reader could not read:
    ``(position, error)`` puts it after the first ``position`` rows of ``batch`` (in the order
    given, for equal positions), ``error`` being its
    :data:`~tg_connect.protocol.schemas.INPUT_ERROR` value. One ``take``, no row loop."""
    if not unread:
        return batch
    n, k = batch.num_rows, len(unread)
    positions = np.array([position for position, _ in unread], dtype=np.int64)
    slots = positions + np.arange(k)  # where each unread row lands in the result
    order = np.empty(n + k, dtype=np.int64)
    is_unread = np.zeros(n + k, dtype=bool)
    is_unread[slots] = True
    order[~is_unread] = np.arange(n)
    order[slots] = n + np.arange(k)
    field = pa.field(schemas.INPUT_ERROR, schemas.INPUT_ERROR_TYPE)
    good = batch.append_column(field, pa.nulls(n, schemas.INPUT_ERROR_TYPE))
    errors = pa.array([dict(error) for _, error in unread], schemas.INPUT_ERROR_TYPE)
    placeholders = pa.RecordBatch.from_arrays(
        [pa.nulls(k, f.type) for f in batch.schema] + [errors], schema=good.schema
    )
    return _concat([good, placeholders]).take(pa.array(order))


def unencodable(value: Any) -> str | None:
    """Why ``value`` (a cell from Python data) cannot become UTF-8 text, or ``None``: a
    string holding a lone surrogate (``"\\ud800"``, which Python strings may hold and UTF-8
    cannot), also inside a list or dict."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return (
                f"a lone surrogate (\\u{ord(value[exc.start]):04x}) at character {exc.start}: not valid"
                " Unicode, so it cannot be sent as UTF-8"
            )
        return None
    if isinstance(value, (list, tuple)):
        for item in value:
            found = unencodable(item)
            if found is not None:
                return found
    if isinstance(value, dict):
        for key, item in value.items():
            found = unencodable(key) or unencodable(item)
            if found is not None:
                return found
    return None
