"""The first hour of a newcomer, through the installed ``tg-connect`` console script (issue 10).

A data engineer's own files, none of them the fixtures other tests use: a Parquet export
whose columns have other names and an extra column, a folder of Turtle files with relative
IRIs beside an RDF/XML file and files that are not data, and a table of embeddings. Each is
loaded from the command line, read back with the command the load printed, and compared. The
mistakes a newcomer makes on the way each get one line on stderr and a documented exit status.
"""

from __future__ import annotations

import shlex
import socket
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pyoxigraph as ox
import pytest

from tg_connect.local import LocalGateway

from ..cli.helpers import one_line, run

EX = "http://example.org/newcomer/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


@pytest.fixture(scope="module")
def newcomer_gw() -> Iterator[LocalGateway]:
    with LocalGateway() as gw:
        yield gw


@pytest.fixture(scope="module")
def locked_gw() -> Iterator[LocalGateway]:
    with LocalGateway(token="tg_newcomer_secret") as gw:
        yield gw


def read_back_command(stdout: str, dest: Path) -> list[str]:
    """The ``read back:`` command a load printed, writing to ``dest`` instead of out.parquet."""
    line = next(line for line in stdout.splitlines() if line.startswith("read back: "))
    words = shlex.split(line.removeprefix("read back: "))
    assert words[:2] == ["tg-connect", "dump"], line
    return [str(dest) if w == "out.parquet" else w for w in words[1:]]


def test_a_parquet_export_with_other_names_and_an_extra_column(newcomer_gw: LocalGateway, tmp_path: Path) -> None:
    people = tmp_path / "people_export.parquet"
    pq.write_table(
        pa.table(
            {
                "subject": [f"{EX}ada", f"{EX}ada", f"{EX}alan", f"{EX}alan"],
                "predicate": [f"{EX}name", f"{EX}knows", f"{EX}name", f"{EX}born"],
                "object": ["Ada", f"{EX}alan", "Alan", "1912"],
                "object_kind": ["lit", "uri", "lit", "Literal"],
                "exported_at": ["2026-12-01"] * 4,
            }
        ),
        people,
    )
    base = ["load", "triples", str(people), "--url", newcomer_gw.url, "--collection", "newcomer-people"]

    first = run(*base)  # as the file comes: the extra and unnamed columns are one line
    assert first.returncode == 1
    line = one_line(first)
    assert "'exported_at'" in line and "--extra-columns ignore" in line and "--columns" in line, line
    assert "extra_columns=" not in line  # the command line's terms, not Python's

    loaded = run(
        *base,
        "--columns",
        "subject=s,predicate=p,object=o,object_kind=o_type",
        "--extra-columns",
        "ignore",
        "--document-id",
        "newcomer-people",
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "document id: newcomer-people" in loaded.stdout

    out = tmp_path / "people_back.parquet"
    dumped = run(*read_back_command(loaded.stdout, out))
    assert dumped.returncode == 0, dumped.stderr
    back = pq.read_table(out).to_pylist()
    assert sorted((r["s"], r["p"], r["o"], r["o_type"]) for r in back) == sorted(
        [
            (f"{EX}ada", f"{EX}name", "Ada", "literal"),
            (f"{EX}ada", f"{EX}knows", f"{EX}alan", "iri"),
            (f"{EX}alan", f"{EX}name", "Alan", "literal"),
            (f"{EX}alan", f"{EX}born", "1912", "literal"),
        ]
    )


def test_a_folder_of_rdf_as_it_comes(newcomer_gw: LocalGateway, tmp_path: Path) -> None:
    folder = tmp_path / "vocab"
    folder.mkdir()
    (folder / "core.ttl").write_text(
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        '<core#Widget> a rdfs:Class ;\n    rdfs:label "Widget"@en ;\n    rdfs:seeAlso <widget.h> .\n'
    )
    (folder / "extra.ttl").write_text("<core#Gadget> <../terms#partOf> <core#Widget> .\n")
    (folder / "shapes.rdf").write_text(
        f'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:ex="{EX}">\n'
        '  <rdf:Description rdf:about="shapes#Round"><ex:sides>0</ex:sides></rdf:Description>\n</rdf:RDF>\n'
    )
    (folder / "widget.c").write_text("int main(void) { return 0; }\n")
    (folder / "NOTES.txt").write_text("not data\n")

    loaded = run("load", "triples", str(folder), "--url", newcomer_gw.url, "--collection", "newcomer-vocab")
    assert loaded.returncode == 0, loaded.stderr
    for name in ("widget.c", "NOTES.txt"):
        assert any(name in line and "skipped" in line for line in loaded.stdout.splitlines()), loaded.stdout

    out = tmp_path / "vocab.nt"
    dumped = run(*read_back_command(loaded.stdout, out.with_suffix(".parquet")))
    assert dumped.returncode == 0, dumped.stderr
    got = {(r["s"], r["p"], r["o"]) for r in pq.read_table(out.with_suffix(".parquet")).to_pylist()}

    expected = set()  # what an RDF library makes of each file, each against its own file:// URI
    for name, fmt in (("core.ttl", ox.RdfFormat.TURTLE), ("extra.ttl", ox.RdfFormat.TURTLE)):
        path = folder / name
        for q in ox.parse(path=str(path), format=fmt, base_iri=path.as_uri()):
            expected.add((q.subject.value, q.predicate.value, q.object.value))
    rdfxml = folder / "shapes.rdf"
    for q in ox.parse(path=str(rdfxml), format=ox.RdfFormat.RDF_XML, base_iri=rdfxml.as_uri()):
        expected.add((q.subject.value, q.predicate.value, q.object.value))
    assert got == expected
    assert (f"{folder.as_uri()}/core#Widget", "http://www.w3.org/2000/01/rdf-schema#seeAlso") in {
        (s, p) for s, p, _ in got
    }
    assert f"{tmp_path.as_uri()}/terms#partOf" in {p for _, p, _ in got}  # ../ from the file's folder


def test_graph_embeddings_read_back_by_collection(newcomer_gw: LocalGateway, tmp_path: Path) -> None:
    vectors = tmp_path / "entity_vectors.parquet"
    names = [f"{EX}topic/{i}" for i in range(12)]
    rows = [[float(i), float(i % 3), 1.0 - i / 12, 0.5] for i in range(12)]
    pq.write_table(
        pa.table({"name": names, "embedding": pa.array(rows, pa.list_(pa.float32()))}),
        vectors,
    )
    loaded = run(
        "load",
        "graph-embeddings",
        str(vectors),
        "--url",
        newcomer_gw.url,
        "--collection",
        "newcomer-vectors",
        "--columns",
        "name=entity,embedding=vector",
    )
    assert loaded.returncode == 0, loaded.stderr

    out = tmp_path / "vectors_back.parquet"  # by collection: no document id to remember
    dumped = run("dump", "graph-embeddings", str(out), "--url", newcomer_gw.url, "--collection", "newcomer-vectors")
    assert dumped.returncode == 0, dumped.stderr
    back = {r["entity"]: [round(x, 6) for x in r["vector"]] for r in pq.read_table(out).to_pylist()}
    assert back == {n: [round(x, 6) for x in v] for n, v in zip(names, rows, strict=True)}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_every_first_hour_mistake_is_one_line(
    newcomer_gw: LocalGateway, locked_gw: LocalGateway, tmp_path: Path
) -> None:
    data = tmp_path / "few.parquet"
    pq.write_table(pa.table({"s": [f"{EX}a"], "p": [f"{EX}p"], "o": ["x"]}), data)
    nowhere = f"http://127.0.0.1:{_closed_port()}"
    bare = locked_gw.url.removeprefix("http://")
    mistakes: list[tuple[tuple[str, ...], dict[str, str], int, str]] = [
        (("load", "triples", str(data), "--url", bare), {}, 64, f"did you mean --url http://{bare}?"),
        (("load", "triples", str(data), "--url", f"{newcomer_gw.url}/api/v1"), {}, 64, f"--url {newcomer_gw.url}"),
        (("load", "triples", str(data), "--format", "excel"), {}, 64, "unknown --format 'excel'"),
        (("load", "triple", str(data)), {}, 64, "unknown kind 'triple'"),
        (("dump", "triples", "x.parquet", "--source", "core"), {}, 64, "--source core needs --core-id"),
        (
            ("load", "triples", str(data)),
            {"TRUSTGRAPH_URL": nowhere},
            1,
            f"nothing answers at {nowhere}",
        ),
        (("load", "triples", str(data), "--url", locked_gw.url), {}, 1, "none was given"),
        (
            ("load", "triples", str(data), "--url", locked_gw.url, "--token", "tg_wrong_token_x"),
            {},
            1,
            "refused",
        ),
    ]
    for args, env, status, expected in mistakes:
        result = run(*args, env=env)
        line = one_line(result)
        assert result.returncode == status, (args, result.stderr)
        assert expected in line, (args, line)
        assert "tg_wrong_token_x" not in line and "tg_newcomer_secret" not in line
    token_lines = [one_line(run(*m[0], env=m[1])) for m in mistakes[-2:]]
    assert all("--token" in line and "TRUSTGRAPH_TOKEN" in line for line in token_lines), token_lines
    ok = run("load", "triples", str(data), "--url", locked_gw.url, env={"TRUSTGRAPH_TOKEN": "tg_newcomer_secret"})
    assert ok.returncode == 0, ok.stderr
