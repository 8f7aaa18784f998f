"""Arrow producers as sources: tables, batches, readers, anything with ``__arrow_c_stream__``
(polars, DuckDB results...), and pandas DataFrames."""

from __future__ import annotations

from typing import Any, Iterator

import pyarrow as pa

from ..errors import InputError
from .base import Source


def from_arrow(data: Any, batch_size: int, name: str | None = None) -> Source:
    """A source over an Arrow table, record batch, reader or C-stream producer."""
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        table = data
        return Source(name or "arrow table", lambda: iter(table.to_batches(max_chunksize=batch_size)),
                      table.num_rows)
    if isinstance(data, pa.RecordBatchReader):
        reader = data
    elif hasattr(data, "__arrow_c_stream__"):
        reader = pa.RecordBatchReader.from_stream(data)
    else:
        raise TypeError(f"not an Arrow producer: {type(data).__name__}")

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            for start in range(0, batch.num_rows, batch_size):
                yield batch.slice(start, batch_size)

    return Source(name or type(data).__name__, batches, None)


def from_pandas(df: Any, batch_size: int) -> Source:
    """A source over a pandas DataFrame (its index is not sent)."""
    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        column = None
        for name in df.columns:
            try:
                pa.array(df[name], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                column = str(name)
                break
        raise InputError(f"DataFrame column cannot be converted to Arrow: {exc}", source="DataFrame",
                         column=column) from None
    return from_arrow(table, batch_size, name="DataFrame")
