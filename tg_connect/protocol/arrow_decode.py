"""Vectorised decoding of bulk frames into canonical batches.

Frames arrive as JSON text. Rather than ``json.loads`` and a Python loop per row, a block of
frames is handed to Arrow's JSON reader (C++, with an explicit schema) and the term columns
are assembled with compute kernels. Frames this path cannot express (quoted triples, unknown
term types) are decoded by the per-row functions in :mod:`.messages`, so results are the same.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from . import messages, schemas
from .schemas import Kind
from .terms import RDF_LANG_STRING, XSD_STRING

_TERM = pa.struct([(k, pa.string()) for k in ("t", "i", "v", "d", "dt", "ln")])
_TRIPLE = pa.struct([("s", _TERM), ("p", _TERM), ("o", _TERM), ("g", pa.string())])
_ENTITY = pa.struct([("entity", _TERM), ("vector", pa.list_(pa.float64())), ("context", pa.string())])
_CHUNK = pa.struct([("chunk_id", pa.string()), ("vector", pa.list_(pa.float64()))])
_FRAME_SCHEMAS: dict[str, pa.Schema] = {
    "triples": pa.schema([("triples", pa.list_(_TRIPLE))]),
    "graph-embeddings": pa.schema([("entities", pa.list_(_ENTITY))]),
    "entity-contexts": pa.schema([("entities", pa.list_(_ENTITY))]),
    "document-embeddings": pa.schema([("chunks", pa.list_(_CHUNK))]),
}
_ERROR = pa.struct([("type", pa.string()), ("message", pa.string())])
# ``/api/v1/socket`` response frames of a streaming triples query (docs/protocol.md 5.3, 6.5).
_QUERY_FRAME = pa.schema(
    [
        ("complete", pa.bool_()),
        ("error", _ERROR),
        ("response", pa.struct([("response", pa.list_(_TRIPLE)), ("error", _ERROR)])),
    ]
)
_CODES = pa.array(["i", "b", "l"])
_KIND_NAMES = pa.array(["iri", "blank", "literal"])
_IMPLICIT_DATATYPES = pa.array([XSD_STRING, RDF_LANG_STRING, ""])


_PARSE_THREADS = max(1, min(pa.cpu_count(), 8))


class _Fallback(Exception):
    """The block holds something only the per-row decoder handles."""


def _terms(term: pa.StructArray) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    code = term.field("t")
    index = pc.index_in(code, value_set=_CODES)
    if index.null_count:
        raise _Fallback  # a quoted triple, an unknown type, or a missing term
    kind = _KIND_NAMES.take(index)
    value = pc.case_when(
        pc.make_struct(pc.equal(code, "i"), pc.equal(code, "b"), field_names=["i", "b"]),
        term.field("i"),
        term.field("d"),
        term.field("v"),
    )
    if value.null_count:
        raise _Fallback
    is_literal = pc.equal(code, "l")
    language = pc.if_else(
        pc.and_(is_literal, pc.not_equal(pc.fill_null(term.field("ln"), ""), "")),
        term.field("ln"),
        pa.nulls(len(term), pa.string()),
    )
    datatype = term.field("dt")
    implicit = pc.or_(pc.is_in(pc.fill_null(datatype, ""), value_set=_IMPLICIT_DATATYPES), pc.is_valid(language))
    datatype = pc.if_else(pc.or_(implicit, pc.invert(is_literal)), pa.nulls(len(term), pa.string()), datatype)
    return value, kind, datatype, language


def _read(kind: str, frames: Sequence[bytes], schema: pa.Schema | None = None) -> pa.Table:
    options = pj.ParseOptions(
        explicit_schema=schema or _FRAME_SCHEMAS[kind], unexpected_field_behavior="ignore", newlines_in_values=False
    )
    body = b"\n".join(frames)
    # Arrow parses blocks in parallel: one block per core, each holding at least a whole frame.
    block = max(len(body) // _PARSE_THREADS + 1, max((len(f) for f in frames), default=0) + 1, 64 * 1024)
    return pj.read_json(io.BytesIO(body), parse_options=options, read_options=pj.ReadOptions(block_size=block))


def _triples(frames: Sequence[bytes]) -> pa.RecordBatch:
    return _triple_items(pc.list_flatten(_read("triples", frames).column("triples")).combine_chunks())


def _triple_items(items: pa.StructArray) -> pa.RecordBatch:
    if len(items) == 0:
        return pa.RecordBatch.from_pylist([], schema=schemas.TRIPLES)
    cols: dict[str, pa.Array] = {}
    for pos in ("s", "p", "o"):
        value, kind, datatype, language = _terms(items.field(pos))
        cols[pos], cols[pos + "_type"] = value, kind
        if pos == "o":
            cols["o_datatype"], cols["o_language"] = datatype, language
        elif pc.any(pc.is_valid(datatype)).as_py() or pc.any(pc.is_valid(language)).as_py():
            raise _Fallback  # the per-row decoder gives the precise error
    g = items.field("g")
    cols["g"] = pc.if_else(pc.equal(pc.fill_null(g, ""), ""), pa.nulls(len(g), pa.string()), g)
    return pa.RecordBatch.from_pydict(cols, schema=schemas.TRIPLES)


def _vectors(values: pa.Array, dim: int | None = None) -> pa.Array:
    lengths = pc.list_value_length(values)
    dim = dim if dim is not None else (int(lengths[0].as_py()) if len(values) else 0)
    if values.null_count or pc.any(pc.not_equal(lengths, dim)).as_py():
        raise _Fallback
    flat = pc.cast(pc.list_flatten(values), pa.float32(), safe=False)
    return pa.FixedSizeListArray.from_arrays(flat, dim)


def _entities(kind: Kind, frames: Sequence[bytes]) -> pa.RecordBatch:
    key = "chunks" if kind == "document-embeddings" else "entities"
    items = pc.list_flatten(_read(kind, frames).column(key)).combine_chunks()
    if kind == "document-embeddings":
        vectors = _vectors(items.field("vector"))
        return pa.RecordBatch.from_arrays(
            [items.field("chunk_id"), vectors], schema=schemas.document_embeddings_schema(vectors.type.list_size)
        )
    value, term_kind, _dt, _ln = _terms(items.field("entity"))
    if kind == "entity-contexts":
        return pa.RecordBatch.from_arrays([value, term_kind, items.field("context")], schema=schemas.ENTITY_CONTEXTS)
    vectors = _vectors(items.field("vector"))
    return pa.RecordBatch.from_arrays(
        [value, term_kind, vectors], schema=schemas.graph_embeddings_schema(vectors.type.list_size)
    )


def decode_wire_triples(items: Sequence[Any]) -> pa.RecordBatch:
    """Canonical triples from wire-form triples already parsed into Python objects (a
    knowledge core's msgpack): Arrow converts the objects in C++ and the terms are assembled
    with kernels. What that cannot express goes through the per-row decoder, which also names
    whatever is malformed."""
    try:
        return _triple_items(pa.array(items, type=_TRIPLE))
    except (_Fallback, pa.ArrowInvalid, pa.ArrowTypeError):
        return messages.triples_from_wire(items)


def decode_wire_entities(items: Sequence[Any], entity_key: str, vector_key: str) -> pa.RecordBatch:
    """Canonical graph embeddings from wire-form items already parsed into Python objects
    (a knowledge core's ``{"e": term, "v": vector}``), as :func:`decode_wire_triples` does."""
    try:
        parsed = pa.array(items, type=pa.struct([(entity_key, _TERM), (vector_key, pa.list_(pa.float64()))]))
        value, term_kind, _dt, _ln = _terms(parsed.field(entity_key))
        vectors = _vectors(parsed.field(vector_key))
        return pa.RecordBatch.from_arrays(
            [value, term_kind, vectors], schema=schemas.graph_embeddings_schema(vectors.type.list_size)
        )
    except (_Fallback, pa.ArrowInvalid, pa.ArrowTypeError):
        return messages.graph_embeddings_from_wire(items, entity_key, vector_key)


def decode_query_frames(frames: Sequence[bytes]) -> tuple[pa.RecordBatch, bool] | None:
    """Triples from a block of a streaming triples query's socket frames, and whether the
    block ends the stream; ``None`` when the block needs the per-frame path (an error frame,
    a quoted triple, anything unexpected), which also raises the gateway's error precisely."""
    try:
        table = _read("query", frames, _QUERY_FRAME)
        response = table.column("response").combine_chunks()
        if table.column("error").null_count < len(table) or response.field("error").null_count < len(table):
            return None
        items = pc.list_flatten(response.field("response"))
        batch = _triple_items(items) if len(items) else pa.RecordBatch.from_pylist([], schema=schemas.TRIPLES)
        return batch, bool(pc.any(pc.fill_null(table.column("complete"), False)).as_py())
    except (_Fallback, pa.ArrowInvalid):
        return None


def decode_frames(kind: Kind, frames: Sequence[bytes | str]) -> pa.RecordBatch:
    """One canonical batch from a block of export frames (the rows of all of them, in order)."""
    raw = [f.encode() if isinstance(f, str) else f for f in frames]
    if kind not in _FRAME_SCHEMAS:
        raise ValueError(f"the gateway has no export socket for {kind!r}")
    try:
        return _triples(raw) if kind == "triples" else _entities(kind, raw)
    except (_Fallback, pa.ArrowInvalid):
        return _row_by_row(kind, raw)  # also names what is malformed, if anything is


def _row_by_row(kind: Kind, raw: Sequence[bytes]) -> pa.RecordBatch:
    batches = [messages.decode_export_frame(kind, json.loads(f)) for f in raw]
    batches = [b for b in batches if b.num_rows]
    if not batches:
        return messages.decode_export_frame(kind, {})
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]
