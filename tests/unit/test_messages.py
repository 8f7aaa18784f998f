"""Bulk message encoding: vectorised Arrow -> JSON frames, and frames -> Arrow, losslessly."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tg_connect.protocol import messages, schemas
from tg_connect.protocol.messages import Metadata
from tg_connect.protocol.terms import term_from_wire, term_to_wire

from .strategies import any_text, wire_triples
from .test_terms import canonical

META = Metadata("doc-1", "coll", "doc-1")


def canonical_triple(t: dict) -> dict:
    out = {k: canonical(t[k]) for k in ("s", "p", "o")}
    if t.get("g"):
        out["g"] = t["g"]
    return out


@settings(max_examples=150)
@given(st.lists(wire_triples(), min_size=0, max_size=12))
def test_triples_round_trip_through_a_frame(triples: list[dict]) -> None:
    batch = messages.triples_from_wire(triples)
    frame = messages.encode_message("triples", batch, META)
    decoded = json.loads(frame)  # the frame is valid JSON, whatever the text held
    assert decoded["metadata"] == {"id": "doc-1", "root": "doc-1", "collection": "coll"}
    assert decoded["triples"] == [canonical_triple(t) for t in triples]
    assert messages.triples_from_wire(decoded["triples"]).equals(batch)


@given(st.lists(any_text, min_size=1, max_size=20))
def test_term_fragments_match_the_reference_encoder(values: list[str]) -> None:
    arr = pa.array(values, pa.string())
    for kind in ("iri", "blank", "literal"):
        frags = messages.term_fragments(arr, pa.array([kind] * len(values)))
        assert [json.loads(f) for f in frags.to_pylist()] == [term_to_wire(kind, v) for v in values]


def test_mixed_kinds_in_one_column() -> None:
    arr = pa.array(
        ["http://a", "b0", "text", '{"o":{"t":"l","v":"x"},"p":{"i":"urn:p","t":"i"},"s":{"i":"urn:s","t":"i"}}']
    )
    kinds = pa.array(["iri", "blank", "literal", "triple"])
    dts = pa.array([None, None, "urn:dt", None], pa.string())
    lns = pa.array([None, None, None, None], pa.string())
    frags = [json.loads(f) for f in messages.term_fragments(arr, kinds, dts, lns).to_pylist()]
    assert frags[0] == {"t": "i", "i": "http://a"}
    assert frags[1] == {"t": "b", "d": "b0"}
    assert frags[2] == {"t": "l", "v": "text", "dt": "urn:dt"}
    assert term_from_wire(frags[3])[0] == "triple"


@settings(max_examples=50)
@given(
    st.lists(
        st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=4, max_size=4),
        min_size=1,
        max_size=10,
    )
)
def test_graph_embeddings_float32_exact(vectors: list[list[float]]) -> None:
    n = len(vectors)
    batch = pa.record_batch(
        [
            pa.array([f"http://e/{i}" for i in range(n)]),
            pa.array(["iri"] * n),
            pa.array(vectors, schemas.vector_type(4)),
        ],
        schema=schemas.graph_embeddings_schema(4),
    )
    frame = json.loads(messages.encode_message("graph-embeddings", batch, META))
    assert "root" not in frame["metadata"]
    back = messages.graph_embeddings_from_wire(frame["entities"])
    assert back.equals(batch)
    for sent, got in zip(vectors, frame["entities"], strict=True):
        assert [np.float32(x) for x in got["vector"]] == [np.float32(x) for x in sent]


def test_document_embeddings_and_entity_contexts_frames() -> None:
    de = pa.record_batch(
        [pa.array(["c1", 'c"2']), pa.array([[1.0, 0.5], [0.25, -2.0]], schemas.vector_type(2))],
        schema=schemas.document_embeddings_schema(2),
    )
    frame = json.loads(messages.encode_message("document-embeddings", de, META))
    assert frame == {
        "metadata": {"id": "doc-1", "root": "doc-1", "collection": "coll"},
        "chunks": [{"chunk_id": "c1", "vector": [1, 0.5]}, {"chunk_id": 'c"2', "vector": [0.25, -2]}],
    }
    assert messages.document_embeddings_from_wire(frame["chunks"]).equals(de)
    ec = pa.record_batch(
        [pa.array(["http://e"]), pa.array(["iri"]), pa.array(["ctx\n1"])], schema=schemas.ENTITY_CONTEXTS
    )
    frame = json.loads(messages.encode_message("entity-contexts", ec, META))
    assert frame["entities"] == [{"entity": {"t": "i", "i": "http://e"}, "context": "ctx\n1"}]
    assert messages.entity_contexts_from_wire(frame["entities"]).equals(ec)


def test_rows_frames_split_by_schema_and_omit_nulls() -> None:
    batch = pa.record_batch({"schema_name": ["a", "b", "a"], "x": ["1", None, None], "y": ["q", "r", None]})
    frames = [
        json.loads(messages.encode_message("rows", part, META)) for part in messages.split_for_messages("rows", batch)
    ]
    assert frames == [
        {"metadata": {"id": "doc-1", "collection": "coll"}, "schema_name": "a", "values": [{"x": "1", "y": "q"}, {}]},
        {"metadata": {"id": "doc-1", "collection": "coll"}, "schema_name": "b", "values": [{"y": "r"}]},
    ]


def test_empty_batch_gives_an_empty_message() -> None:
    batch = messages.triples_from_wire([])
    assert json.loads(messages.encode_message("triples", batch, META))["triples"] == []


def test_export_frame_decoding_rejects_rows() -> None:
    with pytest.raises(ValueError):
        messages.decode_export_frame("rows", {})


@settings(max_examples=80)
@given(
    st.lists(wire_triples(), min_size=1, max_size=30),
    st.integers(1, 8),
    st.integers(150, 3000),
    st.lists(st.integers(0, 2000), min_size=30, max_size=30),
)
def test_messages_keep_under_the_byte_cap(triples: list[dict], rows: int, cap: int, pads: list[int]) -> None:
    """Every message holds at most ``rows`` rows and ``cap`` bytes, unless one row alone is
    larger; together they carry every row once, in order."""
    for t, pad in zip(triples, pads, strict=False):
        if t["o"].get("t") == "l":
            t["o"]["v"] += '\\n\u00e9"' * (pad // 4)  # text that escaping makes longer
    batch = messages.triples_from_wire(triples)
    got, covered = [], []
    for frame, start, stop in messages.encode_messages("triples", batch, META, rows, max_bytes=cap):
        decoded = json.loads(bytes(frame))
        assert len(decoded["triples"]) == stop - start <= rows
        assert len(bytes(frame)) <= cap or stop - start == 1
        got += decoded["triples"]
        covered += list(range(start, stop))
    assert covered == list(range(len(triples)))
    assert got == [canonical_triple(t) for t in triples]


def test_byte_cap_for_every_kind() -> None:
    contexts = pa.RecordBatch.from_pydict(
        {
            "entity": [f"http://e/{i}" for i in range(50)],
            "entity_type": ["iri"] * 50,
            "context": ["x" * (i * 40) for i in range(50)],
        },
        schema=schemas.ENTITY_CONTEXTS,
    )
    frames = list(messages.encode_messages("entity-contexts", contexts, META, 20, max_bytes=4000))
    assert all(len(f) <= 4000 or stop - start == 1 for f, start, stop in frames)
    assert [r for _, a, b in frames for r in range(a, b)] == list(range(50))
    assert sum(len(json.loads(bytes(f))["entities"]) for f, _, _ in frames) == 50
    vectors = pa.RecordBatch.from_pydict(
        {"chunk_id": [f"c{i}" for i in range(40)], "vector": [[float(i)] * 64 for i in range(40)]},
        schema=schemas.document_embeddings_schema(64),
    )
    frames = list(messages.encode_messages("document-embeddings", vectors, META, 1000, max_bytes=2000))
    assert len(frames) > 1 and all(len(f) <= 2000 for f, _, _ in frames)
