"""The bad-input matrix, reader side: every problem is an InputError naming the file (and the
column, row or line when known) or a row the load rejects; nothing valid before it is lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tg_connect
from tg_connect.errors import InputError
from tg_connect.protocol import schemas
from tg_connect.protocol.conform import Conformer
from tg_connect.readers import open_source
from tg_connect.writers import write

from .helpers import collect_until_error, read_path, rows_of, triples_table

TEN_MB = 10 * 1024 * 1024


def spo_lines(n: int, start: int = 0) -> list[dict[str, str]]:
    return [{"s": f"http://a/{i}", "p": "http://p", "o": f"value {i}"} for i in range(start, start + n)]


def expect_error(src: Any, **where: Any) -> tuple[list[dict[str, Any]], InputError]:
    batches, error = collect_until_error(src)
    assert isinstance(error, InputError), error
    for key, value in where.items():
        assert getattr(error, key) == value, (key, error)
    return rows_of(batches), error


def expect_load_error(src: Any, kind: str = "triples", **where: Any) -> tuple[list[dict[str, Any]], InputError]:
    """Read ``src`` as a load does (``on_error="raise"``): the canonical rows handed on before
    the first bad row, and the error naming it. A line a reader could not read is such a row."""
    conformer = Conformer(kind, source=src.name)
    good: list[dict[str, Any]] = []
    offset = 0
    for batch in src.open():
        conformed = conformer.conform(batch, offset)
        good += conformed.batch.to_pylist()
        if conformed.error is not None:
            for key, value in where.items():
                assert getattr(conformed.error, key) == value, (key, conformed.error)
            return good, conformed.error
        offset += batch.num_rows
    raise AssertionError("no error")


# -- empty files -----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["csv", "tsv", "jsonl", "nt", "ttl", "parquet", "csv.gz"])
def test_empty_files_are_errors_naming_the_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"empty.{suffix}"
    path.write_bytes(b"" if not suffix.endswith(".gz") else __import__("gzip").compress(b""))
    with pytest.raises(InputError, match="empty|not a readable") as info:
        source = open_source(path, 100)
        list(source.open())
    assert info.value.source == str(path)


def test_a_header_only_csv_has_no_rows(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("s,p,o\n")
    table = read_path(tmp_path / "h.csv")
    assert table.num_rows == 0 and table.column_names == ["s", "p", "o"]


def test_an_empty_iterable_is_an_error() -> None:
    with pytest.raises(InputError, match="no records"):
        list(open_source([], 10).open())


# -- missing columns and wrong types -------------------------------------------------------


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_a_missing_column_is_named_with_the_file(tmp_path: Path, suffix: str) -> None:
    table = pa.table({"s": ["http://a"], "p": ["http://p"]})
    path = tmp_path / f"m.{suffix}"
    write(table.to_reader(), path)
    source = open_source(path, 10, kind="rows" if suffix == "jsonl" else "triples")
    batch = next(source.open())
    with pytest.raises(InputError) as info:
        Conformer("triples", source=source.name).conform(batch)
    assert info.value.column == "o" and info.value.source == str(path)


def test_a_file_of_a_glob_without_a_column_is_named(tmp_path: Path) -> None:
    write(pa.table({"s": ["http://a"], "p": ["http://p"], "o": ["x"]}).to_reader(), tmp_path / "a.csv")
    write(pa.table({"s": ["http://b"], "p": ["http://p"]}).to_reader(), tmp_path / "b.csv")
    rows, error = expect_error(open_source(str(tmp_path / "*.csv"), 10), column="o", source=str(tmp_path / "b.csv"))
    assert [r["s"] for r in rows] == ["http://a"]


def test_jsonl_wrong_json_type_names_column_and_row(tmp_path: Path) -> None:
    lines = spo_lines(3000) + [{"s": "http://x", "p": "http://p", "o": 42}] + spo_lines(5, 3000)
    path = tmp_path / "w.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    rows, error = expect_load_error(
        open_source(path, 100_000, block_size=16_384), column="o", row=3000, source=str(path)
    )
    # Every line before the bad one is handed on, those of its own block included.
    assert [r["s"] for r in rows] == [r["s"] for r in lines[:3000]]
    assert "line 3001" in str(error) and "number" in str(error)


def test_parquet_wrong_type_is_named_by_the_load(tmp_path: Path) -> None:
    pq.write_table(pa.table({"s": ["http://a"], "p": ["http://p"], "o": [7]}), tmp_path / "t.parquet")
    source = open_source(tmp_path / "t.parquet", 10)
    with pytest.raises(InputError, match="int64") as info:
        Conformer("triples", source=source.name).conform(next(source.open()))
    assert info.value.column == "o" and info.value.source == str(tmp_path / "t.parquet")


def test_records_with_a_new_field_or_another_type_are_named() -> None:
    records = [{"s": "http://a", "p": "http://p", "o": "x"}] * 3 + [
        {"s": "http://a", "p": "http://p", "o": "x", "q": 1}
    ]
    rows, error = expect_error(open_source(records, 2), column="q", row=3, source="records")
    assert len(rows) == 2
    records = [{"entity": "http://e", "vector": [1.0, 2.0]}] * 2 + [{"entity": "http://e", "vector": "oops"}]
    rows, error = expect_error(open_source(records, 2), column="vector", row=2)
    assert len(rows) == 2


# -- values the load rejects: nulls, NaN, mixed vector lengths ------------------------------


def test_bad_values_in_csv_are_rejected_rows_and_the_rest_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "ge.csv"
    path.write_text(
        "entity,vector\n"
        'http://e/0,"[0.5, 1.5, 2.5]"\n'
        ',"[1, 2, 3]"\n'  # null entity
        'http://e/2,"[NaN, 1, 2]"\n'  # NaN
        'http://e/3,"[1, 2]"\n'  # another length
        "http://e/4,\n"  # null vector
        'http://e/5,"[1, null, 3]"\n'  # a null item
        'http://e/6,"[3, 2, 1]"\n'
    )
    source = open_source(path, 100, kind="graph-embeddings")
    conformed = Conformer("graph-embeddings", on_error="skip", source=source.name).conform(next(source.open()))
    assert [(r.row, r.column) for r in conformed.rejections] == [
        (1, "entity"),
        (2, "vector"),
        (3, "vector"),
        (4, "vector"),
        (5, "vector"),
    ]
    assert conformed.batch.column("entity").to_pylist() == ["http://e/0", "http://e/6"]
    assert conformed.batch.column("vector").to_pylist() == [[0.5, 1.5, 2.5], [3.0, 2.0, 1.0]]


def test_bad_values_in_jsonl_are_rejected_rows(tmp_path: Path) -> None:
    path = tmp_path / "de.jsonl"
    path.write_text(
        '{"chunk_id": "a", "vector": [1, 2]}\n{"chunk_id": null, "vector": [1, 2]}\n'
        '{"chunk_id": "c", "vector": [1, null]}\n{"chunk_id": "d", "vector": [1, 2, 3]}\n'
        '{"chunk_id": "e"}\n{"chunk_id": "f", "vector": [0.25, -1e-3]}\n'
    )
    source = open_source(path, 100, kind="document-embeddings")
    conformed = Conformer("document-embeddings", on_error="skip").conform(next(source.open()))
    assert [(r.row, r.column) for r in conformed.rejections] == [
        (1, "chunk_id"),
        (2, "vector"),
        (3, "vector"),
        (4, "vector"),
    ]
    assert conformed.batch.column("chunk_id").to_pylist() == ["a", "f"]


def test_a_load_reports_rejections_and_sends_the_rest(tmp_path: Path, local_gateway: Any) -> None:
    path = tmp_path / "ge.csv"
    path.write_text(
        'entity,vector\nhttp://e/0,"[0.5, 1.5]"\nhttp://e/1,"[NaN, 1]"\n,"[1, 2]"\n'
        'http://e/3,"[1, 2, 3]"\nhttp://e/4,"[2.5, 3.5]"\n'
    )
    report = tg_connect.to_trustgraph(
        str(path), "graph-embeddings", url=local_gateway.url, on_error="skip", progress=False
    )
    assert report.rows_read == 5 and report.rows_sent == 2 and report.rows_rejected == 3
    assert [(r.row, r.column) for r in report.rejections] == [(1, "vector"), (2, "entity"), (3, "vector")]
    assert report.rejected_rows is not None and report.rejected_rows.num_rows == 3


# -- malformed vectors, invalid UTF-8 --------------------------------------------------------


def test_malformed_vector_text_names_the_row_after_the_rows_before(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text(
        "chunk_id,vector\n" + "".join(f'c{i},"[{i}, 1]"\n' for i in range(10)) + 'bad,"[1, x]"\nz,"[0, 0]"\n'
    )
    rows, error = expect_error(
        open_source(path, 4, kind="document-embeddings"), column="vector", row=10, source=str(path)
    )
    assert [r["chunk_id"] for r in rows] == [f"c{i}" for i in range(10)]
    assert "[1, x]" in str(error)


def test_invalid_utf8_in_csv_names_column_and_row(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    good = "".join(f'http://a/{i},http://p,"v{i}"\n' for i in range(50))
    path.write_bytes(b"s,p,o\n" + good.encode() + b'http://a/x,http://p,"bad \xff\xfe"\n' + b"http://a/y,http://p,z\n")
    rows, error = expect_error(open_source(path, 7), column="o", row=50, source=str(path))
    assert [r["s"] for r in rows] == [f"http://a/{i}" for i in range(50)]  # exactly the rows before
    assert "UTF-8" in str(error)


def test_invalid_utf8_in_jsonl_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    good = "".join(json.dumps(r) + "\n" for r in spo_lines(40))
    path.write_bytes(good.encode() + b'{"s": "http://x", "p": "http://p", "o": "\xc3\x28"}\n' + good.encode())
    rows, error = expect_error(open_source(path, 16), row=40, source=str(path))
    assert "line 41" in str(error) and "UTF-8" in str(error)
    assert [r["s"] for r in rows] == [f"http://a/{i}" for i in range(40)]


def test_invalid_utf8_in_ntriples_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "u.nt"
    good = "".join(f'<http://a/{i}> <http://p> "v{i}" .\n' for i in range(30))
    path.write_bytes(good.encode() + b'<http://a/x> <http://p> "\xff" .\n' + good.encode())
    rows, error = expect_error(open_source(path, 8), row=30, source=str(path))
    assert "line 31" in str(error)
    assert [r["s"] for r in rows] == [f"http://a/{i}" for i in range(30)]


# -- a 10 MB literal ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "nt", "parquet"])
def test_a_10_mb_literal_is_read_whole(tmp_path: Path, suffix: str) -> None:
    big = "é" + "x" * TEN_MB + '"quoted"\n'
    rows = spo_lines(5) + [{"s": "http://big", "p": "http://p", "o": big}] + spo_lines(5, 5)
    table = (
        pa.Table.from_pylist(
            [
                {
                    **r,
                    "s_type": "iri",
                    "p_type": "iri",
                    "o_type": "literal",
                    "o_datatype": None,
                    "o_language": None,
                    "g": None,
                }
                for r in rows
            ]
        )
        .select(schemas.TRIPLES.names)
        .cast(schemas.TRIPLES)
    )
    path = tmp_path / f"big.{suffix}"
    write(table.to_reader(), path)
    back = read_path(path, batch_size=4)
    assert back.column("o").to_pylist() == table.column("o").to_pylist()
    assert back.column("s").to_pylist() == table.column("s").to_pylist()


# -- files truncated or corrupt part way ------------------------------------------------------


def test_a_truncated_parquet_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(triples_table(2000), path, row_group_size=500)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated") as info:
        open_source(path, 100)
    assert info.value.source == str(path)
    with pytest.raises(InputError) as info:
        open_source(str(tmp_path / "*.parquet"), 100)
    assert info.value.source == str(path)


@pytest.mark.parametrize("as_dataset", [False, True])
def test_a_parquet_file_corrupt_part_way_yields_the_good_row_groups_first(tmp_path: Path, as_dataset: bool) -> None:
    table = triples_table(4000).slice(0, 4000)
    path = tmp_path / "c.parquet"
    pq.write_table(table, path, row_group_size=1000, compression="none")
    meta = pq.ParquetFile(path).metadata
    start = meta.row_group(2).column(4).data_page_offset
    data = bytearray(path.read_bytes())
    data[start : start + 2000] = b"\x55" * 2000
    path.write_bytes(bytes(data))
    source = open_source(str(tmp_path / "*.parquet") if as_dataset else path, 300)
    assert source.total_rows == 4000
    rows, error = expect_error(source, source=str(path))
    assert rows == table.slice(0, 2000).to_pylist()  # the two good row groups, exactly
    assert error.row == 2000 and "corrupt part way" in str(error)


def test_a_csv_truncated_mid_row_names_the_line_after_the_rows_before(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    table = triples_table(2000)
    write(table.to_reader(), path)
    text = path.read_bytes()
    path.write_bytes(text[: len(text) - 40])  # the last row loses its last fields
    rows, error = expect_load_error(open_source(path, 500, block_size=16_384), source=str(path), row=table.num_rows - 1)
    last_line = text[: len(text) - 40].count(b"\n") + 1  # as an editor numbers it (quoted values span lines)
    assert f"malformed CSV row at line {last_line}" in str(error)
    assert rows == table.to_pylist()[:-1]  # every row before it, those of its own block too


def test_a_csv_cut_inside_a_quoted_field(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('s,p,o\nhttp://a,http://p,"fine"\nhttp://a,"http://p,never closed\n')
    rows, error = expect_load_error(open_source(path, 10), source=str(path), row=1)
    assert "malformed CSV row at line 3" in str(error) and "Expected 3 columns, got 2" in str(error)
    assert [r["o"] for r in rows] == ["fine"]


def test_a_jsonl_file_truncated_mid_object(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    lines = spo_lines(3000)
    text = "".join(json.dumps(r) + "\n" for r in lines)
    path.write_text(text[:-20])
    rows, error = expect_load_error(open_source(path, 1000, block_size=16_384), source=str(path), row=2999)
    assert [(r["s"], r["p"], r["o"]) for r in rows] == [(r["s"], r["p"], r["o"]) for r in lines[:2999]]
    assert "line 3000" in str(error) and "cut short" in str(error)


def test_an_ntriples_file_truncated_mid_line_yields_every_complete_triple(tmp_path: Path) -> None:
    path = tmp_path / "t.nt"
    write(triples_table(1000).to_reader(), path, drop_graphs=True)
    text = path.read_bytes()
    path.write_bytes(text[: len(text) - 10])
    rows, error = expect_error(open_source(path, 300), source=str(path))
    assert len(rows) == triples_table(1000).num_rows - 1 and error.row == len(rows)
    assert f"line {len(rows) + 1}" in str(error)


def test_turtle_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.ttl"
    path.write_text("@prefix ex: <http://ex/> .\nex:a ex:p ex:b .\nex:a ex:p ex:c .\nex:a ex:p ,, .\n")
    rows, error = expect_error(open_source(path, 10), source=str(path), row=2)
    assert "line 4" in str(error) and len(rows) == 2


def test_missing_files_and_patterns(tmp_path: Path) -> None:
    for missing in (tmp_path / "nope.csv", tmp_path / "nope.parquet", tmp_path / "nope.nt"):
        with pytest.raises(InputError, match="no such file") as info:
            open_source(missing, 10)
        assert info.value.source == str(missing)
    with pytest.raises(InputError, match="no files match"):
        open_source(str(tmp_path / "*.csv"), 10)
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="no data files"):
        open_source(tmp_path / "d", 10)
    (tmp_path / "d" / "README.md").write_text("hello")
    # A file that is not data is skipped in a directory (issue 10): with nothing else there,
    # the directory has no data files, and the error says what was skipped and why.
    with pytest.raises(InputError, match="no data files in the directory") as info:
        open_source(tmp_path / "d", 10)
    assert info.value.source == str(tmp_path / "d") and "README.md: not a data file" in str(info.value)
    with pytest.raises(InputError, match="cannot tell the format") as info:  # named on its own: an error
        open_source(tmp_path / "d" / "README.md", 10)
    assert info.value.source == str(tmp_path / "d" / "README.md")


def test_csv_headers(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes('\ufeff"s","p","o, with a comma"\nhttp://a,http://p,x\n'.encode())
    assert read_path(path, kind="rows").column_names == ["s", "p", "o, with a comma"]  # BOM dropped
    path.write_bytes(b"s,p,\xffo\nhttp://a,http://p,x\n")
    with pytest.raises(InputError, match="invalid UTF-8 in the CSV header row") as info:
        open_source(path, 10)
    assert info.value.source == str(path)
    path.write_text("s,p,s\nhttp://a,http://p,x\n")
    with pytest.raises(InputError, match="duplicate column names"):
        open_source(path, 10)
    path.write_text("http://a,http://p,x\nhttp://b,http://p,y\n")
    headerless = read_path(path, column_names=["s", "p", "o"])
    assert headerless.column("s").to_pylist() == ["http://a", "http://b"]
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(20_000)) + "\n" + ",".join("v" for _ in range(20_000)) + "\n")
    assert read_path(wide, kind="rows").num_columns == 20_000  # a header longer than the first read
