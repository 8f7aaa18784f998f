"""The paced store (``store_rows_per_second`` / ``tg-connect serve --store-rate``): import sockets
take frames in at full speed, a background writer stores them at a set rate, metrics tell."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
from websockets.exceptions import ConnectionClosed

import tg_connect
from tg_connect.local import LocalGateway
from tg_connect.local.storage.backend import Pacer

from .helpers import TOKEN, Http, ServerProcess, Tap, import_frames, ws_connect, ws_url

EX = "http://example.org/"
TOPIC = "flow:tg:default:triples-store:default"


def metric(http: Http, selector: str) -> float:
    status, _h, body = http.get("/api/metrics/query?query=" + quote(selector))
    assert status == 200, body
    return sum(float(r["value"][1]) for r in json.loads(body)["data"]["result"])


def wait_for(http: Http, selector: str, value: float, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while metric(http, selector) < value:
        assert time.monotonic() < deadline, f"{selector} stayed below {value}: {metric(http, selector)}"
        time.sleep(0.05)
    assert metric(http, selector) == value


def test_pacer_spends_rows_over_time() -> None:
    pacer = Pacer(100)  # rows per second
    assert pacer.delay(50, now=10.0) == 0  # the first message goes at once
    assert pacer.delay(50, now=10.0) == pytest.approx(0.5)  # 50 rows later: half a second
    assert pacer.delay(100, now=10.2) == pytest.approx(0.8)  # waits for the budget (11.0)
    assert pacer.delay(0, now=12.0) == 0  # empty messages never wait
    # Idle time is not saved up: after a long pause the next message goes at once, then paced.
    assert pacer.delay(100, now=50.0) == 0
    assert pacer.delay(100, now=50.0) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        Pacer(0)


def test_a_paced_load_is_delivered_at_once_and_stored_at_the_rate() -> None:
    rows = 6_000
    pred = f"{EX}paced/{uuid.uuid4().hex[:8]}"
    df = pd.DataFrame(
        {"s": [f"{EX}s/{i}" for i in range(rows)], "p": [pred] * rows, "o": [f"value {i}" for i in range(rows)]}
    )
    with LocalGateway(token=TOKEN, store_rows_per_second=3_000) as gw:
        http = Http(gw.url, TOKEN)
        report = tg_connect.to_trustgraph(
            df,
            url=gw.url,
            token=TOKEN,
            collection="paced",
            batch_size=500,
            document_id="paced-doc",
            progress=False,
            max_rows_per_second=None,
        )  # unpaced: the store's own queue fills
        assert report.rows_delivered == rows and report.batches == rows // 500
        assert gw.backend.accepted[TOPIC] == report.batches  # the broker has every message
        # The stores catch up at their own pace; the metrics count what they stored.
        wait_for(http, "tg_triples_store_write_batch_size_sum", rows)
        assert metric(http, f'tg_consumer_processing_total{{consumer="{TOPIC}",status="ok"}}') == 2 * report.batches
        assert metric(http, "tg_triples_store_write_batch_size_count") == report.batches
        status, reply = http.post(
            "/api/v1/flow/default/service/triples",
            {"collection": "paced", "p": {"t": "i", "i": pred}, "limit": 100_000},
        )
        assert status == 200 and len(reply["response"]) == rows
        queue = gw.backend.queue
        assert queue is not None and len(queue) == 0 and queue.bytes == 0 and queue.rows == 0
        # The knowledge core was written by the same writer, so it holds the same triples.
        status, _h, raw = http.get("/api/v1/export-core?id=paced-doc")
        assert status == 200 and raw.count(pred.encode()) == rows


def test_paced_store_takes_every_kind_and_taps_at_once() -> None:
    with LocalGateway(token=TOKEN, store_rows_per_second=1_000) as gw:
        http = Http(gw.url, TOKEN)
        meta = {"id": "d", "collection": "c"}
        tap = Tap(gw.url, "graph-embeddings", TOKEN)
        try:
            import_frames(
                gw.url,
                "graph-embeddings",
                [
                    {
                        "metadata": meta,
                        "entities": [
                            {"entity": {"t": "i", "i": f"{EX}e{i}"}, "vector": [1.0, float(i)]} for i in range(10)
                        ],
                    }
                ]
                * 3,
                TOKEN,
            )
            # The export tap is the broker's fan-out: it sees the messages when they are taken in.
            frames = tap.wait_for(3, timeout=60)
            assert len(frames) == 3 and len(frames[0]["entities"]) == 10
        finally:
            tap.close()
        import_frames(
            gw.url, "document-embeddings", [{"metadata": meta, "chunks": [{"chunk_id": "c1", "vector": [0.5]}]}], TOKEN
        )
        import_frames(
            gw.url, "rows", [{"metadata": meta, "schema_name": "s", "values": [{"a": "1"}, {"a": "2"}]}], TOKEN
        )
        wait_for(http, 'tg_consumer_processing_total{processor="ge-write",status="ok"}', 3)
        wait_for(http, 'tg_consumer_processing_total{processor="de-write",status="ok"}', 1)
        deadline = time.monotonic() + 60
        while gw.backend.workspace("default").log("rows", "c", "s").num_rows() < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert gw.backend.workspace("default").log("graph-embeddings", "c").num_rows() == 30
        # A malformed message is still refused when it arrives, not when the writer gets to it.
        import_frames(gw.url, "graph-embeddings", [{"metadata": {"id": "x"}, "entities": []}], TOKEN)
        assert gw.backend.accepted["flow:tg:default:graph-embeddings-store:default"] == 3


def test_a_full_queue_closes_the_socket_with_1011_and_logs_an_error(caplog: pytest.LogCaptureFixture) -> None:
    big = json.dumps(
        {
            "metadata": {"id": "q", "collection": "full"},
            "triples": [
                {"s": {"t": "i", "i": f"{EX}s{i}"}, "p": {"t": "i", "i": f"{EX}p"}, "o": {"t": "l", "v": "x" * 100}}
                for i in range(100)
            ],
        }
    )
    sent = 0
    with caplog.at_level("ERROR", logger="tg_connect.local"):
        with LocalGateway(token=TOKEN, store_rows_per_second=1, store_queue_bytes=len(big) * 3) as gw:
            url = ws_url(gw.url, "/api/v1/flow/default/import/triples", token=TOKEN)
            with ws_connect(url) as ws:
                with pytest.raises(ConnectionClosed):
                    for _ in range(50):
                        ws.send(big)
                        sent += 1
                        ws.ping(ack_on_close=True).wait(30)  # one at a time: the refusal lands on a known frame
                assert ws.close_code == 1011
                assert ws.close_reason == "store queue full: the paced store is behind"
            accepted = gw.backend.accepted[TOPIC]
            # At one row a second the writer stores the first message only: three more fit in.
            assert 3 <= accepted <= 4 and accepted < sent
    assert any("queue is full" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


def test_serve_store_rate_option(tmp_path: Path) -> None:
    with ServerProcess("--store-rate", "5000", "--store-queue-mb", "64", stderr_path=tmp_path / "err") as server:
        assert server.proc.stdout is not None
        lines = [server.proc.stdout.readline()]
        while "press Ctrl-C to stop" not in lines[-1] and lines[-1] and len(lines) < 20:
            lines.append(server.proc.stdout.readline())
        banner = "".join(lines)
        assert "paced store: at most 5000 rows/s" in banner and "64 MiB" in banner
        http = Http(server.url, None)
        frames = [
            {
                "metadata": {"id": "cli", "collection": "cli"},
                "triples": [
                    {"s": {"t": "i", "i": f"{EX}s/{f}/{i}"}, "p": {"t": "i", "i": f"{EX}p"}, "o": {"t": "l", "v": "v"}}
                    for i in range(500)
                ],
            }
            for f in range(8)
        ]
        import_frames(server.url, "triples", frames, None)
        wait_for(http, 'tg_triples_store_write_batch_size_sum{processor="triples-write"}', 4_000)
