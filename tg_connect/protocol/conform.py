"""Turn a user's record batches into the canonical schema of a data kind, column-wise.

A :class:`Conformer` is made per job. The first batch fixes the job's input schema; a later
batch that differs is an :class:`~tg_connect.errors.InputError` naming the column, and so are
duplicate column names and a ``columns=`` mapping onto a name the table already has. Invalid
rows either raise, naming row and column (``on_error="raise"``), or are set aside as
:class:`Rejection`\\ s with the original rows kept for fixing and resending
(``on_error="skip"``). Invalid rows are:

* those of docs/schemas.md: a null required value, a bad IRI, a predicate that is not an IRI,
  an unknown kind, a NaN, infinite, null or wrong-length vector;
* a subject whose kind is guessed as a literal but which is written as an IRI
  (``http://example.org/a b`` in ``s`` is an IRI with a space, an invalid one, not a literal);
  plain text in ``s`` stays a literal, as docs/schemas.md says;
* a vector value beyond float32's range (it would become an infinity, which JSON cannot
  carry);
* text that is not valid UTF-8 (a lone surrogate, bytes in another encoding);
* a row that a reader could not read (see :data:`~tg_connect.protocol.schemas.INPUT_ERROR`);
* with a :class:`~tg_connect.protocol.messages.FrameLimit`, a row too large for one gateway
  message.

Everything is done with Arrow kernels; Python only loops over distinct values and over
rejected rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from . import schemas
from .columns import (
    EXTRA_COLUMNS,
    ExtraColumns,
    extra_columns_error,
    missing_columns_error,
    term_kind,
    unknown_kind_reason,
)
from .jsontext import deletion_table, text_contains_any
from .messages import EncodingHints, FrameLimit, single_row_sizes
from .schemas import Kind
from .terms import ABSOLUTE_IRI_PATTERN, BLANK, IRI, LITERAL, RDF_LANG_STRING, TRIPLE, XSD_STRING, parse_quoted_triple
from .vectors import bad_vector_rows, parse_vector_text

OnError = Literal["raise", "skip"]

# Characters an IRI may not contain (RFC 3987 excludes them; stores reject them).
_BAD_IRI = r"[\x00-\x20<>\"{}|\\^`]"
_BAD_IRI_TABLE = deletion_table(bytes(range(33)) + b'<>"{}|\\^`')
# A scheme and a colon: text that is meant as an absolute IRI, valid or not.
_IRI_LIKE = r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]"  # scheme: and no space (not "Note: text")
_MIB = 1024 * 1024


@dataclass(frozen=True)
class Rejection:
    """One input row that was not sent: its index in the input, the column, and why."""

    row: int
    column: str | None
    reason: str


@dataclass
class Conformed:
    """A conformed batch: the valid rows in canonical form, and what was rejected.

    ``rejected_rows`` are the rejected input rows as they came, with the job's input columns
    (so a user can fix and resend them). A record a reader could not read at all (a malformed
    JSON line) is a row of nulls there; when the input is line-oriented text (the first
    batch's schema metadata has :data:`~tg_connect.protocol.schemas.LINE_TEXT_METADATA`),
    every rejected row also has a :data:`~tg_connect.protocol.schemas.RAW_LINE` column: the
    raw text of such a line, null for rows that were read. The matching :class:`Rejection`
    names the file, the line and, when the parser says, the column within it.
    """

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


def _nulls_like(arr: pa.Array) -> pa.Array:
    """Nulls of ``arr``'s type and length: the null side of an ``if_else``. Not a null scalar:
    before pyarrow 24, if_else of a null scalar and a sliced string array (a batch of a larger
    table) gives an array whose offsets run past its data."""
    return pa.nulls(len(arr), arr.type)


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
        extra_columns: ExtraColumns = "error",
    ) -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        if extra_columns not in EXTRA_COLUMNS:
            raise ValueError(f"extra_columns must be 'error' or 'ignore', not {extra_columns!r}")
        self.extra_columns = extra_columns
        self.kind: Kind = schemas.normalise_kind(kind)
        self.on_error = on_error
        self.columns = dict(columns or {})
        self.source = source
        self.dim = dim
        self.input_schema: pa.Schema | None = None
        self._seen_names: list[str] | None = None  # the input's names (before columns=), checked
        self._input_names: list[str] | None = None  # the first batch's names, in its order
        self._raw_lines = False  # rejected rows carry schemas.RAW_LINE (decided by the first batch)
        self._extra: list[str] = []  # columns the kind does not use, left out (extra_columns="ignore")
        self._added: set[str] = set()  # columns a reader added, not the input's (schemas.ADDED_COLUMNS_METADATA)

    # -- public ---------------------------------------------------------------------------
    def conform(self, batch: pa.RecordBatch, offset: int = 0, *, frame_limit: FrameLimit | None = None) -> Conformed:
        """Conform one input batch whose first row is input row ``offset``.

        With ``frame_limit`` (the bulk import gives one), a row whose message alone would be
        larger than the gateway takes is a bad row: it could never be delivered, and sending
        it would make the gateway close the socket.
        """
        if self.input_schema is None:
            self._raw_lines = schemas.LINE_TEXT_METADATA in (batch.schema.metadata or {})
        batch, unread = _split_input_errors(batch, self.source)
        batch = self._without_placeholders(batch)
        original = batch
        batch = self._named(batch)
        self._check_schema(batch.schema)
        if self._extra:
            batch = batch.drop_columns(self._extra)
        if self._input_names is None:
            self._input_names = original.schema.names
        elif original.schema.names != self._input_names:  # columns in another order: rejected
            original = original.select(self._input_names)  # rows of every batch line up
        bad: dict[int, tuple[str | None, str]] = {}
        if unread is not None:  # first: a record that could not be read is bad for that reason
            self._flag_unread(unread, bad)
        # Text that is not UTF-8 is flagged and blanked first: string kernels refuse it.
        cols = {name: _screen_utf8(name, batch.column(name), bad) for name in batch.schema.names}
        plain: set[str] = set()
        kinds: dict[str, pa.DictionaryArray] = {}
        out = getattr(self, "_conform_" + self.kind.replace("-", "_"))(
            cols, len(batch), bad, offset, _Learned(plain, kinds)
        )
        canonical = pa.RecordBatch.from_pydict(out[0], schema=out[1])
        if frame_limit is not None:
            self._flag_too_large(canonical, bad, frame_limit)
        hints = EncodingHints(frozenset(plain), kinds)
        if not bad:
            return Conformed(canonical, hints=hints)
        first = min(bad)
        if self.on_error == "raise":
            # The rows before the first bad one are good: hand them on with the error, so a
            # caller can send them and report the bad row as the place to resume.
            column, reason = bad[first]
            source = _unread_source(unread, first) or self.source
            error = InputError(reason, source=source, column=column, row=offset + first)
            return Conformed(canonical.slice(0, first), error=error, hints=hints.head(first))
        keep = np.ones(len(batch), dtype=bool)
        rows = sorted(bad)
        keep[rows] = False
        keep_mask = pa.array(keep)
        rejections = [
            Rejection(offset + i, bad[i][0], self._located(bad[i][1], _unread_source(unread, i))) for i in rows
        ]
        taken = pa.array(rows, pa.int64())
        rejected = original.take(taken)
        if self._raw_lines:
            text = (
                pc.struct_field(unread, "text").take(taken) if unread is not None else pa.nulls(len(rows), pa.string())
            )
            rejected = rejected.append_column(schemas.RAW_LINE, text)
        index = pc.add(pa.array(np.flatnonzero(keep), pa.int64()), offset)
        return Conformed(canonical.filter(keep_mask), rejections, rejected, index, hints=hints.rows(keep_mask))

    def _located(self, reason: str, source: str | None) -> str:
        """A rejection's reason, naming the file when it is not the job's whole input (one
        file of several): a :class:`Rejection` has no field for it."""
        return reason if source is None or source == self.source else f"{source}: {reason}"

    def _flag_unread(self, unread: pa.Array, bad: dict[int, tuple[str | None, str]]) -> None:
        """Flag the rows a reader could not read (see :data:`schemas.INPUT_ERROR`)."""
        for i in pc.indices_nonzero(pc.is_valid(unread)).to_pylist():
            error = unread[i].as_py()
            column = error.get("column")
            bad[i] = (
                self.columns.get(column, column) if column else None,
                error.get("reason") or "the reader could not read this record",
            )

    def _flag_too_large(self, batch: pa.RecordBatch, bad: dict[int, tuple[str | None, str]], limit: FrameLimit) -> None:
        """Flag rows whose message alone would be larger than ``limit.max_bytes``.

        A cheap upper bound of each row's size (text bytes six times over, JSON escaping's
        worst case) is read from the columns' offsets; only rows the bound cannot clear, which
        means several MB of text, are encoded to get their exact size.
        """
        n = batch.num_rows
        budget = limit.max_bytes - 1 - limit.overhead  # a message must be smaller than max_bytes
        texts: dict[str, pa.Array] = {}
        total = 0  # bytes of text in the batch
        fixed = 0  # bytes a row has whatever its values: keys, punctuation, term wrappers, numbers
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            fixed += 32 + 6 * len(name)
            if pa.types.is_fixed_size_list(column.type):
                fixed += 16 * column.type.list_size  # a float32 is at most 15 characters and a comma
            elif not (name.endswith("_type") and self.kind != "rows"):  # a kind is a one-letter code
                texts[name] = column
                start, end = _text_span(column)
                total += end - start
        if n == 0 or 6 * total + fixed <= budget:
            return  # no row can be that large: the usual case, decided from a few numbers
        lengths = {name: np.diff(_text_offsets(column)) for name, column in texts.items()}
        if 6 * sum(int(v.max()) for v in lengths.values()) + fixed <= budget:
            return
        bound = np.full(n, fixed, dtype=np.int64)
        for values in lengths.values():
            bound += 6 * values
        most = f"{limit.max_bytes / _MIB:g} MiB"
        for row in np.flatnonzero(bound > budget).tolist():
            if row in bad:
                continue
            # One row at a time: each is megabytes, and a few together could pass 2 GB of text.
            size = int(single_row_sizes(self.kind, batch.slice(row, 1))[0]) + limit.overhead
            if size >= limit.max_bytes:
                column = max(lengths, key=lambda c: int(lengths[c][row]))
                over = f"> {most}" if size > limit.max_bytes else f"= {most}; the gateway takes less than that"
                bad[row] = (column, f"too large for one gateway message ({size:,} bytes {over})")

    # -- schema ---------------------------------------------------------------------------
    def _named(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """``batch`` with the ``columns=`` mapping applied, after checking that the names
        are unique before and after it (checked once per distinct list of names)."""
        names = batch.schema.names
        if names != self._seen_names:
            seen: set[str] = set()
            for name in names:
                if name in seen:
                    raise InputError(
                        "duplicate column name: the input has two columns of this name", source=self.source, column=name
                    )
                seen.add(name)
            targets: dict[str, str] = {}
            for name in names:
                target = self.columns.get(name, name)
                if target in targets:
                    other = targets[target]
                    if target in (other, name):  # mapped onto a column the input has
                        mapped = name if other == target else other
                        why = (
                            f"columns={{...}} maps {mapped!r} onto {target!r}, a column the input already has:"
                            f" both would be {target!r} (drop one, or map {target!r} elsewhere too)"
                        )
                    else:
                        why = (
                            f"columns={{...}} maps both {other!r} and {name!r} onto {target!r}: a column"
                            " can come from one input column only"
                        )
                    raise InputError(why, source=self.source, column=target)
                targets[target] = name
            self._seen_names = list(names)
        if self.columns:
            batch = batch.rename_columns([self.columns.get(n, n) for n in names])
        return batch

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
                    source=self.source,
                    column=name,
                )

    def check_columns(self, schema: pa.Schema) -> None:
        """Check an input's columns (a first batch's schema) before any row is read: the
        checks of the first :meth:`conform` call that need no rows. A load calls it before it
        sends anything, so a table it cannot take fails at once."""
        if self.input_schema is None:
            kept = pa.schema([f for f in schema if f.name not in schemas.RESERVED_COLUMNS], metadata=schema.metadata)
            empty = pa.RecordBatch.from_arrays([pa.nulls(0, f.type) for f in kept], schema=kept)
            empty = self._without_placeholders(empty)
            self._validate_columns(self._named(empty).schema)

    def _without_placeholders(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """``batch`` without the columns its reader added (see
        :data:`schemas.ADDED_COLUMNS_METADATA`) that ``columns=`` maps an input column onto:
        the mapped column takes their place. One that holds a value after all (a key first
        seen past the reader's sample) is an :class:`InputError`: the input has both."""
        added = (batch.schema.metadata or {}).get(schemas.ADDED_COLUMNS_METADATA)
        if not added:
            return batch
        self._added = set(added.decode().split(","))
        targets = set(self.columns.values())
        replaced = [n for n in self._added if n in targets and n in batch.schema.names]
        for name in replaced:
            if batch.column(name).null_count != batch.num_rows:
                source = _input_name(name, self.columns)
                raise InputError(
                    f"the input has both {source!r}, which columns={{...}} maps onto {name!r}, and {name!r}"
                    " itself (past the first lines); drop one of them",
                    source=self.source,
                    column=name,
                )
        return batch.drop_columns(replaced) if replaced else batch

    def _validate_columns(self, schema: pa.Schema) -> None:
        """Check the columns of the job's first batch (names after ``columns=``): the kind's
        required ones are there, and those it does not use are named (``extra_columns="error"``)
        or set aside to be left out (``"ignore"``). The reader's own columns
        (:data:`schemas.RESERVED_COLUMNS`) are split off before: they are never extra."""
        required, optional = _columns_of(self.kind)
        kind_columns = list(required) + list(optional)
        missing = [name for name in required if name not in schema.names]
        if missing:
            reason = missing_columns_error(
                self.kind, missing, schema.names, kind_columns, self.columns, self.extra_columns
            )
            raise InputError(reason, source=self.source, column=missing[0] if len(missing) == 1 else None)
        if self.kind == "rows":
            return  # every other column is a field of the row
        extra = [name for name in schema.names if name not in kind_columns]
        if extra and self.extra_columns == "error":
            present = [name for name in schema.names if name not in self._added]
            reason = extra_columns_error(self.kind, extra, present, kind_columns, self.columns)
            column = (_input_name(extra[0], self.columns)) if len(extra) == 1 else None
            raise InputError(reason, source=self.source, column=column)
        self._extra = extra
        for f in schema:
            if f.name in ("vector",) or f.name in extra:
                continue
            if not _is_stringish(f.type):
                raise InputError(f"column has type {f.type}; expected strings", source=self.source, column=f.name)

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
        datatype = _optional_text(cols, f"{position}_datatype") if literal_parts else None
        language = _optional_text(cols, f"{position}_language") if literal_parts else None
        given = self._explicit_kinds(cols[type_col], type_col, bad) if type_col in cols else None
        as_given = given is not None and given[0].null_count == 0
        if given is not None and as_given:
            codes, kind = given  # every row says its kind: nothing to guess (the fast, common path)
        else:
            codes, kind, value = _guessed_kinds(value, given, datatype, language)
        learned.kinds[type_col] = codes
        is_kind = _KindMasks(codes)

        _flag(bad, pc.is_null(value), position, "null value")
        if position in ("s", "p") and not as_given and is_kind.any(LITERAL):
            # A subject is an IRI or a blank node, a predicate an IRI: text that the guess makes a
            # literal there is a data error. Text with a scheme (``http://x/a b``) is meant as an
            # IRI, and is an invalid one; say so rather than "not an IRI".
            guessed_literal = is_kind(LITERAL)
            if given is not None:
                guessed_literal = pc.and_(guessed_literal, pc.is_null(given[1]))
            _flag_guessed_literals(bad, guessed_literal, value, position)
        if position == "p":  # RDF predicates are IRIs (explicitly typed ones too)
            _flag(bad, pc.invert(is_kind(IRI)), position, "predicate is not an IRI")
        # The values of a dictionary column, as given, are among its distinct values: screen those.
        screened = cols[position].dictionary if as_given and pa.types.is_dictionary(cols[position].type) else value
        _flag_bad_terms(bad, value, screened, position, is_kind, learned)
        out = {position: value, type_col: kind}
        if literal_parts:
            out.update(_literal_columns(bad, position, datatype, language, is_kind, n))
        return out

    def _explicit_kinds(
        self, col: pa.Array, name: str, bad: dict[int, tuple[str | None, str]]
    ) -> tuple[pa.DictionaryArray, pa.Array]:
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
            kind = term_kind(raw) if raw is not None and raw.strip() else None
            if kind is None and raw is not None and raw.strip():
                reason = unknown_kind_reason(raw, name, _input_name(name, self.columns))
                for r in pc.indices_nonzero(pc.equal(encoded.indices, i)).to_pylist():
                    bad.setdefault(r, (name, reason))
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
        g = pc.if_else(pc.equal(g, ""), _nulls_like(g), g)
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
                raise InputError(
                    f"column of type {arr.type} cannot be sent as row field text: {exc}", source=self.source, column=col
                ) from None
        return out, pa.schema([(c, pa.string()) for c in out])

    def _vectors(self, col: pa.Array, n: int, bad: dict[int, tuple[str | None, str]], offset: int) -> pa.Array:
        t = col.type
        if pa.types.is_fixed_size_list(t) or pa.types.is_list(t) or pa.types.is_large_list(t):
            item = t.value_type
        elif _is_stringish(t) and not pa.types.is_null(t):
            # JSON arrays as text: a CSV column mapped onto vector (the reader parses a column
            # named vector only), or a DataFrame read from a CSV file by pandas.
            col = _text_vectors(_to_string(col), bad)
            item = pa.float32()
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
                raise InputError(
                    "no vector to take the dimension from (pass dim=)", source=self.source, column="vector", row=offset
                )
        dim = self.dim
        _flag(bad, pc.is_null(col), "vector", "null vector")
        _flag(bad, pc.not_equal(lengths, dim), "vector", f"vector length differs from the job's dimension {dim}")
        flat = pc.list_flatten(col)  # the items of the non-null vectors
        if flat.type == pa.float32():
            fixed_values = flat
        else:  # a value beyond float32's range becomes an infinity here, caught below
            fixed_values = pc.cast(pc.cast(flat, pa.float64(), safe=False), pa.float32(), safe=False)
        # JSON has no NaN or infinity (orjson would write null, stored as NaN); a null item
        # (pandas turns NaN into null) cannot be sent either.
        if fixed_values.null_count or not pc.all(pc.is_finite(fixed_values)).as_py():
            self._flag_unsendable(flat, fixed_values, lengths, n, bad)
        if not bad:
            return pa.FixedSizeListArray.from_arrays(fixed_values, dim)
        # Rebuild as FixedSizeList<float32, dim> from the good rows' items; the other rows point
        # at one row of zeros (they are dropped later).
        ok = np.ones(n, dtype=bool)
        ok[list(bad)] = False
        item_rows = np.repeat(np.arange(n), pc.fill_null(lengths, 0).to_numpy(zero_copy_only=False))
        good_values = fixed_values.filter(pa.array(ok[item_rows]))
        zeros = pa.array(np.zeros(dim, dtype=np.float32))
        vectors = pa.FixedSizeListArray.from_arrays(pa.concat_arrays([good_values, zeros]), dim)
        good_rows = np.flatnonzero(ok)
        where = np.full(n, len(good_rows), dtype=np.int64)
        where[good_rows] = np.arange(len(good_rows))
        return vectors.take(pa.array(where))

    @staticmethod
    def _flag_unsendable(
        flat: pa.Array, fixed_values: pa.Array, lengths: pa.Array, n: int, bad: dict[int, tuple[str | None, str]]
    ) -> None:
        """Flag vectors with a null, NaN or infinite item, or one beyond float32's range
        (Python looks at those items only, to say which it is)."""
        unsendable = pc.invert(pc.fill_null(pc.is_finite(fixed_values), False))
        item_rows = np.repeat(np.arange(n), pc.fill_null(lengths, 0).to_numpy(zero_copy_only=False))
        positions = np.flatnonzero(unsendable.to_numpy(zero_copy_only=False))
        starts = np.concatenate([[0], np.cumsum(pc.fill_null(lengths, 0).to_numpy(zero_copy_only=False))])
        for position in positions.tolist():
            row = int(item_rows[position])
            if row in bad:
                continue
            value = flat[position].as_py()
            item = position - int(starts[row])
            if value is None:
                what = "is null (NaN in pandas)"
            elif math.isnan(value):
                what = "is NaN, which JSON cannot carry"
            elif math.isinf(value) and flat.type == pa.float32():  # read as float32 from text: 1e39 is inf
                what = "is infinite (or was beyond float32's range, about ±3.4e38), which JSON cannot carry"
            elif math.isinf(value):
                what = "is infinite, which JSON cannot carry"
            else:
                what = (
                    f"is {value:g}, beyond float32's range (about ±3.4e38): it would become an"
                    " infinity, which JSON cannot carry"
                )
            bad[row] = ("vector", f"vector item {item} {what}")


def _text_vectors(text: pa.Array, bad: dict[int, tuple[str | None, str]]) -> pa.Array:
    """Vectors written as JSON arrays of numbers, parsed; every value that is not one is a bad
    row (null here), its text quoted in the reason."""
    rows = bad_vector_rows(text)
    for row in rows:
        shown = text[row].as_py()
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        bad.setdefault(row, ("vector", f"not a JSON array of numbers: {shown!r}"))
    if rows:
        mask = np.zeros(len(text), dtype=bool)
        mask[rows] = True
        text = pc.if_else(pa.array(mask), _nulls_like(text), text)
    vectors, _ = parse_vector_text(text)
    return vectors


def _split_input_errors(batch: pa.RecordBatch, source: str | None) -> tuple[pa.RecordBatch, pa.Array | None]:
    """``batch`` without the reserved columns, and its :data:`schemas.INPUT_ERROR` column
    (``None`` when it has none). A :data:`schemas.RAW_LINE` column (rejected rows being
    resent) is dropped."""
    names = batch.schema.names
    if not any(n in schemas.RESERVED_COLUMNS for n in names):
        return batch, None
    unread = batch.column(schemas.INPUT_ERROR) if schemas.INPUT_ERROR in names else None
    if unread is not None and unread.type != schemas.INPUT_ERROR_TYPE:
        raise InputError(
            f"column has type {unread.type}: the name is reserved for rows a reader could not read",
            source=source,
            column=schemas.INPUT_ERROR,
        )
    return batch.drop_columns([n for n in names if n in schemas.RESERVED_COLUMNS]), unread


def _unread_source(unread: pa.Array | None, row: int) -> str | None:
    """The file a reader named for an unread ``row``, if any."""
    if unread is None or not unread[row].is_valid:
        return None
    value = unread[row].as_py().get("source")
    return str(value) if value else None


def _text_span(column: pa.Array) -> tuple[int, int]:
    """Where a string column's text starts and ends in its data buffer: two offsets read."""
    width = np.int64 if column.type == pa.large_string() else np.int32
    _validity, offsets, _data = column.buffers()
    if offsets is None or len(column) == 0:
        return 0, 0
    size = np.dtype(width).itemsize
    first = np.frombuffer(offsets, dtype=width, count=1, offset=column.offset * size)[0]
    last = np.frombuffer(offsets, dtype=width, count=1, offset=(column.offset + len(column)) * size)[0]
    return int(first), int(last)


def _text_offsets(column: pa.Array) -> np.ndarray:
    """The offsets of a string column (``n + 1`` entries): lengths without a pass over the text."""
    width = np.int64 if column.type == pa.large_string() else np.int32
    _validity, offsets, _data = column.buffers()
    if offsets is None:
        return np.zeros(len(column) + 1, dtype=np.int64)
    return np.frombuffer(
        offsets, dtype=width, count=len(column) + 1, offset=column.offset * np.dtype(width).itemsize
    ).astype(np.int64)


def _screen_utf8(name: str, column: pa.Array, bad: dict[int, tuple[str | None, str]]) -> pa.Array:
    """``column`` with every value that is not valid UTF-8 (bytes in another encoding, a lone
    surrogate, ``\\ud800``, that reached an Arrow column unchecked: Parquet files may hold
    them) set to null, and its row flagged. A gateway could not decode such a frame.

    ASCII text, most columns, is valid by construction: one numeric pass over the bytes says
    so. Only a column with other bytes is validated, and only one that fails is searched.
    A dictionary column is screened through its distinct values.
    """
    values = column.dictionary if pa.types.is_dictionary(column.type) else column
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)) or len(values) == 0:
        return column
    _validity, _offsets_buf, data = values.buffers()
    if data is None:
        return column
    start, end = _text_span(values)
    text = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
    if not len(text) or int(text.max()) < 0x80:
        return column
    try:
        values.validate(full=True)
        return column
    except pa.ArrowInvalid:
        invalid = dict(_invalid_utf8_rows(values, 0))
    if pa.types.is_dictionary(column.type):
        codes = column.indices.to_numpy(zero_copy_only=False)
        hit = np.isin(codes, np.fromiter(invalid, dtype=np.int64))
        if column.null_count:
            hit &= column.is_valid().to_numpy(zero_copy_only=False)
        for row in np.flatnonzero(hit).tolist():
            bad.setdefault(row, (name, invalid[int(codes[row])]))
        blank = np.zeros(len(values), dtype=bool)
        blank[list(invalid)] = True
        dictionary = pc.if_else(pa.array(blank), _nulls_like(values), values)
        return pa.DictionaryArray.from_arrays(column.indices, dictionary)
    mask = np.zeros(len(column), dtype=bool)
    mask[list(invalid)] = True
    for row, reason in invalid.items():
        bad.setdefault(row, (name, reason))
    return pc.if_else(pa.array(mask), _nulls_like(column), column)


def _invalid_utf8_rows(column: pa.Array, start: int) -> list[tuple[int, str]]:
    """Rows of ``column`` (a slice starting at input row ``start``) that are not valid UTF-8,
    found by halving: validation runs over the text in C, Python only recurses."""
    if len(column) > 1:
        try:
            column.validate(full=True)
            return []
        except pa.ArrowInvalid:
            half = len(column) // 2
            return _invalid_utf8_rows(column.slice(0, half), start) + _invalid_utf8_rows(
                column.slice(half), start + half
            )
    value = column.cast(pa.binary())[0].as_py() if len(column) else None
    if value is None:
        return []
    try:
        value.decode("utf-8")
        return []
    except UnicodeDecodeError as exc:
        shown = value[exc.start : exc.start + 3]
        kind = "a lone surrogate" if shown[:1] == b"\xed" and len(shown) > 1 and shown[1] >= 0xA0 else "invalid UTF-8"
        return [(start, f"{kind} in the text (bytes {shown!r} at byte {exc.start}): not valid Unicode")]


def _input_name(name: str, columns: Mapping[str, str]) -> str:
    """The input's name for column ``name`` (its name after the ``columns=`` mapping)."""
    return next((source for source, target in columns.items() if target == name), name)


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
        IRI,
        BLANK,
        IRI,
        LITERAL,
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


def _optional_text(cols: dict[str, pa.Array], name: str) -> pa.Array | None:
    """Column ``name`` as strings with ``""`` as null; ``None`` when there is no such column."""
    if name not in cols:
        return None
    text = _to_string(cols[name])
    return pc.if_else(pc.equal(text, ""), _nulls_like(text), text)


def _guessed_kinds(
    value: pa.Array,
    given: tuple[pa.DictionaryArray, pa.Array] | None,
    datatype: pa.Array | None,
    language: pa.Array | None,
) -> tuple[pa.DictionaryArray, pa.Array, pa.Array]:
    """Kind codes, kinds and values of a term column whose kinds are not all ``given``: guessed
    where missing, from the text (``<...>`` and ``_:`` stripped) and the literal parts."""
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
    return pc.dictionary_encode(kind), kind, value


def _flag_bad_terms(
    bad: dict[int, tuple[str | None, str]],
    value: pa.Array,
    screened: pa.Array,
    position: str,
    is_kind: _KindMasks,
    learned: _Learned,
) -> None:
    """Flag invalid IRIs, empty blank node ids and unparsable quoted triples; ``screened``: the
    text to look through first (a dictionary column's distinct values)."""
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
    _flag(bad, iri_bad, position, 'invalid IRI (empty, or contains spaces or <>"{}|\\^`)')
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


def _literal_columns(
    bad: dict[int, tuple[str | None, str]],
    position: str,
    datatype: pa.Array | None,
    language: pa.Array | None,
    is_kind: _KindMasks,
    n: int,
) -> dict[str, pa.Array]:
    """The datatype and language columns of ``position``: null outside literals (flagged where
    given there), and an implicit datatype (xsd:string, rdf:langString) as null."""
    dt_col, ln_col = f"{position}_datatype", f"{position}_language"
    null = pa.nulls(n, pa.string())
    if not is_kind.any(LITERAL) or (datatype is None and language is None):
        for part, name in ((datatype, dt_col), (language, ln_col)):
            if part is not None:
                _flag(bad, pc.is_valid(part), name, f"{name.split('_')[-1]} given for a non-literal")
        return {dt_col: null, ln_col: null}
    is_lit = is_kind(LITERAL)
    for part, name in ((datatype, dt_col), (language, ln_col)):
        if part is not None:
            _flag(
                bad,
                pc.and_(pc.invert(is_lit), pc.is_valid(part)),
                name,
                f"{name.split('_')[-1]} given for a non-literal",
            )
    if datatype is not None:
        _flag(bad, pc.and_(is_lit, _bad_iri_text(datatype, is_lit)), dt_col, "invalid datatype IRI")
    language = language if language is not None else null
    datatype = datatype if datatype is not None else null
    implicit = pc.or_(pc.is_in(datatype, pa.array([XSD_STRING, RDF_LANG_STRING])), pc.is_valid(language))
    datatype = pc.if_else(pc.fill_null(implicit, False), null, datatype)
    return {dt_col: pc.if_else(is_lit, datatype, null), ln_col: pc.if_else(is_lit, language, null)}


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


def _flag_guessed_literals(
    bad: dict[int, tuple[str | None, str]], mask: pa.Array, value: pa.Array, position: str
) -> None:
    """Flag the rows of ``mask`` (a subject or predicate guessed to be a literal), with a
    reason that says what the text looks like; Python looks at those rows only."""
    mask = pc.fill_null(mask, False)
    if not pc.any(mask).as_py():
        return
    role = "a subject must be an IRI or a blank node" if position == "s" else "a predicate must be an IRI"
    for i in pc.indices_nonzero(mask).to_pylist():
        text = value[i].as_py()
        if text is None or i in bad:
            continue
        if re.match(_IRI_LIKE, text):
            reason = f'invalid IRI (contains spaces or <>"{{}}|\\^`): {role}, and IRIs cannot hold those'
        elif position == "s":
            continue  # plain text in s is a literal subject, as guessed (the wire allows any term)
        else:
            reason = f"{role}; this text is neither an absolute IRI, an IRI in <...>, nor a blank node _:id"
        bad[i] = (position, reason)


def _flag(bad: dict[int, tuple[str | None, str]], mask: pa.Array | None, column: str | None, reason: str) -> None:
    if mask is None:
        return
    mask = pc.fill_null(mask, False)
    if pc.any(mask).as_py():
        for i in pc.indices_nonzero(mask).to_pylist():
            bad.setdefault(i, (column, reason))
