"""Turn a user's record batches into the canonical schema of a data kind, column-wise.

A :class:`Conformer` is made per job. The first batch fixes the job's input schema; a later
batch that differs is an :class:`~tg_connect.errors.InputError` naming the column. Invalid
rows (a null subject, a bad IRI, a NaN or wrong-length vector...) either raise, naming row
and column (``on_error="raise"``), or are set aside as :class:`Rejection`\\ s with the
original rows kept for fixing and resending (``on_error="skip"``). Everything is done with
Arrow kernels; Python only loops over distinct values and over rejected rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from . import schemas
from .schemas import Kind
from .terms import ABSOLUTE_IRI_PATTERN, BLANK, IRI, LITERAL, RDF_LANG_STRING, TRIPLE, XSD_STRING
from .terms import parse_quoted_triple
from .jsontext import deletion_table, text_contains_any
from .messages import EncodingHints

OnError = Literal["raise", "skip"]

_KIND_SYNONYMS = {
    "iri": IRI, "uri": IRI, "i": IRI, "namednode": IRI, "named_node": IRI,
    "blank": BLANK, "bnode": BLANK, "b": BLANK, "blanknode": BLANK, "blank_node": BLANK,
    "literal": LITERAL, "l": LITERAL,
    "triple": TRIPLE, "t": TRIPLE, "quoted": TRIPLE, "quoted_triple": TRIPLE,
}
# Characters an IRI may not contain (RFC 3987 excludes them; stores reject them).
_BAD_IRI = r"[\x00-\x20<>\"{}|\\^`]"
_BAD_IRI_TABLE = deletion_table(bytes(range(33)) + b'<>"{}|\\^`')


@dataclass(frozen=True)
class Rejection:
    """One input row that was not sent: its index in the input, the column, and why."""

    row: int
    column: str | None
    reason: str


@dataclass
class Conformed:
    """A conformed batch: the valid rows in canonical form, and what was rejected."""

    batch: pa.RecordBatch
    rejections: list[Rejection] = field(default_factory=list)
    rejected_rows: pa.RecordBatch | None = None  # the original input rows, for resending
    row_index: pa.Array | None = None  # input row number of each valid row
    error: InputError | None = None  # on_error="raise": the first bad row; ``batch`` precedes it
    hints: EncodingHints = EncodingHints()  # what conforming learned that saves the encoder work

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


def _is_stringish(t: pa.DataType) -> bool:
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or getattr(pa.types, "is_string_view", lambda _t: False)(t)
        or pa.types.is_null(t)
        or (pa.types.is_dictionary(t) and _is_stringish(t.value_type))
    )


def _to_string(arr: pa.Array) -> pa.Array:
    return arr if arr.type == pa.string() else pc.cast(arr, pa.string())


class Conformer:
    """Conforms the batches of one job to ``kind``'s schema (see the module docstring)."""

    def __init__(
        self,
        kind: str,
        *,
        on_error: OnError = "raise",
        columns: Mapping[str, str] | None = None,
        source: str | None = None,
        dim: int | None = None,
    ) -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        self.kind: Kind = schemas.normalise_kind(kind)
        self.on_error = on_error
        self.columns = dict(columns or {})
        self.source = source
        self.dim = dim
        self.input_schema: pa.Schema | None = None

    # -- public ---------------------------------------------------------------------------
    def conform(self, batch: pa.RecordBatch, offset: int = 0) -> Conformed:
        """Conform one input batch whose first row is input row ``offset``."""
        original = batch
        if self.columns:
            batch = batch.rename_columns([self.columns.get(n, n) for n in batch.schema.names])
        self._check_schema(batch.schema)
        bad: dict[int, tuple[str | None, str]] = {}
        cols = {name: batch.column(name) for name in batch.schema.names}
        plain: set[str] = set()
        kinds: dict[str, pa.DictionaryArray] = {}
        out = getattr(self, "_conform_" + self.kind.replace("-", "_"))(cols, len(batch), bad, offset,
                                                                       _Learned(plain, kinds))
        hints = EncodingHints(frozenset(plain), kinds)
        if not bad:
            return Conformed(pa.RecordBatch.from_pydict(out[0], schema=out[1]), hints=hints)
        first = min(bad)
        if self.on_error == "raise":
            # The rows before the first bad one are good: hand them on with the error, so a
            # caller can send them and report the bad row as the place to resume.
            column, reason = bad[first]
            error = InputError(reason, source=self.source, column=column, row=offset + first)
            canonical = pa.RecordBatch.from_pydict(out[0], schema=out[1]).slice(0, first)
            return Conformed(canonical, error=error, hints=hints.head(first))
        keep = pa.array([i not in bad for i in range(len(batch))])
        canonical = pa.RecordBatch.from_pydict(out[0], schema=out[1]).filter(keep)
        rows = sorted(bad)
        rejections = [Rejection(offset + i, bad[i][0], bad[i][1]) for i in rows]
        index = pc.add(pa.array(range(len(batch)), pa.int64()).filter(keep), offset)
        return Conformed(canonical, rejections, original.take(pa.array(rows)), index, hints=hints.rows(keep))

    # -- schema ---------------------------------------------------------------------------
    def _check_schema(self, schema: pa.Schema) -> None:
        if self.input_schema is None:
            self._validate_columns(schema)
            self.input_schema = schema
            return
        if schema.equals(self.input_schema):
            return
        old = {f.name: f.type for f in self.input_schema}
        new = {f.name: f.type for f in schema}
        for name in sorted(set(old) | set(new)):
            if name not in new:
                raise InputError("column missing from a later batch", source=self.source, column=name)
            if name not in old:
                raise InputError("column not in the job's first batch", source=self.source, column=name)
            if old[name] != new[name]:
                raise InputError(
                    f"column type changed from {old[name]} to {new[name]} within one job",
                    source=self.source, column=name,
                )

    def _validate_columns(self, schema: pa.Schema) -> None:
        names = set(schema.names)
        required, optional = _columns_of(self.kind)
        for name in required:
            if name not in names:
                raise InputError(
                    f"missing required column for {self.kind}; the table has {sorted(names)}"
                    " (map differently named columns with columns={...})",
                    source=self.source, column=name,
                )
        if self.kind == "rows":
            return  # every other column is a field of the row
        for name in schema.names:
            if name not in required and name not in optional:
                raise InputError(
                    f"unexpected column for {self.kind}; expected some of "
                    f"{list(required) + list(optional)}",
                    source=self.source, column=name,
                )
        for f in schema:
            if f.name in ("vector",):
                continue
            if not _is_stringish(f.type):
                raise InputError(
                    f"column has type {f.type}; expected strings", source=self.source, column=f.name
                )

    # -- terms ----------------------------------------------------------------------------
    def _terms(
        self,
        cols: dict[str, pa.Array],
        position: str,
        n: int,
        bad: dict[int, tuple[str | None, str]],
        literal_parts: bool,
        learned: _Learned,
    ) -> dict[str, pa.Array]:
        value = _to_string(cols[position])
        type_col = f"{position}_type"
        dt_col, ln_col = f"{position}_datatype", f"{position}_language"
        datatype = _to_string(cols[dt_col]) if literal_parts and dt_col in cols else None
        language = _to_string(cols[ln_col]) if literal_parts and ln_col in cols else None
        if datatype is not None:
            datatype = pc.if_else(pc.equal(datatype, ""), None, datatype)
        if language is not None:
            language = pc.if_else(pc.equal(language, ""), None, language)

        given = self._explicit_kinds(cols[type_col], type_col, bad) if type_col in cols else None
        as_given = given is not None and given[0].null_count == 0
        if given is not None and as_given:
            codes, kind = given  # every row says its kind: nothing to guess (the fast, common path)
        else:
            guessed, stripped = _guess_kinds(value)
            has_literal_parts = None
            for part in (datatype, language):
                if part is not None:
                    valid = pc.is_valid(part)
                    has_literal_parts = valid if has_literal_parts is None else pc.or_(has_literal_parts, valid)
            if has_literal_parts is not None:  # a datatype or language makes an unmarked row a literal
                guessed = pc.if_else(has_literal_parts, LITERAL, guessed)
                stripped = pc.if_else(has_literal_parts, value, stripped)
            kind = guessed if given is None else pc.coalesce(given[1], guessed)
            value = stripped if given is None else pc.if_else(pc.is_valid(given[1]), value, stripped)
            codes = pc.dictionary_encode(kind)
        learned.kinds[type_col] = codes
        is_kind = _KindMasks(codes)

        _flag(bad, pc.is_null(value), position, "null value")
        if position == "p":  # RDF predicates are IRIs; a guessed literal here is a data error
            _flag(bad, pc.invert(is_kind(IRI)), position, "predicate is not an IRI")
        # The values of a dictionary column, as given, are among its distinct values: screen those.
        screened = cols[position].dictionary if as_given and pa.types.is_dictionary(cols[position].type) else value
        if is_kind.only(IRI) and not text_contains_any(screened, _BAD_IRI_TABLE):
            # All IRIs, and no byte an IRI forbids: valid, and (since those bytes include every
            # one JSON escapes) nothing to escape: the encoder is told so and skips its scan.
            learned.plain.add(position)
            iri_bad = pc.equal(value, "")
        elif is_kind.any(IRI):
            is_iri = is_kind(IRI)
            iri_bad = pc.and_(is_iri, pc.or_(pc.equal(value, ""), _bad_iri_text(value, is_iri)))
        else:
            iri_bad = None
        _flag(bad, iri_bad, position, "invalid IRI (empty, or contains spaces or <>\"{}|\\^`)")
        if is_kind.any(BLANK):
            _flag(bad, pc.and_(is_kind(BLANK), pc.equal(value, "")), position, "empty blank node id")
        if is_kind.any(TRIPLE):
            for i in pc.indices_nonzero(is_kind(TRIPLE)).to_pylist():
                text = value[i].as_py()
                if text is None:
                    continue
                try:
                    parse_quoted_triple(text)
                except ValueError as exc:
                    bad.setdefault(i, (position, f"invalid quoted triple: {exc}"))
        out = {position: value, type_col: kind}
        if literal_parts:
            null = pa.nulls(n, pa.string())
            if not is_kind.any(LITERAL) or (datatype is None and language is None):
                for part, name in ((datatype, dt_col), (language, ln_col)):
                    if part is not None:
                        _flag(bad, pc.is_valid(part), name, f"{name.split('_')[-1]} given for a non-literal")
                out[dt_col] = out[ln_col] = null
                return out
            is_lit = is_kind(LITERAL)
            for part, name in ((datatype, dt_col), (language, ln_col)):
                if part is not None:
                    _flag(bad, pc.and_(pc.invert(is_lit), pc.is_valid(part)), name,
                          f"{name.split('_')[-1]} given for a non-literal")
            if datatype is not None:
                _flag(bad, pc.and_(is_lit, _bad_iri_text(datatype, is_lit)), dt_col,
                      "invalid datatype IRI")
            language = language if language is not None else null
            datatype = datatype if datatype is not None else null
            implicit = pc.or_(pc.is_in(datatype, pa.array([XSD_STRING, RDF_LANG_STRING])),
                              pc.is_valid(language))
            datatype = pc.if_else(pc.fill_null(implicit, False), None, datatype)
            out[dt_col] = pc.if_else(is_lit, datatype, None)
            out[ln_col] = pc.if_else(is_lit, language, None)
        return out

    def _explicit_kinds(self, col: pa.Array, name: str,
                        bad: dict[int, tuple[str | None, str]]) -> tuple[pa.DictionaryArray, pa.Array]:
        """A given kind column as canonical kinds: dictionary-encoded, and as strings (null
        where missing or unknown; unknown names are flagged)."""
        if not _is_stringish(col.type):
            raise InputError(f"column has type {col.type}; expected strings", source=self.source, column=name)
        if pa.types.is_dictionary(col.type):  # as Parquet stored it: the distinct values are at hand
            encoded = pa.DictionaryArray.from_arrays(col.indices, _to_string(col.dictionary))
            col = encoded.dictionary_decode()
        else:
            col = _to_string(col)
            encoded = _dictionary(col)
        mapped: list[str | None] = []
        for i, raw in enumerate(encoded.dictionary.to_pylist()):
            key = raw.strip().lower() if raw is not None else ""
            kind = _KIND_SYNONYMS.get(key) if key else None
            if key and kind is None:
                rows = pc.indices_nonzero(pc.equal(encoded.indices, i)).to_pylist()
                for r in rows:
                    bad.setdefault(r, (name, f"unknown term kind {raw!r}; expected iri, blank, literal or triple"))
            mapped.append(kind)
        if mapped == encoded.dictionary.to_pylist():
            return encoded, col  # already canonical names: no need to rebuild the strings
        kind = pc.take(pa.array(mapped, pa.string()), encoded.indices)
        if None in mapped or len(set(mapped)) < len(mapped):  # unknown names, or synonyms
            return _dictionary(kind), kind
        return pa.DictionaryArray.from_arrays(encoded.indices, pa.array(mapped, pa.string())), kind

    # -- kinds ----------------------------------------------------------------------------
    def _conform_triples(self, cols, n, bad, offset, learned):  # type: ignore[no-untyped-def]
        out: dict[str, pa.Array] = {}
        out.update(self._terms(cols, "s", n, bad, False, learned))
        out.update(self._terms(cols, "p", n, bad, False, learned))
        out.update(self._terms(cols, "o", n, bad, True, learned))
        g = _to_string(cols["g"]) if "g" in cols else pa.nulls(n, pa.string())
        g = pc.if_else(pc.equal(g, ""), None, g)
        _flag(bad, _bad_iri_text(g, pc.is_valid(g)), "g", "invalid graph IRI")
        out["g"] = g
        return out, schemas.TRIPLES

    def _conform_entity_contexts(self, cols, n, bad, offset, learned):  # type: ignore[no-untyped-def]
        out = self._terms(cols, "entity", n, bad, False, learned)
        context = _to_string(cols["context"])
        _flag(bad, pc.is_null(context), "context", "null value")
        out["context"] = context
        return out, schemas.ENTITY_CONTEXTS

    def _conform_graph_embeddings(self, cols, n, bad, offset, learned):  # type: ignore[no-untyped-def]
        out = self._terms(cols, "entity", n, bad, False, learned)
        out["vector"] = self._vectors(cols["vector"], n, bad, offset)
        return out, schemas.graph_embeddings_schema(self.dim or 0)

    def _conform_document_embeddings(self, cols, n, bad, offset, learned):  # type: ignore[no-untyped-def]
        chunk_id = _to_string(cols["chunk_id"])
        _flag(bad, pc.is_null(chunk_id), "chunk_id", "null value")
        vector = self._vectors(cols["vector"], n, bad, offset)
        return {"chunk_id": chunk_id, "vector": vector}, schemas.document_embeddings_schema(self.dim or 0)

    def _conform_rows(self, cols, n, bad, offset, learned):  # type: ignore[no-untyped-def]
        name = schemas.ROWS_SCHEMA_NAME
        if not _is_stringish(cols[name].type):
            raise InputError(f"column has type {cols[name].type}; expected strings", source=self.source, column=name)
        out = {name: _to_string(cols[name])}
        _flag(bad, pc.is_null(out[name]), name, "null value")
        for col, arr in cols.items():
            if col == name:
                continue
            try:
                out[col] = _to_string(arr)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InputError(f"column of type {arr.type} cannot be sent as row field text: {exc}",
                                 source=self.source, column=col) from None
        return out, pa.schema([(c, pa.string()) for c in out])

    def _vectors(self, col: pa.Array, n: int, bad: dict[int, tuple[str | None, str]], offset: int) -> pa.Array:
        t = col.type
        if pa.types.is_fixed_size_list(t) or pa.types.is_list(t) or pa.types.is_large_list(t):
            item = t.value_type
        else:
            raise InputError(f"column has type {t}; expected a list of floats", source=self.source, column="vector")
        if not (pa.types.is_floating(item) or pa.types.is_integer(item)):
            raise InputError(f"vector items have type {item}; expected floats", source=self.source, column="vector")
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        lengths = pc.list_value_length(col)
        if self.dim is None:
            first_valid = pc.drop_null(lengths)
            self.dim = int(first_valid[0].as_py()) if len(first_valid) else 0
            if self.dim <= 0:
                raise InputError("no vector to take the dimension from (pass dim=)", source=self.source,
                                 column="vector", row=offset)
        dim = self.dim
        _flag(bad, pc.is_null(col), "vector", "null vector")
        _flag(bad, pc.not_equal(lengths, dim), "vector", f"vector length differs from the job's dimension {dim}")
        values = pc.cast(pc.list_flatten(col), pa.float64())
        parents = pc.list_parent_indices(col)
        # A null item (pandas turns NaN into null) counts as bad too: fill_null(..., True).
        nonfinite = pc.fill_null(pc.or_(pc.is_nan(values), pc.is_inf(values)), True)
        if pc.any(nonfinite).as_py():
            for r in pc.unique(parents.filter(nonfinite)).to_pylist():
                bad.setdefault(r, ("vector", "vector contains NaN, infinity or null"))
        # Rebuild as FixedSizeList<float32, dim>; rows that failed get zeros (they are dropped).
        ok = pa.array([i not in bad for i in range(n)]) if bad else None
        fixed_values = pc.cast(values, pa.float32())
        if ok is None:
            return pa.FixedSizeListArray.from_arrays(fixed_values, dim)
        rows = []
        good_mask = pc.take(ok, parents)
        good_values = fixed_values.filter(good_mask)
        pos = 0
        zeros = [0.0] * dim
        for i in range(n):
            if ok[i].as_py():
                rows.append(good_values.slice(pos, dim).to_pylist())
                pos += dim
            else:
                rows.append(zeros)
        return pa.array(rows, schemas.vector_type(dim))


def _columns_of(kind: Kind) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if kind == "triples":
        return ("s", "p", "o"), ("s_type", "p_type", "o_type", "o_datatype", "o_language", "g")
    if kind == "graph-embeddings":
        return ("entity", "vector"), ("entity_type",)
    if kind == "entity-contexts":
        return ("entity", "context"), ("entity_type",)
    if kind == "document-embeddings":
        return ("chunk_id", "vector"), ()
    return (schemas.ROWS_SCHEMA_NAME,), ()


def _guess_kinds(value: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Kinds guessed from bare strings, and the values with ``<...>`` / ``_:`` stripped."""
    angle = pc.and_(pc.starts_with(value, "<"), pc.ends_with(value, ">"))
    angle = pc.and_(angle, pc.greater_equal(pc.utf8_length(value), 2))
    blank = pc.and_(pc.starts_with(value, "_:"), pc.greater(pc.utf8_length(value), 2))
    absolute = pc.match_substring_regex(value, ABSOLUTE_IRI_PATTERN)
    kind = pc.case_when(
        pc.make_struct(angle, blank, absolute, field_names=["a", "b", "c"]),
        IRI, BLANK, IRI, LITERAL,
    )
    stripped = pc.case_when(
        pc.make_struct(angle, blank, field_names=["a", "b"]),
        pc.utf8_slice_codeunits(value, 1, -1),
        pc.utf8_slice_codeunits(value, 2),
        value,
    )
    return kind, stripped


@dataclass
class _Learned:
    """What conforming finds out about a batch's columns, handed on as :class:`EncodingHints`."""

    plain: set[str]
    kinds: dict[str, pa.DictionaryArray]


def _dictionary(col: pa.Array) -> pa.DictionaryArray:
    """``col`` dictionary-encoded; a column of one repeated value (a kind column, usually)
    is found with one comparison, cheaper than hashing every row."""
    if len(col) and col.null_count == 0 and pc.all(pc.equal(col, col[0])).as_py():
        return pa.DictionaryArray.from_arrays(pa.array(np.zeros(len(col), dtype=np.int32)), col.slice(0, 1))
    encoded = pc.dictionary_encode(col)
    return encoded.combine_chunks() if isinstance(encoded, pa.ChunkedArray) else encoded


class _KindMasks:
    """Row masks by kind, from dictionary codes: integer comparisons instead of string ones,
    and none at all when a column has one kind."""

    def __init__(self, codes: pa.DictionaryArray) -> None:
        self.codes = codes
        self.names: list[str | None] = codes.dictionary.to_pylist()

    def any(self, kind: str) -> bool:
        return kind in self.names

    def only(self, kind: str) -> bool:
        return self.names == [kind] and self.codes.null_count == 0

    def __call__(self, kind: str) -> pa.Array:
        if not self.any(kind):
            return pa.array(np.zeros(len(self.codes), dtype=bool))
        if self.only(kind):
            return pa.array(np.ones(len(self.codes), dtype=bool))
        return pc.fill_null(pc.equal(self.codes.indices, self.names.index(kind)), False)


def _bad_iri_text(values: pa.Array, rows: pa.Array) -> pa.Array:
    """Per row: does the value hold a character IRIs forbid? Only ``rows`` are looked at.

    One pass over the text of those rows screens the column; the per-row regex runs only
    when that finds something, which valid data never does.
    """
    rows = pc.fill_null(rows, False)
    subset = values if pc.all(rows).as_py() else values.filter(rows)
    if not text_contains_any(subset, _BAD_IRI_TABLE):
        return pa.array(np.zeros(len(values), dtype=bool))
    return pc.fill_null(pc.match_substring_regex(values, _BAD_IRI), False)


def _flag(bad: dict[int, tuple[str | None, str]], mask: pa.Array | None, column: str | None, reason: str) -> None:
    if mask is None:
        return
    mask = pc.fill_null(mask, False)
    if pc.any(mask).as_py():
        for i in pc.indices_nonzero(mask).to_pylist():
            bad.setdefault(i, (column, reason))
