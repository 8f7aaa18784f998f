"""Write a stream of record batches to one Parquet file, batch by batch."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq


def write_parquet(reader: pa.RecordBatchReader, path: str | os.PathLike[str]) -> int:
    """Stream ``reader`` into ``path``; returns the rows written. Memory stays one batch."""
    rows = 0
    with pq.ParquetWriter(os.fspath(path), reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows
