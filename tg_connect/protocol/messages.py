"""Bulk message shapes (docs/protocol.md section 8): canonical Arrow batches <-> socket frames.

Encoding is vectorised: each row becomes a JSON fragment built by Arrow kernels and the
fragments of a batch are joined in one buffer slice, so no Python object is made per row.
Decoding goes the other way for frames the gateway sends (export taps, triples queries,
knowledge cores) and yields canonical batches.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from . import jsontext, schemas
from .schemas import Kind
from .terms import BLANK, IRI, LITERAL, TRIPLE, term_from_wire, term_to_wire


@dataclass(frozen=True)
class Metadata:
    """The ``metadata`` of a bulk message: document id, collection and (optional) root."""

    id: str
    collection: str
    root: str | None = None

    def json(self, with_root: bool) -> str:
        body: dict[str, str] = {"id": self.id}
        if with_root:
            body["root"] = self.root if self.root is not None else ""
        body["collection"] = self.collection
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


# -- encoding ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodingHints:
    """What conforming already learned about a batch, so encoding need not find it again.

    ``plain``: term columns known to need no JSON escaping. ``kinds``: term-kind columns
    (by name, such as ``"o_type"``) dictionary-encoded, aligned with the batch's rows.
    """

    plain: frozenset[str] = frozenset()
    kinds: Mapping[str, pa.DictionaryArray] = field(default_factory=dict)

    def rows(self, selection: pa.Array) -> EncodingHints:
        """The hints for ``batch.filter(selection)`` (a boolean mask) or a row slice of it."""
        return EncodingHints(self.plain, {k: v.filter(selection) for k, v in self.kinds.items()})

    def head(self, rows: int) -> EncodingHints:
        """The hints for ``batch.slice(0, rows)``."""
        return EncodingHints(self.plain, {k: v.slice(0, rows) for k, v in self.kinds.items()})


NO_HINTS = EncodingHints()
FrameData = bytes | memoryview  # an encoded message: its own bytes, or a view of a chunk's buffer


_OPEN: dict[str, str] = {
    IRI: '{"t":"i","i":"',
    BLANK: '{"t":"b","d":"',
    LITERAL: '{"t":"l","v":"',
    TRIPLE: '{"t":"t","tr":',
}
_CLOSE: dict[str, str] = {IRI: '"', BLANK: '"', LITERAL: '"', TRIPLE: ""}


def _by_kind(kind: pa.Array, present: list[str], table: Mapping[str, str]) -> Any:
    """A per-row constant chosen by kind: a plain string when the column has one kind."""
    if len({table[k] for k in present}) == 1:
        return table[present[0]]  # one constant for the whole column: cheaper than an array
    encoded = pc.dictionary_encode(kind)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    choices = pa.array([table[k] for k in encoded.dictionary.to_pylist()], pa.string())
    return choices.take(encoded.indices)


def term_parts(
    value: pa.Array,
    kind: pa.Array,
    datatype: pa.Array | None = None,
    language: pa.Array | None = None,
) -> list[Any]:
    """The pieces whose row-wise concatenation is each term's compact JSON.

    Returned as pieces so a caller can glue whole rows in one kernel call.
    """
    present = [k for k in pc.unique(kind).to_pylist() if k is not None]
    if not present:
        present = [IRI]
    if present == [TRIPLE]:
        text = value  # quoted-triple JSON is inserted as is
    else:
        text = jsontext.escape(value)
        if TRIPLE in present:
            text = pc.if_else(pc.equal(kind, TRIPLE), value, text)
    parts: list[Any] = [_by_kind(kind, present, _OPEN), text, _by_kind(kind, present, _CLOSE)]
    if LITERAL in present:
        for key, column in (("dt", datatype), ("ln", language)):
            if column is not None and column.null_count < len(column):
                parts.append(jsontext.concat(f',"{key}":"', jsontext.escape(column), '"'))
    parts.append("}")
    return parts


def term_fragments(
    value: pa.Array,
    kind: pa.Array,
    datatype: pa.Array | None = None,
    language: pa.Array | None = None,
) -> pa.Array:
    """Compact JSON text of each term (one string per row), built column-wise."""
    if len(value) == 0:
        return pa.array([], pa.string())
    return jsontext.concat_skip_nulls(*term_parts(value, kind, datatype, language))


@dataclass(frozen=True)
class _KindCodes:
    """The kinds present in a term column, and each row's index into them (``None``: one kind)."""

    names: list[str]
    codes: np.ndarray | None

    @staticmethod
    def of(kind: pa.Array, hint: pa.DictionaryArray | None) -> _KindCodes:
        encoded = hint if hint is not None else pc.dictionary_encode(kind)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        names = encoded.dictionary.to_pylist()
        if encoded.null_count or not set(names) <= set(_OPEN):
            raise ValueError(f"term kinds must be one of {sorted(_OPEN)}; found {names}")
        if len(names) == 1:
            return _KindCodes(names, None)
        return _KindCodes(names, encoded.indices.to_numpy(zero_copy_only=False))


def _glue(left: _KindCodes | None, const: str, right: _KindCodes | None, rows: int) -> Any:
    """The text between two term values: the left term's close, ``const``, the right term's
    open. Both depend on the terms' kinds, so the glue is a constant when each side has one
    kind, else a column taken from the few combinations; either way one part of the join."""
    lnames = left.names if left is not None else [""]
    rnames = right.names if right is not None else [""]
    table = [
        (_CLOSE[a] + "}" if left is not None else "") + const + (_OPEN[b] if right is not None else "")
        for a in lnames
        for b in rnames
    ]
    if len(set(table)) == 1:
        return table[0]
    index = np.zeros(rows, dtype=np.int32)
    if left is not None and left.codes is not None:
        index += left.codes.astype(np.int32) * len(rnames)
    if right is not None and right.codes is not None:
        index += right.codes.astype(np.int32)
    return pa.array(table, pa.string()).take(pa.array(index))


def _triple_rows(
    batch: pa.RecordBatch,
    trailer: str,
    hints: EncodingHints,
    plan: Callable[[np.ndarray], Mapping[int, str]] | None = None,
) -> pa.Array:
    """Each triple's JSON, followed by ``trailer``, in one join of seven parts.

    ``plan``, given an upper bound of each row's size in bytes, names the rows to be
    followed by another text instead (message ends: :func:`_contiguous_messages`).

    The join kernel costs the same for every part on every row, constants included, so the
    text between values is one part (:func:`_glue`), and what follows the object value
    (datatype, language, graph, a different trailer: absent from most rows) is one nullable
    part built for the rows that have any of it; the others get the common ending as the
    join's null replacement.
    """
    col = batch.column
    n = batch.num_rows
    codes = {pos: _KindCodes.of(col(pos + "_type"), hints.kinds.get(pos + "_type")) for pos in ("s", "p", "o")}
    text: dict[str, pa.Array] = {}
    for pos in ("s", "p", "o"):
        value = col(pos)
        if value.null_count:
            raise ValueError(f"column {pos!r} has nulls; conform the batch first")
        if pos in hints.plain or codes[pos].names == [TRIPLE]:
            text[pos] = value  # quoted-triple JSON goes in as is; plain values need no escaping
        else:
            text[pos] = jsontext.escape(value)
            if TRIPLE in codes[pos].names:
                text[pos] = pc.if_else(pc.equal(col(pos + "_type"), TRIPLE), value, text[pos])
    ending = _glue(codes["o"], "}" + trailer, None, n)
    parts = jsontext.merged(
        [
            _glue(None, '{"s":', codes["s"], n),
            text["s"],
            _glue(codes["s"], ',"p":', codes["p"], n),
            text["p"],
            _glue(codes["p"], ',"o":', codes["o"], n),
            text["o"],
            ending,
        ]
    )
    ends = plan(_size_bound(batch, parts)) if plan is not None else {}
    tail = _uncommon_endings(batch, codes["o"], trailer, ends)
    if tail is None:
        tail = ending
    elif not isinstance(ending, str):
        tail = pc.coalesce(tail, ending)
    common = ending if isinstance(ending, str) else ""
    return pc.binary_join_element_wise(*parts[:-1], tail, "", null_handling="replace", null_replacement=common)


def _offsets(values: pa.Array) -> np.ndarray:
    """Where each string of ``values`` starts in its text, from 0 (the last entry: the end):
    read from the offsets buffer, no pass over the text."""
    width = np.int64 if values.type == pa.large_string() else np.int32
    _validity, offsets, _data = values.buffers()
    out = np.frombuffer(offsets, dtype=width, count=len(values) + 1, offset=values.offset * np.dtype(width).itemsize)
    return out.astype(np.int64) - int(out[0])


def _size_bound(batch: pa.RecordBatch, parts: list[Any]) -> np.ndarray:
    """Bytes up to each row (``n + 1`` running totals), or more: the parts' lengths, read
    from their offsets, and what a datatype, language or graph may add (six bytes a byte,
    the most JSON escaping makes of one)."""
    rows = np.arange(batch.num_rows + 1, dtype=np.int64)
    total = np.zeros(batch.num_rows + 1, dtype=np.int64)
    for part in parts:
        total += rows * len(part.encode()) if isinstance(part, str) else _offsets(part)
    for name, key, _bit in _EXTRAS:
        column = batch.column(name)
        if column.null_count < len(column):
            total += _offsets(column) * 6 + rows * (len(key) + 1)
    return total


def message_bounds(total: np.ndarray, rows_per_message: int, max_bytes: int | None) -> list[int]:
    """Where messages start (and, last, where the rows end): at most ``rows_per_message``
    rows each and, as rows allow, at most ``max_bytes`` bytes. ``total[i]`` is the bytes of
    the rows before row ``i``. A row larger than ``max_bytes`` makes a message of its own."""
    n = len(total) - 1
    fixed = list(range(0, n, rows_per_message)) + [n]
    if max_bytes is None or n == 0:
        return fixed
    if int(np.max(total[fixed[1:]] - total[fixed[:-1]])) <= max_bytes:
        return fixed  # the usual case: the row count is the tighter limit
    bounds, start = [], 0
    while start < n:
        bounds.append(start)
        fits = int(np.searchsorted(total, total[start] + max_bytes, side="right")) - 1
        start = max(start + 1, min(fits, start + rows_per_message, n))
    return bounds + [n]


_EXTRAS = (("o_datatype", ',"dt":"', 1), ("o_language", ',"ln":"', 2), ("g", ',"g":"', 4))


def _uncommon_endings(
    batch: pa.RecordBatch, o_codes: _KindCodes, trailer: str, ends: Mapping[int, str]
) -> pa.Array | None:
    """What follows the object's value on rows that have more than the common ending: a
    datatype, a language, a graph, or a trailer of their own (``ends``); null on other rows.

    Rows are grouped by which of those they have, so each group is one join with no null
    parts, over that group's rows only; the groups are then put back in row order.
    """
    n = batch.num_rows
    pattern = np.zeros(n, dtype=np.int8)
    for name, _key, bit in _EXTRAS:
        column = batch.column(name)
        if column.null_count < n:
            pattern |= pc.is_valid(column).to_numpy(zero_copy_only=False).astype(np.int8) * bit
    texts = [trailer, *sorted(set(ends.values()))]
    which_trailer = np.zeros(n, dtype=np.int8)
    if ends:
        end_rows = np.fromiter(ends, dtype=np.int64, count=len(ends))
        which_trailer[end_rows] = [texts.index(ends[r]) for r in ends]
        pattern[end_rows] |= 8
    closes = [_CLOSE[k] for k in o_codes.names]
    groups, order = [], []
    for code in np.unique(pattern[pattern > 0]):
        rows = np.flatnonzero(pattern == code)
        take = pa.array(rows)
        close: Any = closes[0]
        if len(set(closes)) > 1 and o_codes.codes is not None:  # quoted triples among the objects
            close = pa.array(closes, pa.string()).take(pa.array(o_codes.codes[rows]))
        parts: list[Any] = [close]
        for name, key, bit in _EXTRAS:
            if name == "g":
                parts.append("}")
            if code & bit:
                parts += [key, jsontext.escape(batch.column(name).take(take)), '"']
        ending = which_trailer[rows]
        parts += ["}", trailer if not ending.any() else pa.array(texts, pa.string()).take(pa.array(ending))]
        groups.append(jsontext.concat(*parts))
        order.append(rows)
    if not groups:
        return None
    where = np.full(n, -1, dtype=np.int64)
    where[np.concatenate(order)] = np.arange(sum(len(r) for r in order))
    joined = pa.concat_arrays(groups) if len(groups) > 1 else groups[0]
    return joined.take(pa.array(where, mask=where < 0))  # null where nothing is uncommon


def _vector_fragments(vectors: pa.Array) -> pa.Array:
    """JSON array text of each vector: the shortest text that reads back as the same float32.

    orjson writes a whole (rows, dim) float32 matrix at ~30 ns a value (Arrow's float-to-string
    cast takes ~80); the rows are then cut out of that one text by the positions of ``[``,
    which no number contains.
    """
    if isinstance(vectors, pa.ChunkedArray):
        vectors = vectors.combine_chunks()
    n, dim = len(vectors), vectors.type.list_size
    if n == 0:
        return pa.array([], pa.string())
    matrix = np.asarray(vectors.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(n, dim)
    text = orjson.dumps(matrix, option=orjson.OPT_SERIALIZE_NUMPY)  # b"[[..],[..],...]"
    opens = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == ord("["))[1:]
    offsets = np.append(opens, len(text) - 1).astype(np.int32)
    rows = pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(text))
    return pc.utf8_rtrim(rows, characters=",")  # each row but the last ends with the separator


def row_fragments(kind: Kind, batch: pa.RecordBatch, trailer: str = "", hints: EncodingHints = NO_HINTS) -> pa.Array:
    """One JSON object per row of a canonical batch (each followed by ``trailer``)."""
    if batch.num_rows == 0:
        return pa.array([], pa.string())
    col = batch.column
    if kind == "triples":
        return _triple_rows(batch, trailer, hints)
    if kind == "graph-embeddings":
        e = term_fragments(col("entity"), col("entity_type"))
        return jsontext.concat('{"entity":', e, ',"vector":', _vector_fragments(col("vector")), "}", trailer)
    if kind == "entity-contexts":
        e = term_fragments(col("entity"), col("entity_type"))
        return jsontext.concat('{"entity":', e, ',"context":', jsontext.quoted(col("context")), "}", trailer)
    if kind == "document-embeddings":
        return jsontext.concat(
            '{"chunk_id":',
            jsontext.quoted(col("chunk_id")),
            ',"vector":',
            _vector_fragments(col("vector")),
            "}",
            trailer,
        )
    if kind == "rows":
        fields = [n for n in batch.schema.names if n != schemas.ROWS_SCHEMA_NAME]
        parts: list[Any] = []
        for i, name in enumerate(fields):
            key = ("," if i else "") + json.dumps(name, ensure_ascii=False) + ":"
            parts.append(jsontext.concat(key, jsontext.quoted(col(name))))
        if not parts:
            return pa.array(["{}" + trailer] * batch.num_rows, pa.string())
        # A null field is omitted; a leading comma left by an omitted first field is trimmed.
        body = jsontext.concat_skip_nulls(*parts)
        body = pc.replace_substring_regex(body, "^,", "")
        return jsontext.concat("{", body, "}", trailer)
    raise ValueError(f"unknown kind {kind!r}")


_ITEMS_KEY = {
    "triples": "triples",
    "graph-embeddings": "entities",
    "entity-contexts": "entities",
    "document-embeddings": "chunks",
}
# The import dispatchers keep metadata.root for these kinds only (docs/protocol.md 8.2).
_HAS_ROOT = {"triples", "document-embeddings"}


def _head(kind: Kind, batch: pa.RecordBatch, metadata: Metadata) -> str:
    if kind == "rows":
        names = batch.column(schemas.ROWS_SCHEMA_NAME).unique()
        if len(names) != 1:
            raise ValueError("a rows message carries one schema_name; split the batch first")
        return _head_text(kind, metadata, json.dumps(names[0].as_py(), ensure_ascii=False))
    return _head_text(kind, metadata)


def _head_text(kind: Kind, metadata: Metadata, schema_name: str = "") -> str:
    """A message's text before its first item; ``schema_name`` is the JSON text of a rows
    message's schema name (empty for :class:`FrameLimit`, which counts it per row)."""
    meta = metadata.json(kind in _HAS_ROOT)
    if kind == "rows":
        return '{"metadata":' + meta + ',"schema_name":' + schema_name + ',"values":['
    return '{"metadata":' + meta + ',"' + _ITEMS_KEY[kind] + '":['


# The real gateway (aiohttp, ``max_msg_size=52428800``) closes an import socket with code 1009
# on a frame of this many bytes or more (aiohttp 3.14 refuses ``>=``); the local gateway does
# the same. ``tg_connect.transport.connect.MAX_FRAME`` is the same number.
GATEWAY_MAX_FRAME = 50 * 1024 * 1024


@dataclass(frozen=True)
class FrameLimit:
    """The gateway's frame limit, and the bytes of one message besides its rows.

    A message must be smaller than ``max_bytes``. A row whose message alone (``overhead``
    plus :func:`single_row_sizes`) would not be cannot be sent at all: the conformer rejects
    it (see :meth:`tg_connect.protocol.conform.Conformer.conform`).
    """

    max_bytes: int = GATEWAY_MAX_FRAME
    overhead: int = 0

    @classmethod
    def of(cls, kind: Kind, metadata: Metadata, max_bytes: int = GATEWAY_MAX_FRAME) -> FrameLimit:
        """The limit for ``kind``'s messages carrying ``metadata``."""
        return cls(max_bytes, len(_head_text(kind, metadata).encode()) + len(b"]}"))


def single_row_sizes(kind: Kind, batch: pa.RecordBatch) -> np.ndarray:
    """The exact bytes each row of a canonical batch adds to a message of its own: its JSON
    item and, for rows, the JSON text of its schema name (which goes in the message head).

    It encodes the rows, so it is for the few rows a cheap bound could not clear.
    """
    if batch.num_rows == 0:
        return np.zeros(0, dtype=np.int64)
    sizes = np.diff(_offsets(_as_string(row_fragments(kind, batch))))
    if kind == "rows":
        names = batch.column(schemas.ROWS_SCHEMA_NAME).to_pylist()
        sizes += np.array([len(json.dumps(n, ensure_ascii=False).encode()) for n in names], dtype=np.int64)
    return sizes


def _as_string(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values if values.type == pa.string() else values.cast(pa.string())


def encode_messages(
    kind: Kind,
    batch: pa.RecordBatch,
    metadata: Metadata,
    rows_per_message: int,
    hints: EncodingHints = NO_HINTS,
    max_bytes: int | None = None,
) -> Iterator[tuple[FrameData, int, int]]:
    """Bulk import frames for ``batch``: ``(frame, first_row, stop_row)``, in row order.

    A frame is UTF-8 JSON text, as ``bytes`` or a ``memoryview`` of a larger buffer. It
    carries at most ``rows_per_message`` rows and, unless one row alone is larger, at most
    ``max_bytes`` bytes.

    The rows are encoded once for the whole batch, each followed by a comma; each message is
    then a slice of that one buffer, so the cost per message is a memory copy.
    """
    if batch.num_rows == 0:
        return
    head = _head(kind, batch, metadata).encode()
    if kind == "triples":
        yield from _contiguous_messages(batch, head, rows_per_message, max_bytes, hints)
        return
    tail = b"]}"
    rows = row_fragments(kind, batch, ",", hints)
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    if rows.type != pa.string():
        rows = rows.cast(pa.string())
    _validity, offsets_buf, data = rows.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32, count=len(rows) + 1, offset=rows.offset * 4)
    view = memoryview(data) if data is not None else memoryview(b"")
    budget = None if max_bytes is None else max_bytes - len(head) - len(tail)
    bounds = message_bounds(offsets.astype(np.int64) - int(offsets[0]), rows_per_message, budget)
    for start, stop in zip(bounds, bounds[1:], strict=False):
        body = view[offsets[start] : offsets[stop] - 1]  # drop the last row's comma
        yield b"".join((head, body, tail)), start, stop


def _contiguous_messages(
    batch: pa.RecordBatch, head: bytes, rows_per_message: int, max_bytes: int | None, hints: EncodingHints
) -> Iterator[tuple[FrameData, int, int]]:
    """Triples messages laid out end to end in one buffer: a message's last row is followed
    by ``]}`` and the next message's head, so every message but the first is a view of that
    buffer, with no copy and no new allocation per message (both cost more than the
    encoding on a loaded machine). The views keep the buffer alive until they are sent."""
    n = batch.num_rows
    closing = "]}" + head.decode()
    bounds: list[int] = []

    def plan(sizes: np.ndarray) -> dict[int, str]:
        budget = None if max_bytes is None else max_bytes - len(head) - 2
        bounds.extend(message_bounds(sizes, rows_per_message, budget))
        ends = {stop - 1: closing for stop in bounds[1:]}
        ends[n - 1] = "]}"
        return ends

    rows = _triple_rows(batch, ",", hints, plan)
    _validity, offsets_buf, data = rows.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32, count=n + 1, offset=rows.offset * 4)
    view = memoryview(data)
    for start, stop in zip(bounds, bounds[1:], strict=False):
        end = offsets[stop] - (len(head) if stop < n else 0)  # the next message's head is not ours
        if start == 0:
            yield b"".join((head, view[offsets[0] : end])), start, stop
        else:
            yield view[offsets[start] - len(head) : end], start, stop


def encode_message(kind: Kind, batch: pa.RecordBatch, metadata: Metadata) -> bytes:
    """One bulk import frame (UTF-8 JSON) carrying every row of ``batch``."""
    if batch.num_rows == 0:
        return _head(kind, batch, metadata).encode() + b"]}"
    return bytes(next(encode_messages(kind, batch, metadata, batch.num_rows))[0])


def split_for_messages(kind: Kind, batch: pa.RecordBatch) -> list[pa.RecordBatch]:
    """Rows messages carry one schema each: split a rows batch by ``schema_name``; others whole."""
    if kind != "rows" or batch.num_rows == 0:
        return [batch]
    names = batch.column(schemas.ROWS_SCHEMA_NAME)
    out = []
    for name in names.unique().to_pylist():
        part = batch.filter(pc.equal(names, name))
        keep = [
            c for c in part.schema.names if c == schemas.ROWS_SCHEMA_NAME or part.column(c).null_count < part.num_rows
        ]
        out.append(part.select(keep))
    return out


# -- decoding ---------------------------------------------------------------------------


def triples_from_wire(items: Iterable[Mapping[str, Any]]) -> pa.RecordBatch:
    """Canonical triples batch from wire triples (query results, export frames, cores)."""
    cols: dict[str, list[Any]] = {name: [] for name in schemas.TRIPLES.names}
    for i, t in enumerate(items):
        try:
            for pos in ("s", "p", "o"):
                kind, value, dt, ln = term_from_wire(t[pos])
                cols[pos].append(value)
                cols[pos + "_type"].append(kind)
                if pos == "o":
                    cols["o_datatype"].append(dt)
                    cols["o_language"].append(ln)
                elif dt or ln:
                    raise ValueError(f"a literal with datatype or language in position {pos!r}")
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"triple {i} from the gateway is malformed: {exc!r}") from None
        cols["g"].append(t.get("g") or None)
    return pa.RecordBatch.from_pydict(cols, schema=schemas.TRIPLES)


def _entities_columns(items: Sequence[Mapping[str, Any]], key: str) -> tuple[list[str], list[str]]:
    values: list[str] = []
    kinds: list[str] = []
    for item in items:
        kind, value, _dt, _ln = term_from_wire(item[key])
        values.append(value)
        kinds.append(kind)
    return values, kinds


def _vectors(items: Sequence[Mapping[str, Any]], key: str, dim: int | None) -> pa.Array:
    flat: list[float] = []
    for item in items:
        v = item[key]
        if dim is None:
            dim = len(v)
        if len(v) != dim:
            raise ValueError(f"vector of length {len(v)} where {dim} was expected")
        flat.extend(v)
    # JSON may carry integers (1 for 1.0); read as float64, then narrow to the schema's float32.
    values = pc.cast(pa.array(flat, pa.float64()), pa.float32(), safe=False)
    return pa.FixedSizeListArray.from_arrays(values, dim or 0)


def graph_embeddings_from_wire(
    items: Sequence[Mapping[str, Any]], entity_key: str = "entity", vector_key: str = "vector"
) -> pa.RecordBatch:
    values, kinds = _entities_columns(items, entity_key)
    vectors = _vectors(items, vector_key, None)
    schema = schemas.graph_embeddings_schema(vectors.type.list_size)
    return pa.RecordBatch.from_arrays(
        [pa.array(values, pa.string()), pa.array(kinds, pa.string()), vectors], schema=schema
    )


def document_embeddings_from_wire(items: Sequence[Mapping[str, Any]]) -> pa.RecordBatch:
    ids = [item["chunk_id"] for item in items]
    vectors = _vectors(items, "vector", None)
    schema = schemas.document_embeddings_schema(vectors.type.list_size)
    return pa.RecordBatch.from_arrays([pa.array(ids, pa.string()), vectors], schema=schema)


def entity_contexts_from_wire(items: Sequence[Mapping[str, Any]]) -> pa.RecordBatch:
    values, kinds = _entities_columns(items, "entity")
    contexts = [item.get("context") for item in items]
    return pa.RecordBatch.from_arrays(
        [pa.array(values, pa.string()), pa.array(kinds, pa.string()), pa.array(contexts, pa.string())],
        schema=schemas.ENTITY_CONTEXTS,
    )


def decode_export_frame(kind: Kind, frame: Mapping[str, Any]) -> pa.RecordBatch:
    """Canonical batch from one export-socket frame (docs/protocol.md 8.5)."""
    if kind not in _ITEMS_KEY:
        raise ValueError(f"the gateway has no export socket for {kind!r}")
    if kind == "triples":
        return triples_from_wire(frame.get("triples") or [])
    items = frame.get(_ITEMS_KEY[kind]) or []
    if kind == "graph-embeddings":
        return graph_embeddings_from_wire(items)
    if kind == "document-embeddings":
        return document_embeddings_from_wire(items)
    return entity_contexts_from_wire(items)


def triple_to_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    """One canonical triples row (as a dict) in wire form; for single values, not bulk paths."""
    wire: dict[str, Any] = {
        "s": term_to_wire(row["s_type"], row["s"]),
        "p": term_to_wire(row["p_type"], row["p"]),
        "o": term_to_wire(row["o_type"], row["o"], row.get("o_datatype"), row.get("o_language")),
    }
    if row.get("g"):
        wire["g"] = row["g"]
    return wire
