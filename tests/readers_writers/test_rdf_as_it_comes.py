"""RDF as it comes (issue 10): relative IRIs, RDF/XML, format names, where a syntax error is,
and a directory of many files, some of them not data, one of them broken."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pytest

from tg_connect import wording
from tg_connect.bulk.report import FileReport, LoadReport
from tg_connect.errors import InputError
from tg_connect.readers import FilesSource, open_source
from tg_connect.readers.formats import FORMAT_NAMES, FORMATS, normalise_format
from tg_connect.writers import write

from .helpers import collect_until_error, read_path

RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
LV2_ATOM = """@prefix atom: <http://lv2plug.in/ns/ext/atom#> .
@prefix lv2: <http://lv2plug.in/ns/lv2core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix here: <sub/> .

<http://lv2plug.in/ns/ext/atom>
\ta lv2:Specification ;
\tlv2:implementation <atom.h> ;
\trdfs:seeAlso <atom.meta.ttl> , <../util.ttl> ;
\there:thing <#frag> .
"""
RDF_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- an ontology, as Protege writes one -->
<!DOCTYPE rdf:RDF [ <!ENTITY ex "http://example.org/"> ]>
<rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:ex="http://example.org/" xml:base="http://example.org/base/">
  <rdf:Description rdf:about="thing">
    <ex:name xml:lang="en">Thing</ex:name>
    <ex:link rdf:resource="&ex;other"/>
  </rdf:Description>
</rdf:RDF>
"""
RDF_XML_ROWS = [
    ("http://example.org/base/thing", "http://example.org/name", "Thing", "literal", "en"),
    ("http://example.org/base/thing", "http://example.org/link", "http://example.org/other", "iri", None),
]


def spo(table: pa.Table) -> list[tuple[object, ...]]:
    return [(r["s"], r["p"], r["o"], r["o_type"], r["o_language"]) for r in table.to_pylist()]


# -- relative IRIs ----------------------------------------------------------------------------


def test_relative_iris_resolve_against_the_files_own_uri(tmp_path: Path) -> None:
    path = tmp_path / "lv2" / "atom.ttl"
    path.parent.mkdir()
    path.write_text(LV2_ATOM)
    got = {(r["p"].rsplit("#", 1)[-1].rsplit("/", 1)[-1], r["o"]) for r in read_path(path).to_pylist()}
    here = path.parent.resolve().as_uri()
    assert got == {
        ("type", "http://lv2plug.in/ns/lv2core#Specification"),
        ("implementation", f"{here}/atom.h"),
        ("seeAlso", f"{here}/atom.meta.ttl"),
        ("seeAlso", f"{tmp_path.resolve().as_uri()}/util.ttl"),
        ("thing", f"{path.resolve().as_uri()}#frag"),  # a prefix that is itself relative
    }
    predicates = {r["p"] for r in read_path(path).to_pylist()}
    assert f"{here}/sub/thing" in predicates


def test_an_explicit_base_iri_wins(tmp_path: Path) -> None:
    path = tmp_path / "atom.ttl.gz"
    path.write_bytes(gzip.compress(LV2_ATOM.encode()))
    rows = read_path(path, base_iri="http://lv2plug.in/ns/ext/atom/").to_pylist()
    assert {r["o"] for r in rows if r["p"].endswith("#implementation")} == {"http://lv2plug.in/ns/ext/atom/atom.h"}


def test_base_iri_applies_to_rdf_files_only_in_a_mixed_directory(tmp_path: Path) -> None:
    (tmp_path / "a.ttl").write_text("<a> <http://p> <b> .\n")
    (tmp_path / "b.nt").write_text("<http://x> <http://p> <http://y> .\n")
    table = read_path(tmp_path, base_iri="http://base/", fail_fast=True)
    assert sorted(table.column("s").to_pylist()) == ["http://base/a", "http://x"]
    with pytest.raises(InputError, match=r"unknown read options \['base_uri'\]"):
        open_source(tmp_path, 10, base_uri="http://base/")


# -- RDF/XML ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["onto.rdf", "onto.owl", "onto.xml", "onto.xml.gz", "onto.RDF"])
def test_rdf_xml_by_suffix_and_root(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    data = RDF_XML.encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    assert spo(read_path(path)) == RDF_XML_ROWS


def test_an_xml_file_that_is_not_rdf_is_not_data(tmp_path: Path) -> None:
    (tmp_path / "pom.xml").write_text('<?xml version="1.0"?>\n<project><rdf:RDF xmlns:rdf="x"/></project>\n')
    (tmp_path / "wrong-ns.xml").write_text('<rdf:RDF xmlns:rdf="http://example.org/not-rdf#"/>\n')
    (tmp_path / "broken.xml").write_text("<<<not xml")
    for name in ("pom.xml", "wrong-ns.xml", "broken.xml"):
        with pytest.raises(InputError, match="cannot tell the format .XML whose root element is not rdf:RDF"):
            open_source(tmp_path / name, 10)
    (tmp_path / "data.xml").write_text(RDF_XML)
    source = open_source(tmp_path, 10)
    assert isinstance(source, FilesSource)
    assert spo(pa.Table.from_batches(list(source.open()))) == RDF_XML_ROWS
    skipped = {Path(f.path).name: f.reason for f in source.files if f.status == "skipped"}
    assert skipped == dict.fromkeys(
        ["broken.xml", "pom.xml", "wrong-ns.xml"], "XML whose root element is not rdf:RDF (not RDF/XML)"
    )


def test_an_xml_file_read_as_rdf_xml_when_told(tmp_path: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_text(RDF_XML)
    assert spo(read_path(path, format="application/rdf+xml")) == RDF_XML_ROWS


def test_rdf_xml_writes_and_reads_back(tmp_path: Path) -> None:
    table = pa.table({"s": ["http://a/1", "http://a/2"], "p": ["http://p/x"] * 2, "o": ["v", "http://o"]})
    write(table, tmp_path / "out.rdf")
    assert [(r["s"], r["o"], r["o_type"]) for r in read_path(tmp_path / "out.rdf").to_pylist()] == [
        ("http://a/1", "v", "literal"),
        ("http://a/2", "http://o", "iri"),
    ]


# -- where a syntax error is ------------------------------------------------------------------


def test_a_turtle_error_names_line_and_column_not_a_row(tmp_path: Path) -> None:
    path = tmp_path / "e.ttl"
    path.write_text(
        "@prefix ex: <http://ex/> .\n" + "".join(f"ex:a{i} ex:p ex:b .\n" for i in range(10)) + "ex:a ex:p ,, .\n"
    )
    batches, error = collect_until_error(open_source(path, 4))
    assert isinstance(error, InputError) and error.source == str(path) and error.row == 10
    assert str(error) == f"RDF syntax error at line 12, column 11: , is not a valid RDF object (source {path})"
    assert sum(b.num_rows for b in batches) == 10  # every triple before the error


@pytest.mark.parametrize(
    "body, where, words",
    [
        ('<rdf:Description rdf:about="http://a/0"><ex:p>x</ex:q></rdf:Description>', "line 4, column 50", "expected"),
        ('<rdf:Description rdf:about="http://a/0"><zz:p>x</zz:p></rdf:Description>', "line 4, column 41", "zz"),
        ('<rdf:Description rdf:about="http://a b"><ex:p>x</ex:p></rdf:Description>', "line 4, column 1", "http://a b"),
    ],
    ids=["not-well-formed", "unbound-prefix", "bad-iri"],
)
def test_an_rdf_xml_error_is_placed_by_the_xml_parser(tmp_path: Path, body: str, where: str, words: str) -> None:
    path = tmp_path / "e.rdf"
    good = '<rdf:Description rdf:about="http://a/1"><ex:p>y</ex:p></rdf:Description>'
    path.write_text(f'<rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:ex="http://ex/">\n{good}\n{good}\n{body}\n</rdf:RDF>\n')
    batches, error = collect_until_error(open_source(path, 10))
    assert isinstance(error, InputError) and error.source == str(path)
    assert f"RDF syntax error at {where} (as Python's XML parser places it)" in str(error) and words in str(error)
    assert sum(b.num_rows for b in batches) == 2


def test_a_truncated_rdf_xml_file_does_not_pass_for_whole(tmp_path: Path) -> None:
    path = tmp_path / "cut.rdf.gz"
    whole = RDF_XML.encode()
    path.write_bytes(gzip.compress(whole[: whole.index(b"</rdf:Description>")]))
    batches, error = collect_until_error(open_source(path, 10))
    assert sum(b.num_rows for b in batches) == 2  # pyoxigraph read both triples and stopped quietly
    assert isinstance(error, InputError) and error.source == str(path) and error.row == 2
    assert "RDF syntax error at line 8, column 3 (as Python's XML parser places it): no element found" in str(error)
    assert "not complete XML" in str(error)


# -- format names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, canonical",
    [
        ("rdfxml", "rdfxml"),
        ("RDF/XML", "rdfxml"),
        ("xml", "rdfxml"),
        ("owl", "rdfxml"),
        ("application/rdf+xml", "rdfxml"),
        ("turtle", "ttl"),
        ("text/turtle; charset=utf-8", "ttl"),
        ("ntriples", "nt"),
        ("N-Triples", "nt"),
        ("application/n-triples", "nt"),
        ("nquads", "nq"),
        ("trig", "trig"),
        ("jsonl", "jsonl"),
        ("ndjson", "jsonl"),
        ("application/x-ndjson", "jsonl"),
        ("csv", "csv"),
        ("text/tab-separated-values", "tsv"),
        ("parquet", "parquet"),
        ("application/vnd.apache.parquet", "parquet"),
        (".ttl", "ttl"),
    ],
)
def test_format_names(name: str, canonical: str) -> None:
    assert normalise_format(name) == canonical


def test_an_unknown_format_lists_the_names_in_the_callers_terms(tmp_path: Path) -> None:
    (tmp_path / "a.ttl").write_text("<http://a> <http://p> <http://o> .\n")
    with pytest.raises(InputError) as info:
        open_source(tmp_path / "a.ttl", 10, format="rdf-turtle")
    message = str(info.value)
    assert "\n" not in message and message.startswith("unknown format 'rdf-turtle': expected one of ")
    assert all(name in message for name in FORMATS + FORMAT_NAMES)
    (tmp_path / "x.c").write_text("int x;\n")
    with pytest.raises(InputError, match='or pass format="NAME" with one of those names'):
        open_source(tmp_path / "x.c", 10)
    wording.use_cli_spelling()
    try:
        with pytest.raises(InputError, match="^unknown --format 'rdf-turtle': expected one of parquet"):
            normalise_format("rdf-turtle")
        with pytest.raises(InputError, match="or pass --format NAME with one of those names"):
            open_source(tmp_path / "x.c", 10)
    finally:
        wording.use_python_spelling()


# -- many files -------------------------------------------------------------------------------


def many(tmp_path: Path) -> Path:
    """A directory as it comes: Turtle with relative IRIs, RDF/XML, a broken Turtle file, a
    ``.c`` file, a README and an XML file that is not RDF."""
    d = tmp_path / "many"
    (d / "sub").mkdir(parents=True)
    (d / "a.ttl").write_text(LV2_ATOM)
    (d / "sub" / "b.ttl").write_text("@prefix ex: <http://ex/> .\n<x> ex:p <y> , <z> .\n")
    (d / "c.owl").write_text(RDF_XML)
    (d / "d-broken.ttl").write_text("@prefix ex: <http://ex/> .\nex:a ex:p ex:b .\nex:c ex:p ex:d .\nex:e ex:p ,, .\n")
    (d / "plugin.c").write_text("int main(void) { return 0; }\n")
    (d / "README").write_text("Schemas.\n")
    (d / "pom.xml").write_text("<project/>\n")
    return d


def test_many_files_a_broken_one_is_recorded_and_the_rest_read(tmp_path: Path) -> None:
    d = many(tmp_path)
    source = open_source(d, 100, fail_fast=False)
    assert isinstance(source, FilesSource)
    table = pa.Table.from_batches(list(source.open()))
    by_name = {Path(f.path).name: f for f in source.files}
    assert {n: (f.status, f.rows) for n, f in by_name.items()} == {
        "README": ("skipped", 0),
        "a.ttl": ("read", 5),
        "c.owl": ("read", 2),
        "d-broken.ttl": ("failed", 2),
        "plugin.c": ("skipped", 0),
        "pom.xml": ("skipped", 0),
        "b.ttl": ("read", 2),
    }
    assert table.num_rows == 11
    error = by_name["d-broken.ttl"].error
    assert (
        isinstance(error, InputError) and "line 4, column 11" in str(error) and error.source == str(d / "d-broken.ttl")
    )
    # Each file's rows in batches of their own (a checkpoint then knows each file's messages).
    starts = [f.first_row for f in source.files if f.rows]
    assert starts == [0, 5, 7, 9]


def test_many_files_fail_fast_raises_after_the_rows_before(tmp_path: Path) -> None:
    d = many(tmp_path)
    batches, error = collect_until_error(open_source(d, 100))  # the reader's default: fail fast
    assert isinstance(error, InputError) and error.source == str(d / "d-broken.ttl")
    assert "line 4, column 11" in str(error)
    assert sum(b.num_rows for b in batches) == 9  # a.ttl, c.owl and the two good triples


def test_a_named_list_with_a_file_of_no_known_format(tmp_path: Path) -> None:
    d = many(tmp_path)
    files = [d / "a.ttl", d / "plugin.c"]
    with pytest.raises(InputError, match="cannot tell the format") as info:
        open_source(files, 10)
    assert info.value.source == str(d / "plugin.c")
    source = open_source(files, 10, fail_fast=False)
    assert isinstance(source, FilesSource)
    assert pa.Table.from_batches(list(source.open())).num_rows == 5
    assert [(f.status, f.rows) for f in source.files] == [("read", 5), ("failed", 0)]


def test_the_report_accounts_for_each_file() -> None:
    report = LoadReport("triples", "http://gw", "default", "default", "doc", rows_read=8, rows_delivered=8)
    report.files = [
        FileReport("d/a.ttl", "read", "ttl", 6),
        FileReport("d/b.ttl", "failed", "ttl", 1, error="RDF syntax error at line 4, column 11: oops"),
        FileReport("d/x.c", "skipped", reason="not a data file (no suffix of a known format)"),
    ]
    assert not report.ok
    assert report.problems() == ["file d/b.ttl failed: RDF syntax error at line 4, column 11: oops"]
    text = str(report)
    assert "  files: 1 read, 1 failed, 1 skipped\n" in text
    assert "    failed   d/b.ttl: 1 row; RDF syntax error at line 4, column 11: oops" in text
    assert "    skipped  d/x.c: not a data file (no suffix of a known format)" in text
    summary = report.summary()
    assert summary["files"][2] == {
        "path": "d/x.c",
        "status": "skipped",
        "format": None,
        "rows": 0,
        "rejected": 0,
        "error": None,
        "reason": "not a data file (no suffix of a known format)",
    }
    assert '"status": "failed"' in report.to_json() and "d/b.ttl" in report._repr_html_()


# -- unlabelled blank nodes -------------------------------------------------------------------


def test_unlabelled_blank_nodes_get_the_same_ids_on_every_read(tmp_path: Path) -> None:
    text = "@prefix ex: <http://ex/> .\nex:a ex:p [ ex:q 1 ], [ ex:q 2 ] ; ex:r _:mine .\n_:mine ex:q 3 .\n"
    (tmp_path / "one.ttl").write_text(text)
    (tmp_path / "two.ttl").write_text(text)
    first, again = read_path(tmp_path / "one.ttl").to_pylist(), read_path(tmp_path / "one.ttl").to_pylist()
    assert first == again  # pyoxigraph's own ids for [] are random on every parse
    blanks = [r["o"] for r in first if r["p"] == "http://ex/p"]
    assert len(set(blanks)) == 2 and all(b.startswith("g") and b[:-1].endswith("n") for b in blanks)
    assert {r["s"] for r in first if r["o"] in ("1", "2")} == set(blanks)  # each node keeps its one id
    assert "mine" in {r["o"] for r in first}  # the file's own labels are kept
    other = read_path(tmp_path / "two.ttl").to_pylist()
    assert not set(blanks) & {r["o"] for r in other}  # another file's [] are other nodes
