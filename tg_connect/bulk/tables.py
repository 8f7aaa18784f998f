"""Record batches into the shapes a read returns: a ``RecordBatchReader``, a table, a DataFrame.

Shared by the entry points (:mod:`.api`) and the clients (:mod:`.client`); it imports
neither. A read that fails part way keeps what it read on the error (``partial``,
``rows_read``), so nothing read is lost and nothing short passes for complete.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Literal

import pyarrow as pa

from .._lazy import lazy_module
from ..errors import TgConnectError
from ..protocol import schemas

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use: a load from the command line never needs pandas
    pd = lazy_module("pandas")

DtypeBackend = Literal["numpy_nullable", "pyarrow"]


def empty_schema(kind: str) -> pa.Schema:
    """The schema of a read of ``kind`` that found nothing."""
    name = schemas.normalise_kind(kind)
    if name == "triples":
        return schemas.TRIPLES
    if name == "entity-contexts":
        return schemas.ENTITY_CONTEXTS
    if name == "graph-embeddings":
        return schemas.graph_embeddings_schema(0)
    return schemas.document_embeddings_schema(0)


def batch_reader(batches: Iterator[pa.RecordBatch], kind: str) -> pa.RecordBatchReader:
    """``batches`` as a reader; its schema is the first batch's (``kind``'s empty schema if none)."""
    first = next(batches, None)
    if first is None:
        return pa.RecordBatchReader.from_batches(empty_schema(kind), iter(()))
    return pa.RecordBatchReader.from_batches(first.schema, _chain(first, batches))


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


def _table(batches: list[pa.RecordBatch], kind: str) -> pa.Table:
    if not batches:
        return pa.Table.from_batches([], empty_schema(kind))
    return pa.Table.from_batches(batches)


def _keep_partial(exc: TgConnectError, batches: list[pa.RecordBatch], kind: str) -> None:
    """Hand the rows read before ``exc`` to the caller on the error itself (see TgConnectError)."""
    try:
        exc.partial = _table(batches, kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # batches that do not stack: keep the count only
        exc.partial = None
    if exc.rows_read is None:
        exc.rows_read = sum(b.num_rows for b in batches)


def collect(open_batches: Callable[[], Iterable[pa.RecordBatch]], kind: str) -> pa.Table:
    """Every batch ``open_batches()`` gives, as one table.

    A read that fails part way raises its :class:`~tg_connect.errors.TgConnectError` with the
    rows read so far as ``partial`` (a table) and their count as ``rows_read``: nothing read is
    lost, and nothing short is returned as if it were complete.
    """
    batches: list[pa.RecordBatch] = []
    try:
        for batch in open_batches():
            batches.append(batch)
    except TgConnectError as exc:
        _keep_partial(exc, batches, kind)
        raise
    return _table(batches, kind)


async def acollect(batches_in: AsyncIterable[pa.RecordBatch], kind: str) -> pa.Table:
    """:func:`collect` for an async iterator of batches."""
    batches: list[pa.RecordBatch] = []
    try:
        async for batch in batches_in:
            batches.append(batch)
    except TgConnectError as exc:
        _keep_partial(exc, batches, kind)
        raise
    return _table(batches, kind)


def to_pandas(table: pa.Table, dtype_backend: DtypeBackend | None = None) -> pd.DataFrame:
    """``table`` as a DataFrame: ``"pyarrow"`` keeps Arrow types (``pd.ArrowDtype``),
    ``"numpy_nullable"`` makes strings ``pd.StringDtype``, ``None`` is pyarrow's default."""
    frame: pd.DataFrame
    if dtype_backend == "pyarrow":
        frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    elif dtype_backend == "numpy_nullable":
        frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    else:
        frame = table.to_pandas()
    return frame
