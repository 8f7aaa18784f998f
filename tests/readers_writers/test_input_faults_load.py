"""Input faults keep valid rows, through a whole load: each case goes through
``tg_connect.to_trustgraph`` to the in-process local gateway over real sockets, and what was
stored is read back. Bad rows are rejected (``on_error="skip"``) or stop the load with an
InputError naming where they are (``"raise"``), and every good row is stored either way
(every row before the bad one, with "raise")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import tg_connect
from tg_connect.errors import InputError
from tg_connect.protocol import schemas


def load(gw: Any, data: Any, collection: str, kind: str = "triples", **kw: Any) -> tg_connect.LoadReport:
    return tg_connect.to_trustgraph(data, kind, url=gw.url, collection=collection, progress=False, **kw)


def stored_subjects(gw: Any, collection: str) -> list[str]:
    back = tg_connect.read_trustgraph("triples", url=gw.url, collection=collection)
    return sorted(back["s"].tolist())


def spo_line(i: int) -> str:
    return json.dumps({"s": f"http://a/{i}", "p": "http://p", "o": f"value {i}"})


def test_jsonl_with_one_malformed_line_among_thousands(local_gateway: Any, tmp_path: Path, run_id: str) -> None:
    lines = [spo_line(i) for i in range(10_000)]
    lines[4088] = '{"s": "http://a/4088", "p": "http://p", "o": "cut off'
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n")
    expected = sorted(f"http://a/{i}" for i in range(10_000) if i != 4088)

    report = load(local_gateway, path, f"skip{run_id}", on_error="skip")
    assert (report.rows_read, report.rows_sent, report.rows_rejected) == (10_000, 9_999, 1)
    [rejection] = report.rejections
    assert rejection.row == 4088 and "malformed JSON at line 4089" in rejection.reason
    assert report.rejected_rows is not None
    assert report.rejected_rows.column(schemas.RAW_LINE).to_pylist() == [lines[4088]]
    assert stored_subjects(local_gateway, f"skip{run_id}") == expected

    with pytest.raises(InputError) as info:
        load(local_gateway, path, f"raise{run_id}")
    error = info.value
    assert (error.source, error.row) == (str(path), 4088) and "line 4089" in str(error)
    # Every line before it was sent, the 4,088 of its own block included.
    assert error.report.rows_sent == 4088  # type: ignore[attr-defined]
    assert stored_subjects(local_gateway, f"raise{run_id}") == sorted(f"http://a/{i}" for i in range(4088))


def test_a_malformed_csv_row_is_rejected_and_the_rest_stored(local_gateway: Any, tmp_path: Path, run_id: str) -> None:
    rows = [f"http://a/{i},http://p,v{i}" for i in range(3000)]
    rows[1234] = 'http://a/1234,"http://p,unclosed quote'
    path = tmp_path / "m.csv"
    path.write_text("s,p,o\n" + "\n".join(rows) + "\n")
    report = load(local_gateway, path, f"csv{run_id}", on_error="skip")
    assert report.rows_rejected >= 1 and report.rejections[0].row == 1234
    assert "malformed CSV row at line 1236" in report.rejections[0].reason
    stored = stored_subjects(local_gateway, f"csv{run_id}")
    assert stored[:1] == ["http://a/0"] and "http://a/1233" in stored and "http://a/1234" not in stored
    assert len(stored) == report.rows_sent == report.rows_read - report.rows_rejected


def test_a_lone_surrogate_is_a_rejected_row(local_gateway: Any, run_id: str) -> None:
    df = pd.DataFrame(
        {
            "s": [f"http://a/{i}" for i in range(5)],
            "p": ["http://p"] * 5,
            "o": ["ok", "bad \ud800", "ok", "ok", "also \udfff bad"],
        },
        dtype=object,
    )
    report = load(local_gateway, df, f"sur{run_id}", on_error="skip")
    assert [(r.row, r.column) for r in report.rejections] == [(1, "o"), (4, "o")]
    assert "lone surrogate" in report.rejections[0].reason
    assert stored_subjects(local_gateway, f"sur{run_id}") == ["http://a/0", "http://a/2", "http://a/3"]
    with pytest.raises(InputError) as info:
        load(local_gateway, df, f"sur-raise{run_id}")
    assert (info.value.row, info.value.column) == (1, "o")
    assert stored_subjects(local_gateway, f"sur-raise{run_id}") == ["http://a/0"]


def test_a_subject_iri_with_a_space_is_rejected(local_gateway: Any, run_id: str) -> None:
    df = pd.DataFrame(
        {
            "s": ["http://example.org/a", "http://example.org/a b", "http://example.org/c"],
            "p": ["http://p"] * 3,
            "o": ["x", "y", "http://example.org/a b"],
        }
    )
    report = load(local_gateway, df, f"iri{run_id}", on_error="skip")
    assert [(r.row, r.column) for r in report.rejections] == [(1, "s")]
    back = tg_connect.read_trustgraph("triples", url=local_gateway.url, collection=f"iri{run_id}")
    assert sorted(back["s"]) == ["http://example.org/a", "http://example.org/c"]
    # The same text as an object is a literal, and stored as one.
    assert back.loc[back["s"] == "http://example.org/c", "o_type"].tolist() == ["literal"]


def test_vector_values_beyond_float32_are_rejected_not_stored_as_nan(local_gateway: Any, run_id: str) -> None:
    df = pd.DataFrame(
        {
            "entity": [f"http://e/{i}" for i in range(4)],
            "vector": [np.array([0.5, 1.5]), np.array([1e39, 1.0]), np.array([np.inf, 1.0]), np.array([2.5, -3.0e38])],
        }
    )
    doc = f"vec-{run_id}"
    report = load(local_gateway, df, f"vec{run_id}", "graph-embeddings", on_error="skip", document_id=doc)
    assert [(r.row, r.column) for r in report.rejections] == [(1, "vector"), (2, "vector")]
    assert "beyond float32's range" in report.rejections[0].reason
    stored = tg_connect.read_trustgraph("graph-embeddings", url=local_gateway.url, source="core", core_id=doc)
    vectors = dict(zip(stored["entity"], stored["vector"], strict=True))
    assert sorted(vectors) == ["http://e/0", "http://e/3"]
    assert all(np.isfinite(v).all() for v in vectors.values())
    assert vectors["http://e/3"][1] == np.float32(-3.0e38)


def test_duplicate_and_colliding_columns_are_input_errors(local_gateway: Any, run_id: str) -> None:
    table = pa.Table.from_arrays(
        [pa.array(["http://a"]), pa.array(["http://p"]), pa.array(["x"]), pa.array(["y"])], names=["s", "p", "o", "o"]
    )
    with pytest.raises(InputError, match="duplicate column") as info:
        load(local_gateway, table, f"dup{run_id}")
    assert info.value.column == "o"
    mapped = pa.table({"subject": ["http://a"], "s": ["http://b"], "p": ["http://p"], "o": ["x"]})
    with pytest.raises(InputError, match="'subject'") as info:
        load(local_gateway, mapped, f"dup{run_id}", columns={"subject": "s"})
    assert info.value.column == "s"


def test_a_50_mb_literal_is_rejected_and_the_rows_around_it_load(local_gateway: Any, run_id: str) -> None:
    """One frame over 50 MiB would make the gateway drop the socket (1009): the row is
    rejected instead, before anything is sent, and its neighbours go in the same load."""
    big = "x" * (51 * 1024 * 1024)
    table = pa.table(
        {"s": [f"http://a/{i}" for i in range(5)], "p": ["http://p"] * 5, "o": ["one", "two", big, "four", "five"]}
    )
    report = load(local_gateway, table, f"big{run_id}", on_error="skip")
    assert (report.rows_sent, report.rows_rejected) == (4, 1)
    [rejection] = report.rejections
    assert (rejection.row, rejection.column) == (2, "o")
    assert rejection.reason.startswith("too large for one gateway message (53,477,") and "> 50 MiB" in rejection.reason
    assert report.bytes_sent < 10_000  # the big row never went on the wire
    assert stored_subjects(local_gateway, f"big{run_id}") == ["http://a/0", "http://a/1", "http://a/3", "http://a/4"]

    with pytest.raises(InputError) as info:
        load(local_gateway, table, f"big-raise{run_id}")
    assert (info.value.row, info.value.column) == (2, "o") and "too large for one gateway message" in str(info.value)
    assert stored_subjects(local_gateway, f"big-raise{run_id}") == ["http://a/0", "http://a/1"]
