"""Write then read back: every format returns what was written (or says what it cannot carry)."""

from __future__ import annotations

import gzip
import io
import sys
import types
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tg_connect.errors import InputError
from tg_connect.protocol import schemas
from tg_connect.protocol.conform import Conformer
from tg_connect.readers import open_source
from tg_connect.writers import WriteResult, to_pandas, to_polars, write

from .helpers import document_embeddings, graph_embeddings, read_path, row_set, triples_table

TABULAR = ["parquet", "csv", "tsv", "jsonl", "csv.gz", "jsonl.gz", "tsv.bz2"]
QUAD_FORMATS = ["nq", "trig", "nq.gz", "trig.gz"]


@pytest.mark.parametrize("suffix", TABULAR)
def test_tabular_formats_round_trip_triples_exactly(tmp_path: Path, suffix: str) -> None:
    table = triples_table()
    dest = tmp_path / f"t.{suffix}"
    result = write(table.to_reader(max_chunksize=37), dest)
    assert result == WriteResult(table.num_rows, [str(dest)])
    back = read_path(dest, batch_size=50)
    assert back.schema.equals(schemas.TRIPLES)
    assert back.equals(table)  # order, nulls and every value, quoted triples included


@pytest.mark.parametrize("suffix", QUAD_FORMATS)
def test_quad_formats_round_trip_triples_with_graphs(tmp_path: Path, suffix: str) -> None:
    table = triples_table()
    dest = tmp_path / f"t.{suffix}"
    assert write(table.to_reader(max_chunksize=50), dest).rows == table.num_rows
    back = read_path(dest)
    assert back.schema.equals(schemas.TRIPLES)
    assert row_set(back) == row_set(table)
    assert back.num_rows == table.num_rows
    assert any(g is not None for g in back.column("g").to_pylist())


@pytest.mark.parametrize("suffix", ["nt", "ttl", "nt.gz"])
def test_triple_formats_have_no_graphs(tmp_path: Path, suffix: str) -> None:
    """N-Triples and Turtle cannot carry named graphs: writing one is an error naming the row,
    unless drop_graphs=True, and then everything but the graph comes back."""
    table = triples_table()
    first_graph_row = table.column("g").to_pylist().index("http://example.org/graph/provenance")
    dest = tmp_path / f"t.{suffix}"
    with pytest.raises(InputError) as info:
        write(table.to_reader(), dest)
    assert info.value.column == "g" and info.value.row == first_graph_row
    assert "no named graphs" in str(info.value) and str(dest) in str(info.value)
    assert not dest.exists() and list(tmp_path.iterdir()) == []  # no half-written file is left

    assert write(table.to_reader(), dest, drop_graphs=True).rows == table.num_rows
    back = read_path(dest)
    expected = table.set_column(8, "g", pa.nulls(table.num_rows, pa.string()))
    assert row_set(back) == row_set(expected) and back.num_rows == table.num_rows
    assert back.column("g").null_count == back.num_rows


def test_turtle_with_prefixes_is_shorter_and_reads_back(tmp_path: Path) -> None:
    table = triples_table(64).filter(pa.compute.is_null(triples_table(64).column("g")))
    plain, short = tmp_path / "a.ttl", tmp_path / "b.ttl"
    write(table.to_reader(), plain)
    write(table.to_reader(), short, prefixes={"ex": "http://example.org/"})
    assert short.stat().st_size < plain.stat().st_size
    assert b"@prefix ex:" in short.read_bytes()
    assert row_set(read_path(short)) == row_set(table) == row_set(read_path(plain))


def test_quoted_triple_subject_cannot_be_written_as_rdf(tmp_path: Path) -> None:
    table = triples_table(8)
    rows = table.to_pylist()
    rows[3] = {**rows[-1], "s": rows[-1]["o"], "s_type": "triple", "g": None}
    bad = pa.Table.from_pylist(rows, schema=schemas.TRIPLES)
    with pytest.raises(InputError) as info:
        write(bad.to_reader(), tmp_path / "q.nq")
    assert info.value.row == 3 and info.value.column == "s" and "only as objects" in str(info.value)
    # Tabular formats carry it.
    write(bad.to_reader(), tmp_path / "q.parquet")
    assert read_path(tmp_path / "q.parquet").equals(bad)


def test_rdf_writer_conforms_a_plain_spo_table(tmp_path: Path) -> None:
    plain = pa.table({"s": ["http://a/1", "_:b"], "p": ["http://p", "http://p"], "o": ["hello", "<http://o>"]})
    write(plain.to_reader(), tmp_path / "plain.nt")
    assert (tmp_path / "plain.nt").read_text() == '<http://a/1> <http://p> "hello" .\n_:b <http://p> <http://o> .\n'


@pytest.mark.parametrize("suffix", ["parquet", "csv", "jsonl", "tsv", "jsonl.gz"])
@pytest.mark.parametrize("kind", ["graph-embeddings", "document-embeddings"])
def test_embeddings_round_trip(tmp_path: Path, suffix: str, kind: str) -> None:
    table = graph_embeddings() if kind == "graph-embeddings" else document_embeddings()
    dest = tmp_path / f"e.{suffix}"
    assert write(table.to_reader(max_chunksize=16), dest, kind=kind).rows == table.num_rows
    back = read_path(dest, batch_size=20, kind=kind)
    assert back.column_names == table.column_names
    for name in table.column_names:
        assert back.column(name).to_pylist() == table.column(name).to_pylist(), name  # float32-exact
    if suffix == "parquet":
        assert back.equals(table)
    else:
        assert back.schema.field("vector").type == pa.list_(pa.float32())
    # And the load's conformer turns what was read into exactly the canonical input.
    conformed = Conformer(kind).conform(back.combine_chunks().to_batches()[0])
    assert conformed.error is None and not conformed.rejections
    assert pa.Table.from_batches([conformed.batch]).equals(table)


def test_csv_keeps_nulls_and_empty_strings_apart(tmp_path: Path) -> None:
    """A null is an empty unquoted field and an empty string a quoted one, so both survive
    (a spreadsheet's empty cell therefore reads as null)."""
    table = pa.table(
        {
            "s": ["http://a", "http://b", "http://c"],
            "p": ["http://p"] * 3,
            "o": ["", None, "x"],
            "g": [None, "", "http://g"],
        }
    )
    write(table.to_reader(), tmp_path / "n.csv")
    text = (tmp_path / "n.csv").read_text()
    assert '"http://a","http://p","",\n' in text and '"http://b","http://p",,""\n' in text
    back = read_path(tmp_path / "n.csv")
    assert back.equals(table)
    hand_made = tmp_path / "hand.csv"
    hand_made.write_text("s,p,o\nhttp://a,http://p,\n")
    assert read_path(hand_made).column("o").to_pylist() == [None]


def test_csv_reads_text_as_text(tmp_path: Path) -> None:
    """No type inference: numbers, dates, booleans and NA stay the text they are."""
    path = tmp_path / "t.csv"
    path.write_text(
        "s,p,o\nhttp://a,http://p,042\nhttp://a,http://p,2024-01-01\nhttp://a,http://p,true\n"
        "http://a,http://p,NA\nhttp://a,http://p,1e5\n"
    )
    back = read_path(path)
    assert back.column("o").to_pylist() == ["042", "2024-01-01", "true", "NA", "1e5"]
    assert all(f.type == pa.string() for f in back.schema)


def test_csv_vector_text_forms(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text('chunk_id,vector\na," [0.5, -2 ,3e-2] "\nb,[]\nc,\nd,"[1,NaN,Infinity,-inf]"\n')
    back = read_path(path, kind="document-embeddings")
    values = back.column("vector").to_pylist()
    assert values[:3] == [[0.5, -2.0, pytest.approx(0.03)], [], None]
    assert values[3][0] == 1.0 and values[3][1] != values[3][1] and values[3][2:] == [float("inf"), float("-inf")]
    # kind="rows" leaves a vector column as text (a row field may be called vector).
    assert read_path(path, kind="rows").column("vector").to_pylist()[1] == "[]"


def test_csv_values_with_newlines_and_long_values_cross_blocks(tmp_path: Path) -> None:
    rows = [
        {"s": f"http://a/{i}", "p": "http://p", "o": f'line one\nline two {i}\r\nend "q" ' + "x" * (i % 50)}
        for i in range(3000)
    ]
    table = pa.Table.from_pylist(rows)
    write(table.to_reader(), tmp_path / "nl.csv")
    back = read_all_small_blocks(tmp_path / "nl.csv")
    assert back.equals(table)


def read_all_small_blocks(path: Path) -> pa.Table:
    return pa.Table.from_batches(list(open_source(path, 500, block_size=4096).open()))


def test_rolling_parquet_files(tmp_path: Path) -> None:
    table = triples_table(1000)
    result = write(table.to_reader(max_chunksize=333), tmp_path / "out", max_rows_per_file=400)
    assert result.rows == table.num_rows
    assert [Path(f).name for f in result.files] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert [pq.ParquetFile(f).metadata.num_rows for f in result.files] == [400, 400, table.num_rows - 800]
    source = open_source(tmp_path / "out", 256)
    assert source.total_rows == table.num_rows
    assert read_path(tmp_path / "out").equals(table)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(Path(f).name for f in result.files)
    with pytest.raises(FileExistsError, match="already holds part files"):
        write(table.to_reader(), tmp_path / "out", max_rows_per_file=400)
    with pytest.raises(FileExistsError):
        write(table.to_reader(), tmp_path / "out" / "part-{i:05d}.parquet", max_rows_per_file=400)


def test_rolling_parquet_with_a_pattern_and_an_empty_input(tmp_path: Path) -> None:
    table = triples_table(100)
    result = write(table.to_reader(), tmp_path / "x" / "triples-{i:03d}.parquet", max_rows_per_file=50)
    assert [Path(f).name for f in result.files] == ["triples-000.parquet", "triples-001.parquet", "triples-002.parquet"]
    assert read_path(str(tmp_path / "x" / "triples-*.parquet")).equals(table)
    empty = write(
        pa.RecordBatchReader.from_batches(schemas.TRIPLES, iter([])), tmp_path / "empty", max_rows_per_file=10
    )
    assert empty.rows == 0 and len(empty.files) == 1
    assert pq.read_schema(empty.files[0]).equals(schemas.TRIPLES)


def test_a_failed_rolling_export_leaves_no_part(tmp_path: Path) -> None:
    """All parts or none: completed parts of a failed export would read as a shorter, complete one."""
    table = triples_table(100)

    def batches() -> Any:
        yield from table.to_batches(max_chunksize=30)
        raise RuntimeError("the gateway went away")

    with pytest.raises(RuntimeError, match="went away"):
        write(pa.RecordBatchReader.from_batches(table.schema, batches()), tmp_path / "out", max_rows_per_file=50)
    assert list(tmp_path.iterdir()) == []  # no part, no temporary, and the directory it made is gone
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "notes.txt").write_text("mine")
    with pytest.raises(RuntimeError, match="went away"):
        write(
            pa.RecordBatchReader.from_batches(table.schema, batches()),
            tmp_path / "kept" / "t-{i}.parquet",
            max_rows_per_file=50,
        )
    assert [p.name for p in (tmp_path / "kept").iterdir()] == ["notes.txt"]


def test_failed_single_file_write_leaves_nothing(tmp_path: Path) -> None:
    def batches() -> Any:
        yield from triples_table(10).to_batches()
        raise RuntimeError("stopped")

    for suffix in ("parquet", "csv", "jsonl", "nq"):
        reader = pa.RecordBatchReader.from_batches(schemas.TRIPLES, batches())
        with pytest.raises(RuntimeError):
            write(reader, tmp_path / f"t.{suffix}")
    assert list(tmp_path.iterdir()) == []


def test_writing_to_file_objects(tmp_path: Path) -> None:
    table = triples_table(20)
    for fmt in ("csv", "jsonl", "nq", "parquet"):
        buffer = io.BytesIO()
        result = write(table.to_reader(), buffer, format=fmt)
        assert result.rows == table.num_rows and result.files == []
        path = tmp_path / f"copy.{fmt}"
        path.write_bytes(buffer.getvalue())
        assert row_set(read_path(path)) == row_set(table)
    with pytest.raises(ValueError, match="format="):
        write(table.to_reader(), io.BytesIO())


def test_compressed_outputs_are_compressed(tmp_path: Path) -> None:
    table = triples_table(50)
    write(table.to_reader(), tmp_path / "t.nt.gz", drop_graphs=True)
    assert gzip.decompress((tmp_path / "t.nt.gz").read_bytes()).startswith(b"<http://example.org/person/0>")


def test_rdf_refuses_other_kinds_and_rolling_is_parquet_only(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="RDF holds triples"):
        write(graph_embeddings().to_reader(), tmp_path / "e.nt", kind="graph-embeddings")
    with pytest.raises(ValueError, match="Parquet only"):
        write(triples_table(5).to_reader(), tmp_path / "t.csv", max_rows_per_file=2)
    with pytest.raises(ValueError, match="format"):
        write(triples_table(5).to_reader(), tmp_path / "t.unknown")


def test_jsonl_text_is_standard_json(tmp_path: Path) -> None:
    import json

    table = pa.table(
        {
            "a": ['x\u0001\ty\n"\\', None],
            "n": [1, None],
            "f": [0.1, float("nan")],
            "b": [True, False],
            "v": pa.array([[0.25, float("inf")], None], pa.list_(pa.float32())),
        }
    )
    write(table.to_reader(), tmp_path / "t.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert lines == [
        {"a": 'x\u0001\ty\n"\\', "n": 1, "f": 0.1, "b": True, "v": [0.25, None]},
        {"a": None, "n": None, "f": None, "b": False, "v": None},
    ]


def test_to_pandas_and_to_polars(monkeypatch: pytest.MonkeyPatch) -> None:
    table = triples_table(30)
    frame = to_pandas(table.to_reader())
    assert list(frame.columns) == table.column_names and len(frame) == table.num_rows
    assert frame["o"].tolist() == table.column("o").to_pylist()

    received: list[pa.Table] = []
    fake = types.ModuleType("polars")
    fake.from_arrow = lambda t: received.append(t) or "a polars frame"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "polars", fake)
    assert to_polars(table.to_reader()) == "a polars frame"
    assert received[0].equals(table)

    monkeypatch.setitem(sys.modules, "polars", None)  # as if not installed
    with pytest.raises(ImportError, match="pip install polars"):
        to_polars(table.to_reader())
