"""Conforming user tables to the canonical schemas: guessing, overrides, errors, rejections."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tg_connect.errors import InputError
from tg_connect.protocol import messages, schemas
from tg_connect.protocol.conform import Conformer

from .strategies import wire_triples


def conform(kind: str, data: dict, **kw: object):  # type: ignore[no-untyped-def]
    return Conformer(kind, **kw).conform(pa.record_batch(data))  # type: ignore[arg-type]


def test_plain_spo_strings_are_guessed() -> None:
    out = conform(
        "triples", {"s": ["http://a/1", "_:x", "<rel>"], "p": ["http://p"] * 3, "o": ["http://o", "plain text", "_:y"]}
    ).batch
    assert out.schema.equals(schemas.TRIPLES)
    rows = out.to_pylist()
    assert [(r["s"], r["s_type"]) for r in rows] == [("http://a/1", "iri"), ("x", "blank"), ("rel", "iri")]
    assert [(r["o"], r["o_type"]) for r in rows] == [("http://o", "iri"), ("plain text", "literal"), ("y", "blank")]


def test_explicit_kinds_override_the_guess() -> None:
    rows = conform(
        "triples", {"s": ["http://a"], "p": ["http://p"], "o": ["http://looks-like-iri"], "o_type": ["literal"]}
    ).batch.to_pylist()
    assert rows[0]["o_type"] == "literal" and rows[0]["o"] == "http://looks-like-iri"


def test_a_datatype_or_language_makes_a_literal() -> None:
    rows = conform(
        "triples",
        {
            "s": ["http://a"] * 3,
            "p": ["http://p"] * 3,
            "o": ["http://x", "1", "b"],
            "o_datatype": ["http://www.w3.org/2001/XMLSchema#anyURI", "http://www.w3.org/2001/XMLSchema#string", None],
            "o_language": [None, None, "en"],
        },
    ).batch.to_pylist()
    assert [(r["o_type"], r["o_datatype"], r["o_language"]) for r in rows] == [
        ("literal", "http://www.w3.org/2001/XMLSchema#anyURI", None),
        ("literal", None, None),
        ("literal", None, "en"),
    ]


def test_missing_column_is_named() -> None:
    with pytest.raises(InputError) as err:
        Conformer("triples", source="f.parquet").conform(pa.record_batch({"p": ["a"], "o": ["b"]}))
    assert err.value.column == "s" and "f.parquet" in str(err.value) and "'s'" in str(err.value)


def test_wrong_type_and_unknown_columns_are_named() -> None:
    with pytest.raises(InputError, match="column 'o'"):
        conform("triples", {"s": ["http://a"], "p": ["http://p"], "o": [1]})
    with pytest.raises(InputError, match="column 'extra'"):
        conform("triples", {"s": ["http://a"], "p": ["http://p"], "o": ["x"], "extra": ["y"]})


def test_column_mapping() -> None:
    out = conform(
        "triples",
        {"subject": ["http://a"], "predicate": ["http://p"], "object": ["v"]},
        columns={"subject": "s", "predicate": "p", "object": "o"},
    ).batch
    assert out.column("s").to_pylist() == ["http://a"]


def test_one_schema_per_job() -> None:
    c = Conformer("triples")
    c.conform(pa.record_batch({"s": ["http://a"], "p": ["http://p"], "o": ["v"]}))
    with pytest.raises(InputError, match="column 'g'"):
        c.conform(pa.record_batch({"s": ["http://a"], "p": ["http://p"], "o": ["v"], "g": ["http://g"]}), 1)


def test_bad_rows_raise_with_row_and_column() -> None:
    out = Conformer("triples").conform(
        pa.record_batch({"s": ["http://a", None], "p": ["http://p"] * 2, "o": ["v", "w"]}), 100
    )
    assert out.batch.column("s").to_pylist() == ["http://a"]  # the good rows before the bad one
    with pytest.raises(InputError) as err:
        out.raise_error()
    assert (err.value.row, err.value.column) == (101, "s")


def test_skip_rejects_bad_rows_and_keeps_the_rest() -> None:
    data = {
        "s": ["http://a", None, "http://c", "http://d"],
        "p": ["http://p", "http://p", "bad iri", "http://p"],
        "o": ["1", "2", "3", "4"],
        "o_type": ["literal", "literal", "literal", "weird"],
    }
    out = Conformer("triples", on_error="skip").conform(pa.record_batch(data), 10)
    assert out.batch.column("o").to_pylist() == ["1"]
    assert [(r.row, r.column) for r in out.rejections] == [(11, "s"), (12, "p"), (13, "o_type")]
    assert out.rejected_rows is not None and out.rejected_rows.column("o").to_pylist() == ["2", "3", "4"]
    assert out.row_index.to_pylist() == [10]


def test_vectors_validated_and_fixed() -> None:
    out = Conformer("graph-embeddings", on_error="skip").conform(
        pa.record_batch(
            {
                "entity": ["http://e/1", "http://e/2", "http://e/3", "http://e/4"],
                "vector": [[1.0, 2.0], [float("nan"), 1.0], [1.0], None],
            }
        )
    )
    assert out.batch.schema.field("vector").type == schemas.vector_type(2)
    assert out.batch.column("vector").to_pylist() == [[1.0, 2.0]]
    assert [r.row for r in out.rejections] == [1, 2, 3]


def test_vector_column_of_wrong_type() -> None:
    with pytest.raises(InputError, match="column 'vector'"):
        conform("graph-embeddings", {"entity": ["http://e"], "vector": ["not a vector"]}).raise_error()


def test_quoted_triple_values_are_checked() -> None:
    with pytest.raises(InputError, match="quoted triple"):
        conform("triples", {"s": ["not json"], "s_type": ["triple"], "p": ["http://p"], "o": ["x"]}).raise_error()


def test_unknown_kind_name() -> None:
    with pytest.raises(ValueError, match="unknown data kind"):
        Conformer("nodes")
    assert Conformer("graph_embeddings").kind == "graph-embeddings"


def test_null_vector_items_are_rejected() -> None:
    # pandas turns NaN inside lists into nulls on the way to Arrow
    out = Conformer("graph-embeddings", on_error="skip").conform(
        pa.record_batch({"entity": ["http://e/1", "http://e/2"], "vector": pa.array([[1.0, None], [1.0, 2.0]])})
    )
    assert [r.row for r in out.rejections] == [0]
    assert out.batch.column("entity").to_pylist() == ["http://e/2"]


_SYNONYMS = {
    "iri": ["iri", "IRI", "uri", "i"],
    "blank": ["blank", "bnode", "b"],
    "literal": ["literal", "l"],
    "triple": ["triple", "t"],
}


@settings(max_examples=120)
@given(st.lists(wire_triples(), min_size=1, max_size=10), st.data(), st.sampled_from(["raise", "skip"]))
def test_encoding_with_conform_hints_equals_encoding_without(
    triples: list[dict], data: st.DataObject, on_error: str
) -> None:
    """Conforming hands the encoder what it learned (kind codes, columns needing no escaping);
    the frames must be byte-identical to encoding the same canonical batch from scratch,
    whatever names the kinds were given by, and with rejected rows taken out."""
    canonical = messages.triples_from_wire(triples)
    table = canonical.to_pydict()
    for col in ("s_type", "p_type", "o_type"):  # the user's own names for the kinds
        table[col] = [data.draw(st.sampled_from(_SYNONYMS[k])) for k in table[col]]
    if data.draw(st.booleans()):  # a row the conformer must set aside
        table["s"][data.draw(st.integers(0, len(triples) - 1))] = None
    conformed = Conformer("triples", on_error=on_error).conform(pa.RecordBatch.from_pydict(table))  # type: ignore[arg-type]
    good = conformed.batch
    assert good.num_rows == len(conformed.hints.kinds["o_type"])
    meta = messages.Metadata("d", "c")
    with_hints = [(bytes(f), a, b) for f, a, b in messages.encode_messages("triples", good, meta, 3, conformed.hints)]
    without = [(bytes(f), a, b) for f, a, b in messages.encode_messages("triples", good, meta, 3)]
    assert with_hints == without
    for frame, _, _ in with_hints:
        json.loads(frame)


def test_kind_columns_of_one_value_and_synonyms_are_canonical() -> None:
    out = conform(
        "triples",
        {
            "s": ["http://a", "http://b"],
            "s_type": ["URI", "uri"],
            "p": ["http://p"] * 2,
            "p_type": ["iri", "iri"],
            "o": ["x", "http://o"],
            "o_type": ["l", "i"],
        },
    )
    assert out.batch.column("s_type").to_pylist() == ["iri", "iri"]
    assert out.batch.column("o_type").to_pylist() == ["literal", "iri"]
    assert out.hints.kinds["s_type"].dictionary.to_pylist() == ["iri"]
    assert sorted(out.hints.kinds["o_type"].dictionary.to_pylist()) == ["iri", "literal"]


def test_dictionary_kind_columns_are_read_through_their_dictionary() -> None:
    """Kind columns read from Parquet as dictionaries: canonical names come out, synonyms
    and names the rows never use in the dictionary included, and the encoder's frames match
    those of the same rows given as plain strings."""
    kinds = pa.DictionaryArray.from_arrays(pa.array([0, 2, 0], pa.int32()), pa.array(["uri", "bogus", "literal"]))
    data = {"s": ["http://a", "http://b", "http://c"], "p": ["http://p"] * 3, "o": ["http://o", "text", "http://x"]}
    as_dict = conform("triples", {**data, "o_type": kinds})
    as_text = conform("triples", {**data, "o_type": kinds.dictionary_decode()})
    assert as_dict.batch.equals(as_text.batch)
    assert as_dict.batch.column("o_type").to_pylist() == ["iri", "literal", "iri"]
    meta = messages.Metadata("d", "c")
    frames = [
        [bytes(f) for f, _, _ in messages.encode_messages("triples", c.batch, meta, 2, c.hints)]
        for c in (as_dict, as_text)
    ]
    assert frames[0] == frames[1]
    bad = conform(
        "triples",
        {**data, "o_type": pa.DictionaryArray.from_arrays(pa.array([0, 1, 0], pa.int32()), pa.array(["iri", "bogus"]))},
        on_error="skip",
    )
    assert [(r.row, r.column) for r in bad.rejections] == [(1, "o_type")]


def test_dictionary_values_are_screened_through_their_dictionary() -> None:
    """A dictionary column is screened on its distinct values; a bad one in the dictionary
    that no row uses rejects nothing, a bad one a row uses rejects that row."""
    p = pa.DictionaryArray.from_arrays(
        pa.array([0, 0, 1], pa.int32()), pa.array(["http://p", "http://bad p", "http://x y"])
    )
    data = {
        "s": ["http://a"] * 3,
        "s_type": ["iri"] * 3,
        "p": p,
        "p_type": ["iri"] * 3,
        "o": ["v"] * 3,
        "o_type": ["literal"] * 3,
    }
    out = conform("triples", data, on_error="skip")
    assert [(r.row, r.column) for r in out.rejections] == [(2, "p")]
    clean = conform(
        "triples",
        {
            **data,
            "p": pa.DictionaryArray.from_arrays(pa.array([0, 0, 0], pa.int32()), pa.array(["http://p", "http://x y"])),
        },
    )
    assert clean.rejections == [] and clean.batch.column("p").to_pylist() == ["http://p"] * 3
    assert "p" not in clean.hints.plain  # the dictionary holds a value that needs a closer look
