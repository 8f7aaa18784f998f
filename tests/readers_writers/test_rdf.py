"""The RDF reader's term conventions, and RDF round trips of arbitrary terms."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tg_connect.errors import InputError
from tg_connect.protocol import schemas
from tg_connect.protocol.terms import quoted_triple_text
from tg_connect.readers import open_source
from tg_connect.writers import write

from ..conftest import HYPOTHESIS_SUPPRESSED
from .helpers import read_path, row_set

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def one(path: Path, text: str, **kw: object) -> list[dict[str, object]]:
    path.write_text(text, encoding="utf-8")
    return read_path(path, **kw).to_pylist()  # type: ignore[arg-type]


def test_literals_are_normalised(tmp_path: Path) -> None:
    rows = one(
        tmp_path / "l.nt",
        "\n".join(
            [
                f'<http://a> <http://p> "s"^^<{XSD}string> .',
                '<http://a> <http://p> "x"@en-US .',
                f'<http://a> <http://p> "042"^^<{XSD}integer> .',
                '<http://a> <http://p> "tab\\there \\"q\\" \\u00e9 \\U0001F600" .',
            ]
        )
        + "\n",
    )
    assert [(r["o"], r["o_type"], r["o_datatype"], r["o_language"]) for r in rows] == [
        ("s", "literal", None, None),  # xsd:string is implicit
        ("x", "literal", None, "en-us"),  # pyoxigraph lower-cases language tags
        ("042", "literal", XSD + "integer", None),  # lexical form kept as written
        ('tab\there "q" é 😀', "literal", None, None),
    ]


def test_blank_nodes_keep_their_labels(tmp_path: Path) -> None:
    rows = one(tmp_path / "b.ttl", "_:alice <http://p> _:bob .\n<http://a> <http://p> [ <http://q> 1 ] .\n")
    assert (rows[0]["s"], rows[0]["s_type"], rows[0]["o"], rows[0]["o_type"]) == ("alice", "blank", "bob", "blank")
    anonymous = [r for r in rows if r["p"] == "http://q"][0]
    assert anonymous["s_type"] == "blank" and anonymous["s"]  # a generated id
    assert any(r["o"] == anonymous["s"] for r in rows if r["p"] == "http://p" and r["s"] == "http://a")


def test_triple_terms_are_canonical_quoted_triple_text(tmp_path: Path) -> None:
    rows = one(
        tmp_path / "q.nt",
        '<http://c> <http://about> <<( _:x <http://says> <<( <http://a> <http://p> "v"@en )>> )>> .\n',
    )
    inner = {"s": {"t": "i", "i": "http://a"}, "p": {"t": "i", "i": "http://p"}, "o": {"t": "l", "v": "v", "ln": "en"}}
    expected = quoted_triple_text(
        {"s": {"t": "b", "d": "x"}, "p": {"t": "i", "i": "http://says"}, "o": {"t": "t", "tr": inner}}
    )
    assert (rows[0]["o"], rows[0]["o_type"]) == (expected, "triple")


def test_turtle_reification_is_a_reifier_with_a_triple_term(tmp_path: Path) -> None:
    rows = one(tmp_path / "r.ttl", "@prefix ex: <http://ex/> .\n<< ex:a ex:p ex:b >> ex:source ex:doc .\n")
    reifies = [r for r in rows if r["p"] == RDF + "reifies"][0]
    assert reifies["s_type"] == "blank" and reifies["o_type"] == "triple"
    assert [r for r in rows if r["p"] == "http://ex/source"][0]["s"] == reifies["s"]


def test_base_iri_resolves_relative_iris(tmp_path: Path) -> None:
    rows = one(tmp_path / "rel.ttl", "<a> <p> <b> .\n", base_iri="http://base/")
    assert (rows[0]["s"], rows[0]["p"], rows[0]["o"]) == ("http://base/a", "http://base/p", "http://base/b")


def test_graphs_in_quads_and_the_default_graph(tmp_path: Path) -> None:
    rows = one(tmp_path / "g.trig", "<http://a> <http://p> 1 .\n<http://g> { <http://a> <http://p> 2 . }\n")
    assert [(r["o"], r["g"]) for r in rows] == [("1", None), ("2", "http://g")]


def test_a_blank_graph_name_is_an_error_after_the_rows_before_it(tmp_path: Path) -> None:
    path = tmp_path / "bg.trig"
    path.write_text("<http://a> <http://p> 1 .\n_:g { <http://a> <http://p> 2 . }\n")
    got = []
    with pytest.raises(InputError) as info:
        for batch in open_source(path, 10).open():
            got.extend(batch.to_pylist())
    assert [r["o"] for r in got] == ["1"]
    assert info.value.column == "g" and info.value.row == 1 and info.value.source == str(path)


def test_an_empty_graph_file_yields_no_rows(tmp_path: Path) -> None:
    (tmp_path / "e.ttl").write_text("# nothing here\n@prefix ex: <http://ex/> .\n")
    table = read_path(tmp_path / "e.ttl")
    assert table.num_rows == 0 and table.schema.equals(schemas.TRIPLES)


# -- round trips of arbitrary terms --------------------------------------------------------

iris = st.builds(
    lambda a, b, q, f: f"http://example.org/{a}/{''.join(b)}{q}{f}",
    st.text("abcXYZ019-._~é", max_size=8),
    st.lists(st.sampled_from(["a", "%20", "ü", "/"]), max_size=4),
    st.sampled_from(["", "?q=1", "?a=b&c=%C3%A9"]),
    st.sampled_from(["", "#x", "#"]),
)
blank_ids = st.text("abcdefXYZ0123456789", min_size=1, max_size=8).map(lambda t: "b" + t)
any_text = st.text(st.characters(codec="utf-8"), max_size=20)
languages = st.sampled_from(["en", "en-gb", "fr", "zh-hant-tw"])
datatypes = st.sampled_from([XSD + "integer", XSD + "date", "urn:dt:custom", "http://example.org/dt#x"])


def wire_term(depth: int) -> st.SearchStrategy[dict]:
    base = st.one_of(
        st.builds(lambda i: {"t": "i", "i": i}, iris),
        st.builds(lambda d: {"t": "b", "d": d}, blank_ids),
        st.builds(lambda v: {"t": "l", "v": v}, any_text),
        st.builds(lambda v, d: {"t": "l", "v": v, "dt": d}, any_text, datatypes),
        st.builds(lambda v, ln: {"t": "l", "v": v, "ln": ln}, any_text, languages),
    )
    if depth == 0:
        return base
    subject = st.one_of(
        st.builds(lambda i: {"t": "i", "i": i}, iris), st.builds(lambda d: {"t": "b", "d": d}, blank_ids)
    )
    return st.one_of(
        base,
        st.builds(
            lambda s, p, o: {"t": "t", "tr": {"s": s, "p": {"t": "i", "i": p}, "o": o}},
            subject,
            iris,
            wire_term(depth - 1),
        ),
    )


def flat(term: dict) -> tuple[str, str, str | None, str | None]:
    if term["t"] == "i":
        return term["i"], "iri", None, None
    if term["t"] == "b":
        return term["d"], "blank", None, None
    if term["t"] == "l":
        return term["v"], "literal", term.get("dt"), term.get("ln")
    return quoted_triple_text(term["tr"]), "triple", None, None


rows_strategy = st.lists(
    st.tuples(
        st.one_of(st.builds(lambda i: {"t": "i", "i": i}, iris), st.builds(lambda d: {"t": "b", "d": d}, blank_ids)),
        iris,
        wire_term(2),
        st.one_of(st.none(), iris),
    ),
    min_size=1,
    max_size=25,
)


def as_table(rows: list[tuple[dict, str, dict, str | None]], graphs: bool) -> pa.Table:
    out = []
    for s, p, o, g in rows:
        sv, sk, _, _ = flat(s)
        ov, ok, odt, oln = flat(o)
        out.append(
            {
                "s": sv,
                "s_type": sk,
                "p": p,
                "p_type": "iri",
                "o": ov,
                "o_type": ok,
                "o_datatype": odt,
                "o_language": oln,
                "g": g if graphs else None,
            }
        )
    return pa.Table.from_pylist(out, schema=schemas.TRIPLES)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[*HYPOTHESIS_SUPPRESSED, HealthCheck.function_scoped_fixture]
)
@given(rows=rows_strategy, suffix=st.sampled_from(["nq", "trig", "nt", "ttl"]))
def test_rdf_round_trips_arbitrary_terms(tmp_path: Path, rows: list, suffix: str) -> None:
    table = as_table(rows, graphs=suffix in ("nq", "trig"))
    path = tmp_path / f"h.{suffix}"
    write(table.to_reader(), path)
    back = read_path(path, batch_size=7)
    assert row_set(back) == row_set(table)
