"""``Api.bulk()`` / ``Api.async_bulk()``: the bulk layer bound to one gateway target.

The two classes have the same methods and signatures; the async one returns coroutines and
async iterators, the sync one runs them through the background-loop bridge.
"""

from __future__ import annotations

from typing import Any, AsyncIterator

import pandas as pd
import pyarrow as pa

from ..target import Target
from ..transport import bridge
from .load import aload
from .read import aread_batches
from .report import LoadReport
from .tables import acollect, batch_reader, collect


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
        return batch_reader(bridge.iterate(self._async.read_batches(kind, **options)), kind)

    def read(self, kind: str = "triples", **options: Any) -> pa.Table:
        """Everything :meth:`read_batches` yields, as one table. A read that fails part way
        raises with the rows read so far on the error (``partial``, ``rows_read``)."""
        return collect(lambda: self.read_batches(kind, **options), kind)

    def read_pandas(self, kind: str = "triples", **options: Any) -> pd.DataFrame:
        frame: pd.DataFrame = self.read(kind, **options).to_pandas()
        return frame
