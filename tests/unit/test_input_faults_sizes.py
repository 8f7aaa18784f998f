"""The size a row's message alone would have, as the conformer computes it to reject rows too
large for the gateway, is exactly the size of that message as encoded; and the cheap bound
the conformer screens with is never below it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tg_connect.protocol import messages, schemas
from tg_connect.protocol.conform import Conformer

from .strategies import any_text, wire_triples

META = messages.Metadata("doc-ü", 'coll "x"', "doc-ü")


@settings(max_examples=100)
@given(st.lists(wire_triples(), min_size=1, max_size=8))
def test_single_row_sizes_are_the_sizes_of_one_row_messages(triples: list[dict]) -> None:
    batch = messages.triples_from_wire(triples)
    limit = messages.FrameLimit.of("triples", META)
    sizes = messages.single_row_sizes("triples", batch) + limit.overhead
    actual = [len(messages.encode_message("triples", batch.slice(i, 1), META)) for i in range(batch.num_rows)]
    assert sizes.tolist() == actual


@settings(max_examples=60)
@given(st.lists(st.tuples(any_text, any_text), min_size=1, max_size=8))
def test_single_row_sizes_of_other_kinds(pairs: list[tuple[str, str]]) -> None:
    n = len(pairs)
    batches = {
        "entity-contexts": pa.record_batch(
            [pa.array([a for a, _ in pairs]), pa.array(["literal"] * n), pa.array([b for _, b in pairs])],
            schema=schemas.ENTITY_CONTEXTS,
        ),
        "document-embeddings": pa.record_batch(
            [
                pa.array([a for a, _ in pairs]),
                pa.FixedSizeListArray.from_arrays(pa.array(np.linspace(-3e38, 3e38, 3 * n), pa.float32()), 3),
            ],
            schema=schemas.document_embeddings_schema(3),
        ),
        "rows": pa.record_batch({"schema_name": [a for a, _ in pairs], 'field "f"': [b for _, b in pairs]}),
    }
    for kind, batch in batches.items():
        limit = messages.FrameLimit.of(kind, META)  # type: ignore[arg-type]
        sizes = messages.single_row_sizes(kind, batch) + limit.overhead  # type: ignore[arg-type]
        actual = [
            len(messages.encode_message(kind, batch.slice(i, 1), META))  # type: ignore[arg-type]
            for i in range(n)
        ]
        assert sizes.tolist() == actual, kind


@settings(max_examples=60)
@given(st.lists(wire_triples(), min_size=1, max_size=8), st.integers(0, 200))
def test_the_conformer_rejects_exactly_the_rows_over_the_limit(triples: list[dict], slack: int) -> None:
    """With the limit set just above or below a row's true size, the rows rejected as too
    large are exactly those whose one-row message is not smaller than the limit."""
    batch = messages.triples_from_wire(triples)
    limit = messages.FrameLimit.of("triples", META)
    actual = [len(messages.encode_message("triples", batch.slice(i, 1), META)) for i in range(batch.num_rows)]
    max_bytes = sorted(actual)[len(actual) // 2] + 1 - slack % 3  # around the median row
    out = Conformer("triples", on_error="skip").conform(
        batch, frame_limit=messages.FrameLimit(max_bytes, limit.overhead)
    )
    too_large = [r.row for r in out.rejections if r.reason.startswith("too large")]
    other = {r.row for r in out.rejections} - set(too_large)
    assert too_large == [i for i, size in enumerate(actual) if size >= max_bytes and i not in other]
