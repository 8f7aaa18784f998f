"""Parquet files as sources, streamed batch by batch (never read whole)."""

from __future__ import annotations

import os
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError
from .base import Source


def from_parquet(path: str | os.PathLike[str], batch_size: int) -> Source:
    """A source over one Parquet file; a missing or malformed file is an error naming it."""
    name = os.fspath(path)
    try:
        meta = pq.ParquetFile(name)
        total = meta.metadata.num_rows
        meta.close()
    except FileNotFoundError:
        raise InputError("no such Parquet file", source=name) from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"not a readable Parquet file: {exc}", source=name) from None

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            with pq.ParquetFile(name) as f:
                for batch in f.iter_batches(batch_size=batch_size):
                    yield batch
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"Parquet file is corrupt part way: {exc}", source=name) from None

    return Source(name, batches, total)
