"""A directory as it comes, loaded into the local gateway (issue 10): Turtle with relative IRIs,
RDF/XML, a broken Turtle file, a ``.c`` file and a README. The good files load, the broken
one is named with its line, the others are skipped and listed, and the report is not ok."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

import tg_connect
from tg_connect.cli import main

RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
TURTLE_A = """@prefix lv2: <http://lv2plug.in/ns/lv2core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix local: <ns/> .

<http://lv2plug.in/ns/ext/atom>
\ta lv2:Specification ;
\tlv2:implementation <atom.h> ;
\trdfs:seeAlso <atom.meta.ttl> ;
\tlocal:label "Atom"@en .
"""
TURTLE_B = """@prefix ex: <http://example.org/> .
<plugin#main> ex:port [ ex:index 0 ; ex:symbol "in" ] ;
\tex:doc <../README> .
"""
RDF_XML = f"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:ex="http://example.org/">
  <rdf:Description rdf:about="onto#Thing">
    <ex:name xml:lang="en">Thing</ex:name>
    <ex:size rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">42</ex:size>
  </rdf:Description>
</rdf:RDF>
"""
BROKEN = """@prefix ex: <http://example.org/> .
ex:a ex:p ex:b .
ex:c ex:p ex:d .
ex:e ex:p ,, .
ex:f ex:p ex:g .
"""
FIXED = BROKEN.replace("ex:e ex:p ,, .", "ex:e ex:p ex:h .")


def directory(tmp_path: Path) -> Path:
    d = tmp_path / "schemas"
    (d / "atom.lv2").mkdir(parents=True)
    (d / "atom.lv2" / "atom.ttl").write_text(TURTLE_A)
    (d / "atom.lv2" / "atom.c").write_text("#include <lv2/atom/atom.h>\nint main(void) { return 0; }\n")
    (d / "plugin.ttl").write_text(TURTLE_B)
    (d / "onto.rdf").write_text(RDF_XML)
    (d / "broken.ttl").write_text(BROKEN)
    (d / "README").write_text("LV2 schemas, as a package ships them.\n")
    return d


def expected(path: Path, fmt: ox.RdfFormat, upto: int | None = None) -> set[tuple[str, str, str]]:
    """What pyoxigraph itself reads from ``path`` with the file's URI as base (blank nodes
    as ``_``: their ids are the parser's): the independent oracle for what was stored."""
    out = set()
    for i, quad in enumerate(ox.parse(path=str(path), format=fmt, base_iri=path.resolve().as_uri())):
        if upto is not None and i >= upto:
            break
        s, o = quad.subject, quad.object
        out.add(
            (
                "_" if isinstance(s, ox.BlankNode) else s.value,
                quad.predicate.value,
                "_" if isinstance(o, ox.BlankNode) else o.value,
            )
        )
    return out


def stored(url: str, collection: str) -> set[tuple[str, str, str]]:
    df = tg_connect.read_trustgraph("triples", url, collection=collection)
    return {
        ("_" if st == "blank" else s, p, "_" if ot == "blank" else o)
        for s, st, p, o, ot in zip(df["s"], df["s_type"], df["p"], df["o"], df["o_type"], strict=True)
    }


def good_triples(d: Path) -> set[tuple[str, str, str]]:
    return (
        expected(d / "atom.lv2" / "atom.ttl", ox.RdfFormat.TURTLE)
        | expected(d / "plugin.ttl", ox.RdfFormat.TURTLE)
        | expected(d / "onto.rdf", ox.RdfFormat.RDF_XML)
    )


def test_a_directory_as_it_comes(local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str) -> None:
    d = directory(tmp_path)
    collection = f"many{run_id}"
    report = tg_connect.to_trustgraph(d, url=local_gateway.url, collection=collection, progress=False)

    files = {str(Path(f.path).relative_to(d)): f for f in report.files}
    assert {name: (f.status, f.format, f.rows) for name, f in files.items()} == {
        "README": ("skipped", None, 0),
        "broken.ttl": ("failed", "ttl", 2),
        "onto.rdf": ("read", "rdfxml", 2),
        "plugin.ttl": ("read", "ttl", 4),
        "atom.lv2/atom.c": ("skipped", None, 0),
        "atom.lv2/atom.ttl": ("read", "ttl", 4),
    }
    assert files["broken.ttl"].error == "RDF syntax error at line 4, column 11: , is not a valid RDF object"
    assert files["README"].reason == files["atom.lv2/atom.c"].reason == "not a data file (no suffix of a known format)"
    assert not report.ok
    assert report.problems() == [f"file {d / 'broken.ttl'} failed: {files['broken.ttl'].error}"]
    assert report.rows_read == report.rows_delivered == 12

    # What was stored: the good files exactly, and the broken file's triples before its error.
    want = good_triples(d) | {("http://example.org/a", "http://example.org/p", "http://example.org/b")}
    want |= {("http://example.org/c", "http://example.org/p", "http://example.org/d")}
    assert stored(local_gateway.url, collection) == want
    atom = d.resolve().as_uri() + "/atom.lv2/"
    assert ("http://lv2plug.in/ns/ext/atom", "http://lv2plug.in/ns/lv2core#implementation", atom + "atom.h") in want


def test_the_cli_reports_each_file_and_exits_2(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    d = directory(tmp_path)
    args = ["load", "triples", str(d), "--url", local_gateway.url, "--collection", f"cli{run_id}", "--no-progress"]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert "  files: 3 read, 1 failed, 2 skipped\n" in out
    assert f"    failed   {d / 'broken.ttl'}: 2 rows; RDF syntax error at line 4, column 11" in out
    assert f"    skipped  {d / 'README'}: not a data file (no suffix of a known format)" in out
    assert f"    read     {d / 'onto.rdf'}: 2 rows" in out
    assert err.strip().splitlines() == [
        f"tg-connect: load not complete: file {d / 'broken.ttl'} failed: RDF syntax error at line 4, column 11:"
        " , is not a valid RDF object"
    ]

    # --base-iri: relative IRIs resolve against it instead of each file's URI.
    (d / "broken.ttl").unlink()
    assert main([*args[:-3], "--collection", f"base{run_id}", "--no-progress", "--base-iri", "http://base/x/"]) == 0
    capsys.readouterr()
    got = stored(local_gateway.url, f"base{run_id}")
    assert (
        "http://lv2plug.in/ns/ext/atom",
        "http://lv2plug.in/ns/lv2core#implementation",
        "http://base/x/atom.h",
    ) in got
    assert ("http://base/x/onto#Thing", "http://example.org/name", "Thing") in got


def test_fail_fast_stops_at_the_broken_file(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    d = directory(tmp_path)
    with pytest.raises(tg_connect.InputError) as info:
        tg_connect.to_trustgraph(d, url=local_gateway.url, collection=f"ff{run_id}", progress=False, fail_fast=True)
    error = info.value
    assert error.source == str(d / "broken.ttl")
    assert (
        str(error) == f"RDF syntax error at line 4, column 11: , is not a valid RDF object (source {d / 'broken.ttl'})"
    )
    report = error.report  # type: ignore[attr-defined]
    # Sorted walk: README, broken.ttl, onto.rdf, plugin.ttl, atom.lv2/...: only the broken file's first two rows went.
    assert report.rows_delivered == 2
    assert [(Path(f.path).name, f.status) for f in report.files] == [
        ("README", "skipped"),
        ("broken.ttl", "failed"),
        ("onto.rdf", "not read"),
        ("plugin.ttl", "not read"),
        ("atom.c", "skipped"),
        ("atom.ttl", "not read"),
    ]
    args = ["load", "triples", str(d), "--url", local_gateway.url, "--collection", f"ff{run_id}", "--no-progress"]
    assert main([*args, "--fail-fast"]) == 1
    _, err = capsys.readouterr()
    assert err.splitlines()[0].startswith(f"tg-connect: error: {error} (2 rows delivered before it;")


def test_a_rerun_with_a_checkpoint_sends_only_the_fixed_file(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str
) -> None:
    d = directory(tmp_path)
    collection, checkpoint = f"ck{run_id}", tmp_path / "load.ckpt"
    first = tg_connect.to_trustgraph(
        d, url=local_gateway.url, collection=collection, progress=False, checkpoint=checkpoint
    )
    assert not first.ok and first.rows_delivered == 12

    # Rerun unchanged: every message was delivered, nothing is sent, the broken file fails again.
    again = tg_connect.to_trustgraph(
        d, url=local_gateway.url, collection=collection, progress=False, checkpoint=checkpoint
    )
    assert (again.rows_sent, again.rows_skipped, again.document_id) == (0, 12, first.document_id)
    assert [f.path for f in again.files if f.status == "failed"] == [str(d / "broken.ttl")]

    # Fixed: the other files' messages are their own, so they are skipped; the fixed file's
    # one message differs from the two rows it had before, and is sent whole.
    (d / "broken.ttl").write_text(FIXED)
    fixed = tg_connect.to_trustgraph(
        d, url=local_gateway.url, collection=collection, progress=False, checkpoint=checkpoint
    )
    assert fixed.ok and (fixed.rows_sent, fixed.rows_skipped) == (4, 10)
    assert stored(local_gateway.url, collection) == good_triples(d) | expected(d / "broken.ttl", ox.RdfFormat.TURTLE)
