"""The bad-input matrix at the bulk layer: each case is a clear error naming where, or a
rejection in the report, and whatever was valid still loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tg_connect
from tg_connect.protocol import schemas


def load(gw: tg_connect.LocalGateway, data: object, kind: str = "triples", **kw: object) -> tg_connect.LoadReport:
    return tg_connect.to_trustgraph(data, kind, url=gw.url, progress=False, **kw)  # type: ignore[arg-type]


def test_empty_inputs_load_nothing_and_say_so(local_gateway: tg_connect.LocalGateway, tmp_path: Path) -> None:
    empty = tmp_path / "empty.parquet"
    pq.write_table(schemas.TRIPLES.empty_table(), empty)
    report = load(local_gateway, empty)
    assert (report.rows_read, report.rows_sent, report.batches) == (0, 0, 0) and report.ok
    frame = load(local_gateway, pd.DataFrame({"s": [], "p": [], "o": []}, dtype=str))
    assert frame.rows_sent == 0
    zero = tmp_path / "zero.parquet"
    zero.write_bytes(b"")
    with pytest.raises(tg_connect.InputError, match="zero.parquet"):
        load(local_gateway, zero)


def test_wrong_types_name_the_column(local_gateway: tg_connect.LocalGateway) -> None:
    with pytest.raises(tg_connect.InputError) as err:
        load(local_gateway, pa.table({"s": ["http://a"], "p": ["http://p"], "o": pa.array([b"\xff\xfe"], pa.binary())}))
    assert err.value.column == "o" and "binary" in str(err.value)
    with pytest.raises(tg_connect.InputError) as err:
        load(local_gateway, pd.DataFrame({"entity": ["http://e"], "vector": ["0.1,0.2"]}), "graph-embeddings")
    assert err.value.column == "vector"


def test_invalid_utf8_is_refused_with_the_column(local_gateway: tg_connect.LocalGateway, tmp_path: Path) -> None:
    # Parquet can hold bytes that are not UTF-8 in a binary column; reading it as text must not guess
    path = tmp_path / "latin1.parquet"
    pq.write_table(
        pa.table({"s": ["http://a"], "p": ["http://p"], "o": pa.array(["café".encode("latin-1")], pa.binary())}), path
    )
    with pytest.raises(tg_connect.InputError) as err:
        load(local_gateway, path)
    assert err.value.column == "o" and str(path) in str(err.value)


def test_nulls_nan_and_mixed_lengths_are_rejected_rows(local_gateway: tg_connect.LocalGateway, run_id: str) -> None:
    triples = pd.DataFrame(
        {"s": ["http://a/1", None, "http://a/3"], "p": ["http://p", "http://p", None], "o": ["x", "y", "z"]}
    )
    report = load(local_gateway, triples, on_error="skip", collection=f"n{run_id}")
    assert report.rows_sent == 1 and [(r.row, r.column) for r in report.rejections] == [(1, "s"), (2, "p")]
    vectors = pd.DataFrame(
        {
            "entity": [f"http://e/{i}" for i in range(4)],
            "vector": [np.ones(3), np.array([np.nan, 1, 1]), np.ones(2), np.array([1, np.inf, 1])],
        }
    )
    report = load(local_gateway, vectors, "graph-embeddings", on_error="skip", document_id=f"nan-{run_id}")
    assert report.rows_sent == 1 and [r.row for r in report.rejections] == [1, 2, 3]
    assert report.rejected_rows is not None and report.rejected_rows.num_rows == 3
    stored = tg_connect.read_trustgraph(
        "graph-embeddings", url=local_gateway.url, source="core", core_id=f"nan-{run_id}"
    )
    assert stored["entity"].tolist() == ["http://e/0"]


def test_a_10_mb_literal_round_trips(local_gateway: tg_connect.LocalGateway, run_id: str) -> None:
    big = '€ten megabytes "quoted"\n' * (10 * 1024 * 1024 // 26)
    df = pd.DataFrame(
        {
            "s": ["http://a/big", "http://a/small"],
            "p": ["http://p/text"] * 2,
            "o": [big, "small"],
            "o_type": ["literal"] * 2,
        }
    )
    report = load(local_gateway, df, collection=f"big{run_id}")
    assert report.rows_sent == 2 and report.bytes_sent > 10_000_000
    back = tg_connect.read_trustgraph(url=local_gateway.url, collection=f"big{run_id}")
    assert dict(zip(back["s"], back["o"], strict=True)) == {"http://a/big": big, "http://a/small": "small"}


def test_a_failed_load_says_what_was_not_sent(tmp_path: Path) -> None:
    with tg_connect.LocalGateway() as gw:
        url = gw.url
        table = pa.table({"s": [f"http://a/{i}" for i in range(5000)], "p": ["http://p"] * 5000, "o": ["v"] * 5000})
        ok = tg_connect.to_trustgraph(table, url=url, progress=False)
        assert ok.rows_sent == 5000
    with pytest.raises(tg_connect.GatewayConnectionError) as err:  # the gateway is gone
        tg_connect.to_trustgraph(table, url=url, progress=False, timeout=5)
    assert isinstance(err.value, ConnectionError) and url.split("//")[1] in str(err.value)


def test_a_gateway_lost_mid_load_reports_where_to_resume() -> None:
    import threading
    import time

    table = pa.table({"s": [f"http://a/{i}" for i in range(20_000)], "p": ["http://p"] * 20_000, "o": ["v"] * 20_000})
    gw = tg_connect.LocalGateway().start()
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            tg_connect.to_trustgraph(
                table, url=gw.url, progress=False, batch_size=500, max_rows_per_second=4000, retries=0
            )
        except BaseException as exc:  # the test inspects it below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(1.5)
    gw.stop()
    thread.join(60)
    error = outcome["error"]
    assert isinstance(error, ConnectionError)
    report = error.report  # type: ignore[attr-defined]
    # Only what a PONG (or the close) confirmed counts, and the resume point is right after it.
    assert 0 < report.rows_delivered < 20_000 and report.rows_delivered % 500 == 0
    assert report.rows_delivered <= report.rows_sent
    assert report.resume_from_row == report.rows_delivered
    assert report.unsent_ranges[-1][1] == 19_999 and "NOT DELIVERED" in str(report) and not report.ok
