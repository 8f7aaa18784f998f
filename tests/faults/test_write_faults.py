"""Every writer writes under a temporary name and renames on success: when its input fails
midway (a read that drops) it leaves no file, no temporary, and an existing file untouched."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tg_connect
from tg_connect import GatewayConnectionError
from tg_connect.protocol import schemas
from tg_connect.writers import write, write_csv, write_jsonl, write_parquet, write_rdf

from . import FaultProxy
from .read_helpers import in_thread, load, triples, wait_until

SUFFIXES = ["parquet", "csv", "tsv", "jsonl", "nt", "nq", "ttl", "trig", "csv.gz", "jsonl.bz2", "nq.gz"]


def failing_reader(rows: int = 300, fail_after: int = 2) -> pa.RecordBatchReader:
    """Canonical triples batches, then the error a dropped read raises."""
    table = pa.Table.from_pandas(
        triples(rows, "w")
        .to_pandas()
        .assign(s_type="iri", p_type="iri", o_type="literal", o_datatype=None, o_language=None, g=None),
        schema=schemas.TRIPLES,
        preserve_index=False,
    )

    def batches() -> Iterator[pa.RecordBatch]:
        for i, batch in enumerate(table.to_batches(max_chunksize=100)):
            if i == fail_after:
                raise GatewayConnectionError("export lost after 200 rows")
            yield batch

    return pa.RecordBatchReader.from_batches(schemas.TRIPLES, batches())


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_write_leaves_nothing_when_the_input_fails(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(GatewayConnectionError, match="after 200 rows"):
        write(failing_reader(), tmp_path / f"out.{suffix}")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(GatewayConnectionError):
        write(failing_reader(), tmp_path / "new" / "deeper" / f"out.{suffix}")
    assert list(tmp_path.iterdir()) == []  # the directories it made are gone too

    existing = tmp_path / f"kept.{suffix}"
    existing.write_bytes(b"an earlier export")
    with pytest.raises(GatewayConnectionError):
        write(failing_reader(), existing)
    assert existing.read_bytes() == b"an earlier export"
    assert [p.name for p in tmp_path.iterdir()] == [existing.name]


WRITERS: dict[str, Callable[[pa.RecordBatchReader, Path], Any]] = {
    "write_parquet": lambda r, d: write_parquet(r, d / "x.parquet"),
    "write_csv": lambda r, d: write_csv(r, d / "x.csv"),
    "write_jsonl": lambda r, d: write_jsonl(r, d / "x.jsonl.gz", compression="gzip"),
    "write_rdf": lambda r, d: write_rdf(r, d / "x.ttl", format="ttl"),
    "rolling parts": lambda r, d: write(r, d / "parts", max_rows_per_file=100),
    "rolling pattern": lambda r, d: write(r, d / "t-{i:03d}.parquet", max_rows_per_file=50),
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_each_writer_function_leaves_nothing(tmp_path: Path, name: str) -> None:
    with pytest.raises(GatewayConnectionError):
        WRITERS[name](failing_reader(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_rolling_export_that_fails_after_whole_parts_leaves_none(tmp_path: Path) -> None:
    """Two parts were complete (and closed) when the input failed: neither is left."""
    with pytest.raises(GatewayConnectionError):
        write(failing_reader(600, fail_after=5), tmp_path / "parts", max_rows_per_file=200)
    assert list(tmp_path.iterdir()) == []
    result = write(failing_reader(600, fail_after=99), tmp_path / "parts", max_rows_per_file=200)
    assert result.rows == 600 and [pq.ParquetFile(f).metadata.num_rows for f in result.files] == [200, 200, 200]
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == [Path(f).name for f in result.files]


def test_a_file_object_destination_is_written_as_it_goes(tmp_path: Path) -> None:
    """A file object is the caller's: nothing to rename, but the error still propagates."""
    with open(tmp_path / "mine.csv", "wb") as out:
        with pytest.raises(GatewayConnectionError):
            write(failing_reader(), out, format="csv")


def test_writing_a_dropped_tail_leaves_no_file(
    local_gateway: tg_connect.LocalGateway, run_id: str, tmp_path: Path
) -> None:
    table = triples(20_000, run_id)
    dest = tmp_path / "tail.parquet"
    with FaultProxy(local_gateway.url, cut_after=300_000, direction="down") as proxy:
        reader_ready = in_thread(
            lambda: write(
                tg_connect.read_batches("triples", proxy.url, source="tail", max_rows=20_000, idle_timeout=30), dest
            )
        )
        wait_until(lambda: proxy.stats.bytes_down > 0)
        load(local_gateway, table, batch_size=500)
        reader_ready.join()
    assert isinstance(reader_ready.error, GatewayConnectionError)
    assert reader_ready.error.rows_read is not None and 0 < reader_ready.error.rows_read < 20_000
    assert list(tmp_path.iterdir()) == []
