"""``Api.bulk()`` / ``Api.async_bulk()``: the bulk layer bound to one gateway target.

The two classes have the same methods and signatures; the async one returns coroutines and
async iterators, the sync one runs them through the background-loop bridge.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any

import pandas as pd
import pyarrow as pa

from ..errors import TgConnectError
from ..protocol import schemas
from ..target import Target
from ..transport import bridge
from . import api
from .load import aload
from .read import aread_batches
from .report import LoadReport


def _table(batches: list[pa.RecordBatch], kind: str) -> pa.Table:
    if not batches:
        return pa.Table.from_batches([], api._empty_schema(schemas.normalise_kind(kind)))
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


class AsyncBulkClient:
    """Bulk loads and reads against one target, for asyncio code."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def __repr__(self) -> str:
        return f"AsyncBulkClient({self.target.url!r})"

    async def load(self, data: Any, kind: str = "triples", **options: Any) -> LoadReport:
        """As :func:`tg_connect.to_trustgraph`, without ``url``/``token`` (the target's)."""
        options.setdefault("progress", False)
        return await aload(data, self.target, kind=kind, **options)

    def read_batches(self, kind: str = "triples", **options: Any) -> AsyncIterator[pa.RecordBatch]:
        """As :func:`tg_connect.read_batches`, as an async iterator of record batches."""
        return aread_batches(self.target, kind, **options)

    async def read(self, kind: str = "triples", **options: Any) -> pa.Table:
        """Everything :meth:`read_batches` yields, as one table. A read that fails part way
        raises with the rows read so far on the error (``partial``, ``rows_read``)."""
        return await acollect(self.read_batches(kind, **options), kind)


class BulkClient:
    """Bulk loads and reads against one target; the sync face of :class:`AsyncBulkClient`."""

    def __init__(self, target: Target) -> None:
        self._async = AsyncBulkClient(target)
        self.target = target

    def __repr__(self) -> str:
        return f"BulkClient({self.target.url!r})"

    def load(self, data: Any, kind: str = "triples", **options: Any) -> LoadReport:
        return bridge.run(self._async.load(data, kind, **options))

    def read_batches(self, kind: str = "triples", **options: Any) -> pa.RecordBatchReader:
        batches = bridge.iterate(self._async.read_batches(kind, **options))
        first = next(batches, None)
        if first is None:
            return pa.RecordBatchReader.from_batches(api._empty_schema(schemas.normalise_kind(kind)), iter(()))
        return pa.RecordBatchReader.from_batches(first.schema, api._chain(first, batches))

    def read(self, kind: str = "triples", **options: Any) -> pa.Table:
        """Everything :meth:`read_batches` yields, as one table. A read that fails part way
        raises with the rows read so far on the error (``partial``, ``rows_read``)."""
        return collect(lambda: self.read_batches(kind, **options), kind)

    def read_pandas(self, kind: str = "triples", **options: Any) -> pd.DataFrame:
        frame: pd.DataFrame = self.read(kind, **options).to_pandas()
        return frame
