"""Arrow producers as sources: tables, batches, readers, datasets, anything with
``__arrow_c_stream__`` (polars, DuckDB results...), and pandas DataFrames.

Batches are re-cut to ``batch_size`` rows (small ones gathered, large ones sliced without a
copy). A stream (reader, C-stream producer) is consumed as it is read, never collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from ..errors import InputError
from ..protocol import schemas
from .base import Source, input_error_array, rebatch, unencodable


def is_arrow_producer(data: Any) -> bool:
    """Whether :func:`from_arrow` takes ``data``."""
    return isinstance(data, (pa.Table, pa.RecordBatch, pa.RecordBatchReader, ds.Dataset)) or hasattr(
        data, "__arrow_c_stream__"
    )


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
        return Source(name or "dataset", lambda: rebatch(dataset.to_batches(batch_size=batch_size), batch_size), total)
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
    """A source over a pandas DataFrame (its index is not sent).

    Duplicate column names are an :class:`InputError` naming the column. A text cell that
    cannot be UTF-8 (a Python string with a lone surrogate, ``"\\ud800"``) does not fail the
    frame: the cell is read as null and its row is marked as unreadable
    (:data:`~tg_connect.protocol.schemas.INPUT_ERROR`), so the load rejects that row, naming
    row and column, and sends the rest.
    """
    names = [str(c) for c in df.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputError(
            f"duplicate column names {duplicated}: a DataFrame column must be named once",
            source="DataFrame",
            column=duplicated[0],
        )
    errors: dict[int, tuple[str | None, str]] = {}
    try:
        try:
            table = pa.Table.from_pandas(df, preserve_index=False)
        except UnicodeEncodeError:
            df = _without_unencodable_cells(df, errors)
            table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError) as exc:
        column = None
        for name in df.columns:
            try:
                pa.array(df[name], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
                column = str(name)
                break
        raise InputError(
            f"DataFrame column cannot be converted to Arrow: {exc}", source="DataFrame", column=column
        ) from None
    if errors:
        table = table.append_column(
            pa.field(schemas.INPUT_ERROR, schemas.INPUT_ERROR_TYPE), input_error_array(table.num_rows, errors)
        )
    return from_arrow(table, batch_size, name="DataFrame")


def _without_unencodable_cells(df: Any, errors: dict[int, tuple[str | None, str]]) -> Any:
    """``df`` with each text cell that cannot be UTF-8 set to null, and its row noted in
    ``errors``. Python looks at the cells of the columns Arrow could not convert only."""
    fixed = df.copy(deep=False)
    for position, name in enumerate(df.columns):
        column = df.iloc[:, position]
        try:
            pa.array(column, from_pandas=True)
            continue
        except UnicodeEncodeError:
            pass
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            continue  # another problem: reported when the whole frame is converted
        keep = []
        for row, value in enumerate(column.tolist()):
            reason = unencodable(value)
            keep.append(reason is None)
            if reason is not None:
                errors.setdefault(row, (str(name), reason))
        fixed.isetitem(position, column.where(keep, None))
    return fixed
