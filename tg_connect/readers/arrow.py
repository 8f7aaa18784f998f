"""Arrow producers as sources: tables, batches, readers, datasets, anything with
``__arrow_c_stream__`` (polars, DuckDB results...), and pandas DataFrames.

Batches are re-cut to ``batch_size`` rows (small ones gathered, large ones sliced without a
copy). A stream (reader, C-stream producer) is consumed as it is read, never collected.
"""

from __future__ import annotations

from typing import Any, Iterator

import pyarrow as pa
import pyarrow.dataset as ds

from ..errors import InputError
from .base import Source, rebatch


def is_arrow_producer(data: Any) -> bool:
    """Whether :func:`from_arrow` takes ``data``."""
    return isinstance(data, (pa.Table, pa.RecordBatch, pa.RecordBatchReader, ds.Dataset)) or hasattr(
        data, "__arrow_c_stream__")


def from_arrow(data: Any, batch_size: int, name: str | None = None) -> Source:
    """A source over an Arrow table, record batch, reader, dataset or C-stream producer."""
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        table = data
        return Source(name or "arrow table", lambda: rebatch(table.to_batches(), batch_size), table.num_rows)
    if isinstance(data, ds.Dataset):
        dataset = data
        try:
            total: int | None = dataset.count_rows()
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"cannot read the dataset: {exc}", source=name or "dataset") from None
        return Source(name or "dataset", lambda: rebatch(dataset.to_batches(batch_size=batch_size), batch_size),
                      total)
    if isinstance(data, pa.RecordBatchReader):
        reader = data
    elif hasattr(data, "__arrow_c_stream__"):
        try:
            reader = pa.RecordBatchReader.from_stream(data)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
            raise InputError(f"cannot read the Arrow stream: {exc}", source=name or type(data).__name__) from None
    else:
        raise TypeError(f"not an Arrow producer: {type(data).__name__}")

    label = name or type(data).__name__

    def batches() -> Iterator[pa.RecordBatch]:
        return rebatch(reader, batch_size)

    return Source(label, batches, None)


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
