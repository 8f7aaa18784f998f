"""Single-term encoding: lossless round trips for every term kind."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from tg_connect.protocol.terms import (
    RDF_LANG_STRING,
    XSD_STRING,
    Term,
    guess_kind,
    normalise_literal,
    term_from_wire,
    term_to_wire,
)

from .strategies import wire_terms


def canonical(wire: dict) -> dict:
    """What a wire term must come back as: implicit datatypes dropped, recursively."""
    if wire["t"] == "l":
        out = {"t": "l", "v": wire["v"]}
        dt, ln = normalise_literal(wire.get("dt"), wire.get("ln"))
        if dt:
            out["dt"] = dt
        if ln:
            out["ln"] = ln
        return out
    if wire["t"] == "t":
        return {"t": "t", "tr": {k: canonical(v) for k, v in wire["tr"].items()}}
    return wire


@given(wire_terms(3))
def test_wire_flat_wire_round_trip(wire: dict) -> None:
    flat = term_from_wire(wire)
    assert term_to_wire(*flat) == canonical(wire)
    # and flat -> wire -> flat is the identity on flat values
    assert term_from_wire(term_to_wire(*flat)) == flat


@given(wire_terms(3))
def test_wire_json_text_round_trip(wire: dict) -> None:
    text = json.dumps(term_to_wire(*term_from_wire(wire)), ensure_ascii=False)
    assert term_from_wire(json.loads(text)) == term_from_wire(wire)


def test_implicit_datatypes_are_normalised() -> None:
    assert term_from_wire({"t": "l", "v": "x", "dt": XSD_STRING}) == ("literal", "x", None, None)
    assert term_from_wire({"t": "l", "v": "x", "dt": RDF_LANG_STRING, "ln": "en"}) == ("literal", "x", None, "en")
    assert Term.literal("x", XSD_STRING) == Term("x", "literal")


def test_quoted_triple_value_is_canonical_json() -> None:
    wire = {
        "t": "t",
        "tr": {
            "s": {"t": "i", "i": "urn:a"},
            "p": {"t": "i", "i": "urn:b"},
            "o": {"t": "l", "v": "c", "dt": XSD_STRING},
        },
    }
    kind, value, _, _ = term_from_wire(wire)
    assert kind == "triple"
    assert json.loads(value) == {
        "s": {"t": "i", "i": "urn:a"},
        "p": {"t": "i", "i": "urn:b"},
        "o": {"t": "l", "v": "c"},
    }


@pytest.mark.parametrize("bad", [{"t": "x"}, {"t": "i"}, {"t": "l", "v": 3}, {"t": "t"}, "urn:a", None])
def test_malformed_terms_are_rejected(bad: object) -> None:
    with pytest.raises(ValueError):
        term_from_wire(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("http://x/a", ("iri", "http://x/a")),
        ("<relative>", ("iri", "relative")),
        ("_:b0", ("blank", "b0")),
        ("_:", ("literal", "_:")),
        ("hello world", ("literal", "hello world")),
        ("12:30", ("literal", "12:30")),
        ("", ("literal", "")),
        ("urn:isbn:1", ("iri", "urn:isbn:1")),
    ],
)
def test_guess_kind(text: str, expected: tuple[str, str]) -> None:
    assert guess_kind(text) == expected
