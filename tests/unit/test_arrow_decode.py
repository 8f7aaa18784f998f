"""The vectorised frame decoder gives exactly what the per-row decoder gives."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tg_connect.protocol import arrow_decode, messages
from tg_connect.sample import sample_triples

from .strategies import wire_triples


def frame(triples: list[dict]) -> bytes:
    return json.dumps({"metadata": {"id": "d", "root": "", "collection": "c"}, "triples": triples}).encode()


def per_row(frames: list[bytes]) -> pa.Table:
    return pa.Table.from_batches([messages.decode_export_frame("triples", json.loads(f)) for f in frames])


@settings(max_examples=150)
@given(st.lists(st.lists(wire_triples(), max_size=6), min_size=1, max_size=4))
def test_triples_match_the_per_row_decoder(blocks: list[list[dict]]) -> None:
    frames = [frame(b) for b in blocks]
    assert pa.Table.from_batches([arrow_decode.decode_frames("triples", frames)]).equals(per_row(frames))


def test_fast_path_on_canonical_data() -> None:
    table = sample_triples(3000)
    meta = messages.Metadata("d", "c", "d")
    batch = table.combine_chunks().to_batches()[0]
    frames = [bytes(f) for f, _, _ in messages.encode_messages("triples", batch, meta, 700)]
    got = arrow_decode.decode_frames("triples", frames)
    assert pa.Table.from_batches([got]).equals(table.combine_chunks())


def test_embeddings_and_contexts() -> None:
    ge = [
        json.dumps({"metadata": {}, "entities": [{"vector": [1, 0.5], "entity": {"t": "i", "i": "http://e"}}]}).encode()
    ] * 2
    out = arrow_decode.decode_frames("graph-embeddings", ge)
    assert out.to_pylist() == [{"entity": "http://e", "entity_type": "iri", "vector": [1.0, 0.5]}] * 2
    de = [json.dumps({"metadata": {}, "chunks": [{"vector": [0.25], "chunk_id": "c1"}]}).encode()]
    assert arrow_decode.decode_frames("document-embeddings", de).to_pylist() == [{"chunk_id": "c1", "vector": [0.25]}]
    ec = [json.dumps({"metadata": {}, "entities": [{"context": "x\ny", "entity": {"t": "l", "v": "e"}}]}).encode()]
    assert arrow_decode.decode_frames("entity-contexts", ec).to_pylist() == [
        {"entity": "e", "entity_type": "literal", "context": "x\ny"}
    ]


def query_frame(triples: list[dict], complete: bool) -> bytes:
    return json.dumps({"id": "q", "response": {"response": triples}, "complete": complete}).encode()


@settings(max_examples=100)
@given(st.lists(st.lists(wire_triples(), max_size=5), min_size=1, max_size=4))
def test_query_frames_match_the_per_row_decoder(blocks: list[list[dict]]) -> None:
    frames = [query_frame(b, i == len(blocks) - 1) for i, b in enumerate(blocks)]
    decoded = arrow_decode.decode_query_frames(frames)
    want = pa.Table.from_batches([messages.triples_from_wire(t) for b in blocks for t in [b]])
    if decoded is None:  # quoted triples and the like take the per-frame path
        assert any(t["s"]["t"] == "t" or t["o"]["t"] == "t" or t["p"]["t"] != "i" for b in blocks for t in b)
        return
    batch, complete = decoded
    assert complete and pa.Table.from_batches([batch]).equals(want)


def test_query_error_frames_take_the_precise_path() -> None:
    err = json.dumps(
        {"id": "q", "response": {"response": [], "error": {"type": "x", "message": "m"}}, "complete": True}
    ).encode()
    assert arrow_decode.decode_query_frames([query_frame([], False), err]) is None
    top = json.dumps({"id": "q", "error": {"type": "error", "message": "Invalid flow"}, "complete": True}).encode()
    assert arrow_decode.decode_query_frames([top]) is None
    assert arrow_decode.decode_query_frames([query_frame([], True)])[1] is True  # type: ignore[index]


@settings(max_examples=150)
@given(st.lists(wire_triples(), min_size=0, max_size=15))
def test_knowledge_core_triples_decode_as_the_per_row_decoder_does(triples: list[dict]) -> None:
    """Core items arrive as Python objects (msgpack): the vectorised decoder gives exactly
    what the per-row one gives, quoted triples and all."""
    assert arrow_decode.decode_wire_triples(triples).equals(messages.triples_from_wire(triples))


def test_knowledge_core_entities_and_malformed_items() -> None:
    items = [{"e": {"t": "i", "i": "http://e/1"}, "v": [1, 0.5]}, {"e": {"t": "l", "v": "x"}, "v": [0.25, 2.0]}]
    got = arrow_decode.decode_wire_entities(items, "e", "v")
    assert got.equals(messages.graph_embeddings_from_wire(items, "e", "v"))
    assert got.to_pylist()[1] == {"entity": "x", "entity_type": "literal", "vector": [0.25, 2.0]}
    with pytest.raises(ValueError, match="triple 1"):
        arrow_decode.decode_wire_triples(
            [
                {"s": {"t": "i", "i": "a"}, "p": {"t": "i", "i": "p"}, "o": {"t": "l", "v": "x"}},
                {"s": {"t": "i", "i": 5}},
            ]
        )
    with pytest.raises(ValueError, match="length"):
        arrow_decode.decode_wire_entities(
            [{"e": {"t": "i", "i": "a"}, "v": [1.0]}, {"e": {"t": "i", "i": "b"}, "v": [1.0, 2.0]}], "e", "v"
        )
