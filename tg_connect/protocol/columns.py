"""The column names and kind spellings a table may bring, and what they mean for a data kind.

Real tables are not written for this library: they name their columns ``subject`` or
``o_kind``, carry columns no kind uses (``source_file``, ``confidence``), and spell term kinds
as their own tools do (``uri`` and ``literal`` in SPARQL results, ``URIRef`` and ``BNode`` in
rdflib, ``NamedNode`` in pyoxigraph, ``i`` and ``l`` on the TrustGraph wire). This module says,
for one data kind, which columns a table has that the kind does not use and which of the
kind's columns each probably is (:func:`extra_columns_error`), and reads the common spellings
of a term kind (:func:`term_kind`). The :class:`~tg_connect.protocol.conform.Conformer`, the
one place that knows each kind's schema, applies both.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .. import wording
from ..errors import InputError
from .terms import BLANK, IRI, LITERAL, TRIPLE

ExtraColumns = Literal["error", "ignore"]
EXTRA_COLUMNS: tuple[str, ...] = ("error", "ignore")

# Each kind's spellings, as they are compared: lower case, without "-", "_" and spaces. The
# first is the canonical name; the rest are listed in errors in this order.
KIND_SPELLINGS: dict[str, tuple[str, ...]] = {
    IRI: ("iri", "uri", "url", "i", "u", "uriref", "namednode"),
    BLANK: ("blank", "bnode", "b", "blanknode"),
    LITERAL: ("literal", "lit", "l", "typedliteral", "plainliteral"),
    TRIPLE: ("triple", "t", "quoted", "quotedtriple", "tripleterm"),
}
_SPELLING_TO_KIND = {spelling: kind for kind, spellings in KIND_SPELLINGS.items() for spelling in spellings}
# How the spellings are shown in errors: the forms people write (rdflib's class names too).
_SHOWN = {
    IRI: "iri (or uri, url, i, u, URIRef, NamedNode)",
    BLANK: "blank (or bnode, b, BNode, BlankNode)",
    LITERAL: "literal (or lit, l, typed-literal)",
    TRIPLE: "triple (or t, quoted, quoted_triple)",
}
ACCEPTED_KINDS = ", ".join(_SHOWN.values()) + "; any case, '-', '_' and spaces ignored"


def _key(text: str) -> str:
    return "".join(ch for ch in text.strip().lower() if ch not in "-_ ")


def term_kind(text: str) -> str | None:
    """The canonical term kind (``iri``, ``blank``, ``literal``, ``triple``) ``text`` spells,
    or ``None`` when it spells none. Case, ``-``, ``_`` and spaces do not matter, so
    ``URIRef``, ``named_node``, ``typed-literal`` and ``BNode`` are all read."""
    return _SPELLING_TO_KIND.get(_key(text))


def unknown_kind_reason(value: str, column: str, source_column: str | None = None) -> str:
    """Why a kind column's ``value`` was refused, and every spelling that would have been read."""
    where = f"{column!r}" if source_column in (None, column) else f"{column!r} (input column {source_column!r})"
    return f"unknown term kind {value!r} in {where}; accepted: {ACCEPTED_KINDS}"


# Names tables give a kind's columns, compared as by _key. A position prefix (``subject_``,
# ``obj_``) is read by the same table, so ``subject_type`` and ``object_lang`` are found too.
_ALIASES: dict[str, str] = {
    "subject": "s",
    "subj": "s",
    "sub": "s",
    "predicate": "p",
    "pred": "p",
    "property": "p",
    "relation": "p",
    "object": "o",
    "obj": "o",
    "graph": "g",
    "namedgraph": "g",
    "graphname": "g",
    "datatype": "o_datatype",
    "dtype": "o_datatype",
    "language": "o_language",
    "lang": "o_language",
    "embedding": "vector",
    "embeddings": "vector",
    "vec": "vector",
    "chunk": "chunk_id",
    "chunkid": "chunk_id",
    "text": "context",
    "schema": "schema_name",
}
_POSITIONS = {"s": "s", "p": "p", "o": "o", "subject": "s", "predicate": "p", "object": "o", "entity": "entity"}
# Suffixes of a position's columns, by what a table calls them.
_SUFFIXES = {
    "type": "type",
    "kind": "type",
    "termtype": "type",
    "nodetype": "type",
    "datatype": "datatype",
    "dt": "datatype",
    "dtype": "datatype",
    "language": "language",
    "lang": "language",
}


def _alias(name: str, targets: Sequence[str]) -> str | None:
    """The column of ``targets`` that ``name`` is a known other name for, if any."""
    key = _key(name)
    for target in targets:
        if _key(target) == key:
            return target  # the same name in another case or with other separators
    if _ALIASES.get(key) in targets:
        return _ALIASES[key]
    lowered = name.strip().lower().replace("-", "_").replace(" ", "_")
    if "_" in lowered:
        position, _, suffix = lowered.rpartition("_")
        pos = _POSITIONS.get(position.replace("_", ""))
        part = _SUFFIXES.get(suffix)
        if pos is not None and part is not None and f"{pos}_{part}" in targets:
            return f"{pos}_{part}"
    return None


def closest_column(name: str, targets: Sequence[str]) -> str | None:
    """The column of ``targets`` that ``name`` most probably is: a known other name for it
    (``subject`` for ``s``, ``o_kind`` for ``o_type``), else the closest spelling when one is
    close (``o_langauge`` for ``o_language``); ``None`` when none is."""
    found = _alias(name, targets)
    if found is not None:
        return found
    close = difflib.get_close_matches(name.lower(), list(targets), n=1, cutoff=0.75)
    return close[0] if close else None


@dataclass(frozen=True)
class ColumnMap:
    """A ``columns=`` mapping as a message shows it: a Python dict in Python
    (``{"o_kind": "o_type"}``), ``source=target`` pairs on the command line."""

    pairs: tuple[tuple[str, str], ...]

    def __repr__(self) -> str:
        return json.dumps(dict(self.pairs))

    def __str__(self) -> str:
        return ",".join(f"{source}={target}" for source, target in self.pairs)


def suggested_mapping(extra: Sequence[tuple[str, str]], unused: Sequence[str]) -> ColumnMap:
    """For each ``extra`` column, ``(input name, name after columns=)``, the ``unused`` column of
    the kind it probably is, keyed by its input name; each target is suggested once (the first
    extra column that fits it takes it)."""
    pairs: list[tuple[str, str]] = []
    free = list(unused)
    for shown, name in extra:
        target = closest_column(name, free) or closest_column(shown, free)
        if target is not None:
            pairs.append((shown, target))
            free.remove(target)
    return ColumnMap(tuple(pairs))


def _names(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _merged(mapped: Mapping[str, str], suggestion: ColumnMap) -> ColumnMap:
    """The given mapping with the suggested pairs added (a suggestion replaces a given pair
    for the same input column)."""
    new = dict(suggestion.pairs)
    return ColumnMap(tuple((s, t) for s, t in mapped.items() if s not in new) + suggestion.pairs)


def extra_columns_error(
    kind: str, extra: Sequence[str], present: Sequence[str], schema: Sequence[str], mapped: Mapping[str, str]
) -> str:
    """The message for a table with columns ``kind`` does not use: every one of them, the
    mapping that would make the likely ones the kind's columns, and how to leave them out.

    ``extra`` and ``present`` are names after ``columns=`` (the table's columns and those of
    them the kind does not use); ``schema``: the kind's columns; ``mapped``: the ``columns=``
    mapping given. Columns are named as the input names them.
    """
    unused = [c for c in schema if c not in present]
    inputs = [(_source_name(n, mapped), n) for n in extra]
    suggestion = suggested_mapping(inputs, unused)
    shown = [s for s, _ in inputs]
    which = "a column" if len(extra) == 1 else f"{len(extra)} columns"
    text = f"{which} that {kind} does not use: {_names(shown)} ({kind} takes {', '.join(schema)})"
    ignore = wording.setting("extra_columns", "ignore")
    if not suggestion.pairs:
        example = wording.setting("columns", ColumnMap(((shown[0], "COLUMN"),)))
        them = "it" if len(extra) == 1 else "them"
        return f"{text}. Map {them} onto its columns with {example}, or leave {them} out with {ignore}"
    likely = "; ".join(f"{s!r} looks like {t!r}" for s, t in suggestion.pairs)
    rest = [n for n in shown if n not in dict(suggestion.pairs)]
    them = "it" if len(extra) == 1 else "them"
    leave = f", and leave {_names(rest)} out with {ignore}" if rest else f"; or leave {them} out with {ignore}"
    return f"{text}. {likely}: map with {wording.setting('columns', _merged(mapped, suggestion))}{leave}"


def missing_columns_error(
    kind: str,
    missing: Sequence[str],
    present: Sequence[str],
    schema: Sequence[str],
    mapped: Mapping[str, str],
    extra_columns: ExtraColumns = "error",
) -> str:
    """The message for a table without a column ``kind`` requires: the mapping that would
    supply it (and any other column of the kind) from the table's other columns when they look
    like them, and, with ``extra_columns="error"``, how to leave out the columns left over, so
    that one message says the whole fix. Arguments as for :func:`extra_columns_error`."""
    others = [(_source_name(n, mapped), n) for n in present if n not in schema]
    suggestion = suggested_mapping(others, [c for c in schema if c not in present])
    what = "column" if len(missing) == 1 else "columns"
    has = ", ".join(_source_name(n, mapped) for n in present) or "no columns"
    text = f"missing required {what} {_names(missing)} for {kind}; the table has {has}"
    if not suggestion.pairs:
        example = wording.setting("columns", ColumnMap((("NAME", missing[0]),)))
        return f"{text} (map differently named columns with {example})"
    text = f"{text}: map them with {wording.setting('columns', _merged(mapped, suggestion))}"
    rest = [s for s, _ in others if s not in dict(suggestion.pairs)]
    if rest and extra_columns == "error":
        text += f", and leave {_names(rest)} out with {wording.setting('extra_columns', 'ignore')}"
    return text


def _source_name(name: str, mapped: Mapping[str, str]) -> str:
    """The input's name for column ``name`` (its name after ``columns=``)."""
    for source, target in mapped.items():
        if target == name:
            return source
    return name


def parse_column_pairs(text: str) -> dict[str, str]:
    """``source=target`` pairs separated by commas (``subject=s,predicate=p``) as a mapping;
    a ``ValueError`` naming the first pair that is not one."""
    out: dict[str, str] = {}
    for pair in text.split(","):
        source, sep, target = pair.partition("=")
        source, target = source.strip(), target.strip()
        if not sep or not source or not target or "=" in target:
            raise ValueError(f"bad column pair {pair.strip()!r}: expected SOURCE=TARGET, e.g. subject=s")
        if source in out:
            raise ValueError(f"column {source!r} is mapped twice")
        out[source] = target
    return out


def read_column_file(path: str) -> dict[str, str]:
    """A ``columns=`` mapping from a file: a JSON object (``{"subject": "s"}``), or
    ``source=target`` lines (blank lines and ``#`` comments skipped; commas may join pairs on
    a line). An :class:`~tg_connect.errors.InputError` names the file and the line at fault."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the column map: {exc}", source=path) from None
    if text.lstrip().startswith("{"):
        return _json_column_map(text, path)
    mapping: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            pairs = parse_column_pairs(line)
        except ValueError as exc:
            raise InputError(f"line {number}: {exc}", source=path) from None
        twice = sorted(set(pairs) & set(mapping))
        if twice:
            raise InputError(f"line {number}: column {twice[0]!r} is mapped twice", source=path)
        mapping.update(pairs)
    return mapping


def _json_column_map(text: str, path: str) -> dict[str, str]:
    """A JSON object of column names to column names."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InputError(f"not a JSON object of column names: {exc}", source=path) from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InputError(
            'expected a JSON object of input column names to kind column names: {"subject": "s"}', source=path
        )
    return dict(value)
