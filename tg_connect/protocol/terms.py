"""RDF terms: the gateway's compact JSON encoding and tg_connect's flat column form.

On the wire (docs/protocol.md section 10) a term is ``{"t":"i","i":iri}``, ``{"t":"b","d":id}``,
``{"t":"l","v":text,"dt"?:iri,"ln"?:lang}`` or ``{"t":"t","tr":{"s","p","o"}}``. In Arrow
tables a term is flattened into a value string plus a kind (``iri``, ``blank``, ``literal``,
``triple``) and, for literals, a datatype and a language.

Normalisation (RDF 1.1 semantics, and what stores send back): a literal whose datatype is
``xsd:string`` is a plain literal, so its datatype is ``None``; a language-tagged literal's
datatype is ``rdf:langString`` and is likewise ``None``. A quoted triple's value is its inner
triple as canonical compact JSON (sorted keys, no spaces), which is exact for any nesting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

TermKind = Literal["iri", "blank", "literal", "triple"]

IRI: TermKind = "iri"
BLANK: TermKind = "blank"
LITERAL: TermKind = "literal"
TRIPLE: TermKind = "triple"
TERM_KINDS: tuple[TermKind, ...] = (IRI, BLANK, LITERAL, TRIPLE)

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

_WIRE_CODE = {IRI: "i", BLANK: "b", LITERAL: "l", TRIPLE: "t"}
_KIND_OF_CODE = {code: kind for kind, code in _WIRE_CODE.items()}


@dataclass(frozen=True)
class Term:
    """One RDF term in flat form. ``datatype``/``language`` apply to literals only."""

    value: str
    kind: TermKind = IRI
    datatype: str | None = None
    language: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _WIRE_CODE:
            raise ValueError(f"unknown term kind {self.kind!r}; expected one of {TERM_KINDS}")
        if self.kind != LITERAL and (self.datatype or self.language):
            raise ValueError("only literals carry a datatype or a language")

    @classmethod
    def iri(cls, value: str) -> Term:
        return cls(value, IRI)

    @classmethod
    def blank(cls, value: str) -> Term:
        return cls(value, BLANK)

    @classmethod
    def literal(cls, value: str, datatype: str | None = None, language: str | None = None) -> Term:
        return cls(value, LITERAL, *normalise_literal(datatype, language))

    def to_wire(self) -> dict[str, Any]:
        """This term in the gateway's compact JSON form."""
        return term_to_wire(self.kind, self.value, self.datatype, self.language)

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Term:
        """Decode a compact JSON term; raises ``ValueError`` naming what is wrong."""
        kind, value, datatype, language = term_from_wire(wire)
        return cls(value, kind, datatype, language)


@dataclass(frozen=True)
class Triple:
    """One triple (a quad when ``g`` names a graph; ``None`` is the default graph)."""

    s: Term
    p: Term
    o: Term
    g: str | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"s": self.s.to_wire(), "p": self.p.to_wire(), "o": self.o.to_wire()}
        if self.g:
            wire["g"] = self.g
        return wire


def normalise_literal(datatype: str | None, language: str | None) -> tuple[str | None, str | None]:
    """(datatype, language) with the implicit datatypes dropped (see the module docstring)."""
    if language:
        return None, language
    if not datatype or datatype in (XSD_STRING, RDF_LANG_STRING):
        return None, None
    return datatype, None


def term_to_wire(kind: str, value: str, datatype: str | None = None, language: str | None = None) -> dict[str, Any]:
    """Flat term -> compact JSON dict."""
    if kind == IRI:
        return {"t": "i", "i": value}
    if kind == BLANK:
        return {"t": "b", "d": value}
    if kind == LITERAL:
        wire: dict[str, Any] = {"t": "l", "v": value}
        datatype, language = normalise_literal(datatype, language)
        if datatype:
            wire["dt"] = datatype
        if language:
            wire["ln"] = language
        return wire
    if kind == TRIPLE:
        return {"t": "t", "tr": parse_quoted_triple(value)}
    raise ValueError(f"unknown term kind {kind!r}; expected one of {TERM_KINDS}")


def term_from_wire(wire: Mapping[str, Any]) -> tuple[TermKind, str, str | None, str | None]:
    """Compact JSON dict -> (kind, value, datatype, language), normalised."""
    if not isinstance(wire, Mapping):
        raise ValueError(f"a term must be a JSON object, got {type(wire).__name__}")
    code = wire.get("t")
    kind = _KIND_OF_CODE.get(code) if isinstance(code, str) else None
    if kind is None:
        raise ValueError(f"unknown term type {code!r}")
    if kind == TRIPLE:
        inner = wire.get("tr")
        if not isinstance(inner, Mapping):
            raise ValueError("quoted triple term without a 'tr' object")
        return TRIPLE, quoted_triple_text(inner), None, None
    key = {IRI: "i", BLANK: "d", LITERAL: "v"}[kind]
    value = wire.get(key)
    if not isinstance(value, str):
        raise ValueError(f"term of type {code!r} needs a string {key!r}")
    if kind != LITERAL:
        return kind, value, None, None
    datatype, language = normalise_literal(wire.get("dt"), wire.get("ln"))
    return LITERAL, value, datatype, language


def quoted_triple_text(inner: Mapping[str, Any]) -> str:
    """Canonical text of a quoted triple: its compact JSON, each inner term normalised."""
    canonical = {pos: _canonical_term(inner.get(pos), pos) for pos in ("s", "p", "o")}
    return json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parse_quoted_triple(text: str) -> dict[str, Any]:
    """The inverse of :func:`quoted_triple_text`; raises ``ValueError`` on malformed text."""
    try:
        inner = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"quoted triple is not compact-JSON triple text: {exc}") from None
    if not isinstance(inner, dict):
        raise ValueError("quoted triple text must be a JSON object with s, p, o")
    return {pos: _canonical_term(inner.get(pos), pos) for pos in ("s", "p", "o")}


def _canonical_term(wire: Any, position: str) -> dict[str, Any]:
    if wire is None:
        raise ValueError(f"quoted triple lacks {position!r}")
    return term_to_wire(*term_from_wire(wire))


def guess_kind(value: str) -> tuple[TermKind, str]:
    """Kind and value of a bare string: ``<...>`` and absolute IRIs are IRIs, ``_:x`` blank nodes.

    This is the scalar rule; :mod:`tg_connect.protocol.columns` applies the same rule
    column-wise (and the unit tests hold the two to each other).
    """
    if len(value) >= 2 and value[0] == "<" and value[-1] == ">":
        return IRI, value[1:-1]
    if value.startswith("_:") and len(value) > 2:
        return BLANK, value[2:]
    if _ABSOLUTE_IRI.match(value):
        return IRI, value
    return LITERAL, value


def is_absolute_iri(value: str) -> bool:
    """Whether ``value`` is an absolute IRI: a scheme, a colon, and no character IRIs forbid."""
    return _ABSOLUTE_IRI.match(value) is not None


def iri_fault(value: str) -> str | None:
    """Why ``value`` cannot be an IRI at all (empty, a space, a character IRIs forbid), or ``None``."""
    if not value:
        return "it is empty"
    bad = _NOT_IN_IRI.search(value)
    if bad is None:
        return None
    char = bad.group()
    return "it contains a space" if char == " " else f"it contains {char!r}, which IRIs cannot hold"


# An absolute IRI: a scheme, a colon, and no whitespace or characters IRIs forbid.
ABSOLUTE_IRI_PATTERN = r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$"
_ABSOLUTE_IRI = re.compile(ABSOLUTE_IRI_PATTERN)
_NOT_IN_IRI = re.compile(r"[\x00-\x20<>\"{}|\\^`]")
