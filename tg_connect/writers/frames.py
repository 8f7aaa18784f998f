"""DataFrames from record batches, through Arrow.

A DataFrame is an in-memory object, so these collect the whole stream (the one place a writer
does); for a large export write Parquet and open it lazily instead. polars is optional: it is
imported only when :func:`to_polars` is called.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from .base import as_reader


def to_table(reader: Any) -> pa.Table:
    """All batches of ``reader`` (or Arrow data) as one :class:`pyarrow.Table`."""
    return as_reader(reader).read_all()


def to_pandas(reader: Any, **options: Any) -> Any:
    """A pandas DataFrame of every batch (``options`` go to ``pyarrow.Table.to_pandas``).

    A vector column becomes an object column of numpy arrays.
    """
    return to_table(reader).to_pandas(**options)


def to_polars(reader: Any) -> Any:
    """A polars DataFrame of every batch (``polars.from_arrow``); needs polars installed."""
    try:
        import polars
    except ImportError:
        raise ImportError("to_polars needs polars, which tg_connect does not install: pip install polars") from None
    return polars.from_arrow(to_table(reader))
