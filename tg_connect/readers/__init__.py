"""Readers: turn inputs into a :class:`Source` of Arrow record batches.

One module per format; :func:`open_source` picks by the input's type or file suffix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .arrow import from_arrow, from_pandas
from .base import Source
from .parquet import from_parquet

__all__ = ["Source", "open_source", "from_arrow", "from_pandas", "from_parquet"]


def open_source(data: Any, batch_size: int) -> Source:
    """A source for ``data``: a DataFrame, Arrow data, or a path to a Parquet file."""
    if isinstance(data, Source):
        return data
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if path.suffix.lower() in (".parquet", ".pq", ".parq") or not path.suffix:
            return from_parquet(path, batch_size)
        raise ValueError(f"unsupported file type {path.suffix!r} for {path}; Parquet files are read")
    if type(data).__module__.startswith("pandas") and hasattr(data, "columns"):
        return from_pandas(data, batch_size)
    return from_arrow(data, batch_size)
