"""What every reader yields: a named stream of Arrow record batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import pyarrow as pa


@dataclass
class Source:
    """A stream of record batches from one input, with a name for error messages.

    ``total_rows`` is known for tables and Parquet files (from metadata), else ``None``.
    ``open`` starts the stream; it is called once per job.
    """

    name: str
    open: Callable[[], Iterator[pa.RecordBatch]]
    total_rows: int | None = None
