"""Small batches are gathered into row groups, so a long export's footer stays small."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tg_connect.sample import sample_triples
from tg_connect.writers import parquet, write


def test_small_batches_make_few_row_groups(tmp_path: Path) -> None:
    table = sample_triples(300_000)
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=500))
    out = tmp_path / "out.parquet"
    assert write(reader, out).rows == 300_000
    meta = pq.ParquetFile(out).metadata
    assert meta.num_row_groups == -(-300_000 // parquet.ROW_GROUP_ROWS)
    assert pq.read_table(out).equals(table)


def test_rolling_parts_gather_row_groups_too(tmp_path: Path) -> None:
    table = sample_triples(20_000)
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=100))
    result = write(reader, tmp_path / "parts", format="parquet", max_rows_per_file=15_000)
    assert [pq.ParquetFile(f).metadata.num_row_groups for f in result.files] == [1, 1]
    assert pa.concat_tables(pq.read_table(f) for f in result.files).equals(table)
