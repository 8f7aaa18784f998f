"""Property tests: any text and any float32 survive the tabular formats exactly."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tg_connect.protocol import schemas
from tg_connect.readers.csv import parse_vector_text
from tg_connect.writers import write
from tg_connect.writers.text import json_arrays, json_strings

from ..conftest import HYPOTHESIS_SUPPRESSED
from .helpers import read_path

any_text = st.text(st.characters(codec="utf-8"), max_size=40)
optional_text = st.one_of(st.none(), any_text)
float32s = st.floats(width=32, allow_nan=False, allow_infinity=False)
SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[*HYPOTHESIS_SUPPRESSED, HealthCheck.function_scoped_fixture]
)


@given(values=st.lists(optional_text, max_size=30))
@SETTINGS
def test_json_strings_are_what_json_loads_reads(values: list[str | None]) -> None:
    encoded = json_strings(pa.array(values, pa.string())).to_pylist()
    assert [None if e is None else json.loads(e) for e in encoded] == values


@given(vectors=st.lists(st.one_of(st.none(), st.lists(float32s, max_size=6)), max_size=20))
@SETTINGS
def test_vector_text_round_trips_float32_exactly(vectors: list[list[float] | None]) -> None:
    arr = pa.array(vectors, pa.list_(pa.float32()))
    text = json_arrays(arr, "vector", non_finite="tokens")
    # The shortest text that reads back as the same float32 (not as the same float64).
    as_float32 = [None if t is None else [float(np.float32(x)) for x in json.loads(t)] for t in text.to_pylist()]
    assert as_float32 == arr.to_pylist()
    parsed, bad = parse_vector_text(text)
    assert bad is None
    assert parsed.to_pylist() == arr.to_pylist()


@given(
    rows=st.lists(st.tuples(optional_text, optional_text, optional_text), min_size=1, max_size=30),
    suffix=st.sampled_from(["csv", "tsv", "jsonl", "parquet"]),
)
@SETTINGS
def test_any_text_and_nulls_round_trip_through_tabular_files(tmp_path: Path, rows: list[tuple], suffix: str) -> None:
    table = pa.table(
        {"s": [r[0] for r in rows], "p": [r[1] for r in rows], "o": [r[2] for r in rows]},
        schema=pa.schema([("s", pa.string()), ("p", pa.string()), ("o", pa.string())]),
    )
    path = tmp_path / f"t.{suffix}"
    write(table.to_reader(), path)
    back = read_path(path, batch_size=8)
    if suffix == "jsonl":  # a triples-shaped JSON file gets every column of the kind (null if absent)
        assert back.column_names == schemas.TRIPLES.names
        assert all(back.column(n).null_count == len(rows) for n in back.column_names if n not in ("s", "p", "o"))
        back = back.select(["s", "p", "o"])
    assert back.equals(table)


@given(
    vectors=st.lists(st.lists(st.floats(width=32), min_size=3, max_size=3), min_size=1, max_size=20),
    suffix=st.sampled_from(["csv", "jsonl"]),
)
@SETTINGS
def test_vectors_round_trip_through_text_files(tmp_path: Path, vectors: list[list[float]], suffix: str) -> None:
    """Finite values exactly; JSON has no NaN/infinity (written as null), CSV keeps them."""
    table = pa.table(
        {
            "chunk_id": [str(i) for i in range(len(vectors))],
            "vector": pa.FixedSizeListArray.from_arrays(pa.array([x for v in vectors for x in v], pa.float32()), 3),
        },
        schema=schemas.document_embeddings_schema(3),
    )
    path = tmp_path / f"v.{suffix}"
    write(table.to_reader(), path, kind="document-embeddings")
    back = read_path(path, kind="document-embeddings").column("vector").to_pylist()
    for got, want in zip(back, table.column("vector").to_pylist(), strict=True):
        for g, w in zip(got, want, strict=True):
            if math.isfinite(w):
                assert g == w
            elif suffix == "jsonl":
                assert g is None
            else:
                assert (math.isnan(g) and math.isnan(w)) or g == w
