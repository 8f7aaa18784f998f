"""Tables as they come, loaded into a local gateway: other column names, extra columns, term
kinds in other tools' spellings; from the command line (``tg_connect.cli.main``) and Python,
for every input type. What is loaded is read back and compared exactly; an error is checked
to name what is wrong and the fix in the caller's terms, before anything was sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

import tg_connect
from tg_connect import cli, wording
from tg_connect.errors import InputError
from tg_connect.protocol import schemas

N = 40


@pytest.fixture(autouse=True)
def python_spelling() -> Iterator[None]:
    """``cli.main`` switches the process to CLI spelling: switch back for the other tests."""
    wording.use_python_spelling()
    yield
    wording.use_python_spelling()


def as_they_come(run_id: str, n: int = N) -> pa.Table:
    """A table as an export from elsewhere has it: other names, a kind column spelled its own
    way, a language column, and two columns no kind uses."""
    iri = [i % 3 == 0 for i in range(n)]
    return pa.table(
        {
            "subject": [f"http://example.org/{run_id}/s{i}" for i in range(n)],
            "predicate": [f"http://example.org/{run_id}/p{i % 4}" for i in range(n)],
            "object": [f"http://example.org/{run_id}/o{i}" if iri[i] else f"value {i}" for i in range(n)],
            "o_kind": ["URI" if iri[i] else ("lit" if i % 2 else "Literal") for i in range(n)],
            "lang": [None if iri[i] or i % 5 else "en" for i in range(n)],
            "source_file": [f"export-{i % 2}.csv" for i in range(n)],
            "confidence": [i / n for i in range(n)],
        }
    )


MAPPING = {"subject": "s", "predicate": "p", "object": "o", "o_kind": "o_type", "lang": "o_language"}


def expected(table: pa.Table) -> pa.Table:
    """``table`` in the canonical triples schema: what a load of it must read back as."""
    kinds = ["iri" if k == "URI" else "literal" for k in table.column("o_kind").to_pylist()]
    n = table.num_rows
    return pa.table(
        {
            "s": table.column("subject"),
            "s_type": ["iri"] * n,
            "p": table.column("predicate"),
            "p_type": ["iri"] * n,
            "o": table.column("object"),
            "o_type": kinds,
            "o_datatype": pa.nulls(n, pa.string()),
            "o_language": table.column("lang"),
            "g": pa.nulls(n, pa.string()),
        },
        schema=schemas.TRIPLES,
    )


def read_back(url: str, collection: str) -> pa.Table:
    return tg_connect.read_batches("triples", url, collection=collection).read_all()


def same_rows(got: pa.Table, want: pa.Table) -> bool:
    keys = [(k, "ascending") for k in schemas.TRIPLES.names]
    return bool(got.select(schemas.TRIPLES.names).cast(schemas.TRIPLES).sort_by(keys).equals(want.sort_by(keys)))


def collections(url: str) -> list[str]:
    with tg_connect.Api(url) as api:
        return [c.collection for c in api.collection().list_collections()]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# -- the command line ----------------------------------------------------------------------


def test_cli_loads_a_parquet_file_with_other_names_and_extra_columns(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    table = as_they_come(run_id)
    path = tmp_path / "export.parquet"
    pq.write_table(table, path)
    collection = f"c{run_id}"
    code, out, err = run_cli(
        capsys,
        *("load", "triples", str(path), "--url", local_gateway.url, "--collection", collection, "--no-progress"),
        *("--columns", "subject=s,predicate=p,object=o", "--columns", "o_kind=o_type,lang=o_language"),
        *("--extra-columns", "ignore"),
    )
    assert code == 0, err
    assert f"rows read {N:,}, delivered {N:,} (sent {N:,}), rejected 0" in out
    assert same_rows(read_back(local_gateway.url, collection), expected(table))


@pytest.mark.parametrize("form", ["json", "lines"])
def test_cli_takes_the_mapping_from_a_file(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    table = as_they_come(run_id).drop_columns(["source_file", "confidence"])
    path = tmp_path / "export.parquet"
    pq.write_table(table, path)
    mapping = tmp_path / "columns.map"
    if form == "json":
        mapping.write_text(json.dumps(MAPPING))
    else:
        mapping.write_text("# export -> triples\n" + "\n".join(f"{k}={v}" for k, v in MAPPING.items()) + "\n")
    collection = f"c{run_id}{form}"
    code, _, err = run_cli(
        capsys,
        *("load", "triples", str(path), "--url", local_gateway.url, "--collection", collection, "--no-progress"),
        *("--columns-from", str(mapping)),
    )
    assert code == 0, err
    assert same_rows(read_back(local_gateway.url, collection), expected(table))


def test_cli_error_for_extra_columns_names_the_flags_and_sends_nothing(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    table = as_they_come(run_id).rename_columns(["s", "p", "o", "o_kind", "lang", "source_file", "confidence"])
    path = tmp_path / "export.parquet"
    pq.write_table(table, path)
    collection = f"c{run_id}"
    code, out, err = run_cli(
        capsys, "load", "triples", str(path), "--url", local_gateway.url, "--collection", collection, "--no-progress"
    )
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "tg-connect: error: 4 columns that triples does not use: 'o_kind', 'lang', 'source_file', 'confidence'"
        " (triples takes s, p, o, s_type, p_type, o_type, o_datatype, o_language, g). 'o_kind' looks like"
        " 'o_type'; 'lang' looks like 'o_language': map with --columns o_kind=o_type,lang=o_language, and leave"
        f" 'source_file', 'confidence' out with --extra-columns ignore (source {path})"
    ]
    assert collection not in collections(local_gateway.url)  # nothing asked or sent: not even created


def test_cli_error_for_other_names_gives_the_whole_mapping(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.parquet"
    pq.write_table(as_they_come(run_id), path)
    code, _, err = run_cli(capsys, "load", "triples", str(path), "--url", local_gateway.url, "--no-progress")
    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith("tg-connect: error: missing required columns 's', 'p', 'o' for triples;")
    assert (
        ": map them with --columns subject=s,predicate=p,object=o,o_kind=o_type,lang=o_language, and leave"
        " 'source_file', 'confidence' out with --extra-columns ignore" in line
    )


def test_cli_bad_kind_names_row_column_value_and_spellings(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    table = as_they_come(run_id)
    kinds = table.column("o_kind").to_pylist()
    kinds[7] = "text"
    path = tmp_path / "export.parquet"
    pq.write_table(table.set_column(3, "o_kind", pa.array(kinds)), path)
    code, _, err = run_cli(
        capsys,
        *("load", "triples", str(path), "--url", local_gateway.url, "--collection", f"c{run_id}", "--no-progress"),
        *("--columns", ",".join(f"{k}={v}" for k, v in MAPPING.items()), "--extra-columns", "ignore"),
    )
    assert code == 1
    first = err.splitlines()[0]
    assert first.startswith("tg-connect: error: unknown term kind 'text' in 'o_type' (input column 'o_kind');")
    assert "accepted: iri (or uri, url, i, u, URIRef, NamedNode), blank (or bnode, b, BNode, BlankNode)," in first
    assert "literal (or lit, l, typed-literal)" in first
    assert f"(source {path}, column 'o_type', row 7) (7 rows delivered before it;" in first


# -- Python, every input type --------------------------------------------------------------


def _dataframe(table: pa.Table, tmp_path: Path) -> Any:
    return table.to_pandas()


def _arrow(table: pa.Table, tmp_path: Path) -> Any:
    return table


def _parquet(table: pa.Table, tmp_path: Path) -> Any:
    pq.write_table(table, tmp_path / "t.parquet")
    return tmp_path / "t.parquet"


def _dataset(table: pa.Table, tmp_path: Path) -> Any:
    (tmp_path / "ds").mkdir()
    pq.write_table(table.slice(0, N // 2), tmp_path / "ds" / "part-0.parquet")
    pq.write_table(table.slice(N // 2), tmp_path / "ds" / "part-1.parquet")
    return tmp_path / "ds"


def _csv(table: pa.Table, tmp_path: Path) -> Any:
    pcsv.write_csv(table, tmp_path / "t.csv")
    return tmp_path / "t.csv"


def _jsonl(table: pa.Table, tmp_path: Path) -> Any:
    path = tmp_path / "t.jsonl"
    path.write_text(
        "".join(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n" for row in table.to_pylist())
    )
    return path


INPUTS: dict[str, Callable[[pa.Table, Path], Any]] = {
    "dataframe": _dataframe,
    "arrow": _arrow,
    "parquet": _parquet,
    "dataset": _dataset,
    "csv": _csv,
    "jsonl": _jsonl,
}


@pytest.mark.parametrize("form", list(INPUTS))
def test_every_input_type_names_extra_columns_in_python_terms(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str, form: str
) -> None:
    table = as_they_come(run_id).rename_columns(["s", "p", "o", "o_kind", "lang", "source_file", "confidence"])
    collection = f"c{run_id}"
    with pytest.raises(InputError) as caught:
        tg_connect.to_trustgraph(
            INPUTS[form](table, tmp_path), url=local_gateway.url, collection=collection, progress=False
        )
    text = str(caught.value)
    named = text.split("4 columns that triples does not use: ")[1].split(" (")[0]
    assert sorted(named.split(", ")) == sorted(
        ["'o_kind'", "'lang'", "'source_file'", "'confidence'"]
    )  # JSONL: key order
    assert 'map with columns={"o_kind": "o_type", "lang": "o_language"}' in text
    assert "leave 'source_file', 'confidence' out with extra_columns=\"ignore\"" in text
    assert collection not in collections(local_gateway.url)


@pytest.mark.parametrize("form", list(INPUTS))
def test_every_input_type_loads_mapped_and_ignored_columns_exactly(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str, form: str
) -> None:
    table = as_they_come(run_id)
    collection = f"c{run_id}"
    report = tg_connect.to_trustgraph(
        INPUTS[form](table, tmp_path),
        url=local_gateway.url,
        collection=collection,
        progress=False,
        columns=MAPPING,
        extra_columns="ignore",
    )
    assert report.ok and report.rows_sent == N
    assert same_rows(read_back(local_gateway.url, collection), expected(table))


def test_bad_kinds_skipped_lose_nothing_good(local_gateway: tg_connect.LocalGateway, run_id: str) -> None:
    table = as_they_come(run_id)
    kinds = table.column("o_kind").to_pylist()
    bad = [3, 11, 30]
    for i in bad:
        kinds[i] = ["node", "??", "x"][bad.index(i)]
    table = table.set_column(3, "o_kind", pa.array(kinds))
    collection = f"c{run_id}"
    report = tg_connect.to_trustgraph(
        table,
        url=local_gateway.url,
        collection=collection,
        progress=False,
        columns=MAPPING,
        extra_columns="ignore",
        on_error="skip",
    )
    assert [(r.row, r.column) for r in report.rejections] == [(i, "o_type") for i in bad]
    assert all("accepted: iri (or uri" in r.reason for r in report.rejections)
    assert report.rows_sent == N - len(bad)
    assert report.rejected_rows is not None
    assert report.rejected_rows.column_names == table.column_names  # as they came, extra columns too
    assert report.rejected_rows.column("source_file").to_pylist() == [
        table.column("source_file")[i].as_py() for i in bad
    ]
    good = table.filter(pa.array([i not in bad for i in range(N)]))
    good = good.set_column(
        3, "o_kind", pa.array(["URI" if k.upper() == "URI" else "lit" for k in good.column("o_kind").to_pylist()])
    )
    assert same_rows(read_back(local_gateway.url, collection), expected(good))


def test_embeddings_with_other_names_and_extra_columns(local_gateway: tg_connect.LocalGateway, run_id: str) -> None:
    frame = pd.DataFrame(
        {
            "node": [f"http://example.org/{run_id}/e{i}" for i in range(5)],
            "node_kind": ["URIRef"] * 5,
            "embedding": [[float(i), 1.0, 2.0] for i in range(5)],
            "model": ["m"] * 5,
        }
    )
    with pytest.raises(InputError) as caught:
        tg_connect.to_trustgraph(frame, "graph-embeddings", url=local_gateway.url, progress=False)
    assert "missing required columns 'entity', 'vector' for graph-embeddings" in str(caught.value)
    assert '"embedding": "vector"' in str(caught.value) and "'model'" in str(caught.value)
    doc = f"ge-{run_id}"
    report = tg_connect.to_trustgraph(
        frame,
        "graph-embeddings",
        url=local_gateway.url,
        progress=False,
        columns={"node": "entity", "node_kind": "entity_type", "embedding": "vector"},
        extra_columns="ignore",
        document_id=doc,
    )
    assert report.ok and report.rows_sent == 5
    got = tg_connect.read_trustgraph("graph-embeddings", url=local_gateway.url, source="core", core_id=doc)
    assert sorted(
        (e, t, [float(x) for x in v]) for e, t, v in zip(got["entity"], got["entity_type"], got["vector"], strict=True)
    ) == [(f"http://example.org/{run_id}/e{i}", "iri", [float(i), 1.0, 2.0]) for i in range(5)]
