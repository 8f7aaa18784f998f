"""What every reader yields: a named stream of Arrow record batches, and shared helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import pyarrow as pa

from ..errors import InputError


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


def rebatch(batches: Iterable[pa.RecordBatch], batch_size: int, min_rows: int | None = None) -> Iterator[pa.RecordBatch]:
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
    pending: list[pa.RecordBatch] = []
    held = 0
    upstream = iter(batches)
    while True:
        try:
            batch = next(upstream)
        except StopIteration:
            break
        except BaseException:
            if held:
                yield _concat(pending)
            raise
        if pending and not batch.schema.equals(pending[0].schema):
            yield _concat(pending)
            pending, held = [], 0
        start = 0
        n = batch.num_rows
        if min_rows is not None and not pending:
            while n - start >= min_rows:  # workable as it is: slices, no copy
                piece = batch.slice(start, batch_size) if start or n > batch_size else batch
                start += piece.num_rows
                yield piece
        while start < n:
            room = batch_size - held
            piece = batch.slice(start, room) if start or n - start > room else batch
            pending.append(piece)
            held += piece.num_rows
            start += piece.num_rows
            if held == batch_size:
                yield _concat(pending)
                pending, held = [], 0
        if n == 0 and not pending:
            pending.append(batch)  # keep the schema of an empty input
    if held or pending:
        yield _concat(pending)


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
            raise InputError(f"column has type {new[name]}; the first input has {old[name]}",
                             source=source, column=name)


def chain(parts: Sequence[tuple[str, Callable[[], Iterator[pa.RecordBatch]]]]) -> Iterator[pa.RecordBatch]:
    """The batches of several inputs in order, each checked against the first's columns.

    A later input whose columns are in another order is reordered; one that lacks a column,
    has an extra one or another type is an :class:`InputError` naming that input.
    """
    first: pa.Schema | None = None
    for name, open_part in parts:
        for batch in open_part():
            if first is None:
                first = batch.schema
            elif batch.schema is not first and not batch.schema.equals(first):
                check_same_columns(first, batch.schema, name)
                batch = batch.select(first.names)
                if not batch.schema.equals(first):  # nullability or metadata only
                    batch = pa.RecordBatch.from_arrays(batch.columns, schema=first)
            yield batch
