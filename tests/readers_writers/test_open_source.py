"""open_source: which reader each input gets, batch sizes, total_rows, and the call sites."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tg_connect.errors import InputError
from tg_connect.protocol import schemas
from tg_connect.protocol.conform import Conformer
from tg_connect.protocol.terms import Term, Triple
from tg_connect.readers import Source, open_source, rebatch
from tg_connect.sample import sample_path, sample_triples
from tg_connect.writers import write

from .helpers import read_all, read_path, row_set, triples_table


class CStreamOnly:
    """A stand-in for polars / DuckDB: it only implements the Arrow C stream interface."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._table.__arrow_c_stream__(requested_schema)


def test_the_bulk_call_site_still_works() -> None:
    source = open_source(str(sample_path()), 65_536)  # as bulk/load.py calls it
    assert source.total_rows == 5000 and source.name == str(sample_path())
    assert read_all(source).equals(sample_triples(5000))


def test_batches_have_batch_size_rows(tmp_path: Path) -> None:
    table = triples_table(1000)
    for suffix in ("parquet", "csv", "jsonl", "nq"):
        write(table.to_reader(max_chunksize=77), tmp_path / f"t.{suffix}")
        sizes = [b.num_rows for b in open_source(tmp_path / f"t.{suffix}", 300).open()]
        assert sizes == [300, 300, 300, table.num_rows - 900], suffix
    sizes = [b.num_rows for b in open_source(table.to_reader(max_chunksize=77), 300).open()]
    assert sizes == [300, 300, 300, table.num_rows - 900]


def test_arrow_inputs() -> None:
    table = triples_table(100)
    assert open_source(table, 64).total_rows == table.num_rows
    for data in (
        table,
        table.to_batches()[0],
        table.to_reader(max_chunksize=10),
        CStreamOnly(table),
        ds.dataset(table),
    ):
        got = read_all(open_source(data, 64))
        assert got.equals(table if not isinstance(data, pa.RecordBatch) else pa.Table.from_batches([data]))
    assert open_source(CStreamOnly(table), 64).total_rows is None
    assert open_source(ds.dataset(table), 64).total_rows == table.num_rows


def test_pandas_dataframe_with_vectors() -> None:
    frame = pd.DataFrame({"entity": ["http://a", "http://b"], "vector": [np.array([0.5, 1.0]), [2.0, 3.0]]})
    batch = next(open_source(frame, 10).open())
    assert batch.column("vector").to_pylist() == [[0.5, 1.0], [2.0, 3.0]]
    conformed = Conformer("graph-embeddings").conform(batch)
    assert conformed.batch.schema.field("vector").type == schemas.vector_type(2)


def test_suffixes_and_format_override(tmp_path: Path) -> None:
    table = triples_table(40)
    write(table.to_reader(), tmp_path / "t.tsv")
    plain = tmp_path / "data.txt"
    shutil.copy(tmp_path / "t.tsv", plain)
    assert read_path(plain, format="tsv").equals(table)
    assert read_path(plain, format="csv", delimiter="\t").equals(table)
    with pytest.raises(InputError, match="cannot tell the format") as info:
        open_source(plain, 10)
    assert info.value.source == str(plain)
    write(table.to_reader(), tmp_path / "noext", format="parquet")
    assert read_path(tmp_path / "noext").equals(table)  # Parquet recognised by its magic bytes
    write(table.to_reader(), tmp_path / "t.ndjson", format="jsonl")
    assert read_path(tmp_path / "t.ndjson").equals(table)


def test_directory_glob_and_list(tmp_path: Path) -> None:
    table = triples_table(300)
    parts = [table.slice(0, 100), table.slice(100, 100), table.slice(200)]
    (tmp_path / "pq" / "sub").mkdir(parents=True)
    for i, part in enumerate(parts):
        pq.write_table(part, tmp_path / "pq" / ("sub" if i == 2 else "") / f"p{i}.parquet")
    (tmp_path / "pq" / "_SUCCESS").write_text("")
    (tmp_path / "pq" / ".p0.parquet.crc").write_text("x")
    source = open_source(tmp_path / "pq", 128)
    assert source.total_rows == table.num_rows  # from the footers
    assert read_all(source).equals(table)

    (tmp_path / "csv").mkdir()
    for i, part in enumerate(parts):
        write(part.to_reader(), tmp_path / "csv" / f"p{i}.csv")
    assert read_path(tmp_path / "csv").equals(table)
    assert read_path(str(tmp_path / "csv" / "p[01].csv")).equals(table.slice(0, 200))
    assert read_path(str(tmp_path / "csv" / "*.csv")).equals(table)

    files = [tmp_path / "csv" / "p2.csv", tmp_path / "pq" / "p0.parquet"]
    mixed = read_all(open_source(files, 64))  # one source, streaming the files in order
    assert mixed.to_pylist() == parts[2].to_pylist() + parts[0].to_pylist()
    assert open_source([str(f) for f in files], 64).total_rows is None


def test_files_with_columns_in_another_order_are_aligned(tmp_path: Path) -> None:
    table = pa.table({"s": ["http://a"], "p": ["http://p"], "o": ["x"]})
    write(table.to_reader(), tmp_path / "a.csv")
    write(table.select(["o", "s", "p"]).to_reader(), tmp_path / "b.csv")
    both = read_path(str(tmp_path / "*.csv"))
    assert both.column_names == ["s", "p", "o"] and both.num_rows == 2


def test_rdf_files_by_suffix(tmp_path: Path) -> None:
    (tmp_path / "a.nt").write_text('<http://a> <http://p> "x" .\n')
    (tmp_path / "b.ttl").write_text('@prefix ex: <http://ex/> .\nex:a ex:p ex:b, "y"@en .\n')
    (tmp_path / "c.nq").write_text("<http://a> <http://p> <http://o> <http://g> .\n")
    (tmp_path / "d.trig").write_text("@prefix ex: <http://ex/> .\nex:g { ex:a ex:p 1 . }\n")
    got = read_path(tmp_path)
    assert got.to_pylist() == [
        {
            "s": "http://a",
            "s_type": "iri",
            "p": "http://p",
            "p_type": "iri",
            "o": "x",
            "o_type": "literal",
            "o_datatype": None,
            "o_language": None,
            "g": None,
        },
        {
            "s": "http://ex/a",
            "s_type": "iri",
            "p": "http://ex/p",
            "p_type": "iri",
            "o": "http://ex/b",
            "o_type": "iri",
            "o_datatype": None,
            "o_language": None,
            "g": None,
        },
        {
            "s": "http://ex/a",
            "s_type": "iri",
            "p": "http://ex/p",
            "p_type": "iri",
            "o": "y",
            "o_type": "literal",
            "o_datatype": None,
            "o_language": "en",
            "g": None,
        },
        {
            "s": "http://a",
            "s_type": "iri",
            "p": "http://p",
            "p_type": "iri",
            "o": "http://o",
            "o_type": "iri",
            "o_datatype": None,
            "o_language": None,
            "g": "http://g",
        },
        {
            "s": "http://ex/a",
            "s_type": "iri",
            "p": "http://ex/p",
            "p_type": "iri",
            "o": "1",
            "o_type": "literal",
            "o_datatype": "http://www.w3.org/2001/XMLSchema#integer",
            "o_language": None,
            "g": "http://ex/g",
        },
    ]


def test_rdf_refuses_other_kinds(tmp_path: Path) -> None:
    (tmp_path / "a.nt").write_text('<http://a> <http://p> "x" .\n')
    with pytest.raises(InputError, match="cannot be loaded as graph-embeddings") as info:
        open_source(tmp_path / "a.nt", 10, kind="graph-embeddings")
    assert info.value.source == str(tmp_path / "a.nt")


def test_iterables_of_triples() -> None:
    triples = [
        Triple(Term.iri("http://a"), Term.iri("http://p"), Term.literal("x", language="en")),
        Triple(
            Term.blank("b1"),
            Term.iri("http://p"),
            Term("1", "literal", "http://www.w3.org/2001/XMLSchema#string"),
            "http://g",
        ),
        Triple(
            Term.iri("http://a"), Term.iri("http://p"), Term.literal("7", "http://www.w3.org/2001/XMLSchema#integer")
        ),
    ]
    source = open_source(triples, 2)
    assert source.total_rows == 3
    batches = list(source.open())
    assert [b.num_rows for b in batches] == [2, 1] and batches[0].schema.equals(schemas.TRIPLES)
    rows = [r for b in batches for r in b.to_pylist()]
    assert [(r["s"], r["s_type"], r["o"], r["o_datatype"], r["o_language"], r["g"]) for r in rows] == [
        ("http://a", "iri", "x", None, "en", None),
        ("b1", "blank", "1", None, None, "http://g"),  # xsd:string is implicit
        ("http://a", "iri", "7", "http://www.w3.org/2001/XMLSchema#integer", None, None),
    ]
    # A generator works too (read once).
    assert read_all(open_source((t for t in triples), 10)).num_rows == 3


@dataclasses.dataclass
class Embedding:
    entity: Term
    vector: list[float]


def test_iterables_of_dataclasses_and_dicts() -> None:
    records = [Embedding(Term.iri(f"http://e/{i}"), [float(i), 0.5]) for i in range(5)]
    batch = pa.Table.from_batches(list(open_source(records, 2).open()))
    assert batch.column_names == ["entity", "entity_type", "vector"]
    conformed = Conformer("graph-embeddings").conform(batch.combine_chunks().to_batches()[0])
    assert conformed.error is None and conformed.batch.num_rows == 5

    dicts = [
        {"s": "http://a", "p": "http://p", "o": Term.literal("x", language="fr")},
        {"s": "_:b", "p": "http://p", "o": Term.iri("http://o"), "g": "http://g"},
    ]
    got = read_all(open_source(dicts, 10)).to_pylist()
    assert got == [
        {
            "s": "http://a",
            "p": "http://p",
            "o": "x",
            "o_type": "literal",
            "o_datatype": None,
            "o_language": "fr",
            "g": None,
        },
        {
            "s": "_:b",
            "p": "http://p",
            "o": "http://o",
            "o_type": "iri",
            "o_datatype": None,
            "o_language": None,
            "g": "http://g",
        },
    ]


def test_a_source_passes_through_and_unknown_inputs_are_refused() -> None:
    source = Source("mine", lambda: iter([]))
    assert open_source(source, 10) is source
    with pytest.raises(TypeError, match="cannot read int"):
        open_source(42, 10)
    with pytest.raises(TypeError, match="apply to files"):
        open_source(triples_table(2), 10, format="csv")
    with pytest.raises(ValueError, match="unknown format"):
        open_source("x.csv", 10, format="xlsx")


def test_rebatch_yields_what_it_holds_before_an_upstream_error() -> None:
    table = triples_table(20)

    def upstream() -> Iterator[pa.RecordBatch]:
        yield from table.to_batches(max_chunksize=7)
        raise OSError("disk went away")

    got: list[pa.RecordBatch] = []
    with pytest.raises(OSError):
        for batch in rebatch(upstream(), 100):
            got.append(batch)
    assert pa.Table.from_batches(got).equals(table)


def test_the_same_rows_whatever_the_batch_size(tmp_path: Path) -> None:
    table = triples_table(500)
    write(table.to_reader(), tmp_path / "t.nq")
    reference = row_set(read_path(tmp_path / "t.nq", batch_size=1000))
    for size in (1, 7, 64, 501):
        assert row_set(read_path(tmp_path / "t.nq", batch_size=size)) == reference


def test_rebatch_with_min_rows_passes_workable_batches_without_copying() -> None:
    table = triples_table(250).slice(0, 250)
    sizes = [100, 60, 10, 5, 75]  # a row group's remainder (60) passes; 10 and 5 are gathered
    parts, start = [], 0
    for size in sizes:
        parts.append(table.slice(start, size).combine_chunks().to_batches()[0])
        start += size
    got = list(rebatch(iter(parts), 64, min_rows=32))
    assert [b.num_rows for b in got] == [64, 36, 60, 64, 26]
    assert pa.Table.from_batches(got).equals(table.combine_chunks())
    # Passed on as views of the input (no copy): the 60-row batch is the very same buffers.
    assert got[2].column(0).buffers()[1].address == parts[1].column(0).buffers()[1].address
    assert all(b.num_rows <= 64 for b in rebatch(iter(parts), 64, min_rows=32))


def test_parquet_columns_of_few_values_can_be_read_as_dictionaries(tmp_path: Path) -> None:
    table = triples_table(300)
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=100)
    pq.write_table(table, tmp_path / "b.parquet", row_group_size=100)
    for data in (tmp_path / "a.parquet", [tmp_path / "a.parquet", tmp_path / "b.parquet"]):
        source = open_source(data, 128, dictionary_columns=["p", "o_type", "not_a_column"])
        batches = list(source.open())
        got = pa.Table.from_batches(batches)
        assert pa.types.is_dictionary(got.schema.field("p").type)
        assert pa.types.is_dictionary(got.schema.field("o_type").type)
        assert got.schema.field("s").type == pa.string()
        decoded = got.combine_chunks().cast(table.schema)
        expected = table if isinstance(data, Path) else pa.concat_tables([table, table])
        assert decoded.equals(expected.combine_chunks())
