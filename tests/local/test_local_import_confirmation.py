"""What an import socket confirms: a PONG only after the frames sent before its PING were taken
in, and (unless the store is paced) a completed close handshake only once everything is stored."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from websockets.exceptions import ConnectionClosedOK

from tg_connect.local import LocalGateway

from .helpers import TOKEN, Http, ws_connect, ws_url

EX = "http://example.org/"
TOPIC = "flow:tg:default:triples-store:default"


def frame(f: int, per_frame: int, collection: str = "confirm") -> str:
    triples = [
        {
            "s": {"t": "i", "i": f"{EX}s/{f}/{i}"},
            "p": {"t": "i", "i": f"{EX}p/{i % 7}"},
            "o": {"t": "l", "v": f"value {f} {i}"},
        }
        for i in range(per_frame)
    ]
    return json.dumps({"metadata": {"id": "confirm-doc", "collection": collection}, "triples": triples})


def metric(http: Http, selector: str) -> float:
    status, _h, body = http.get("/api/metrics/query?query=" + quote(selector))
    assert status == 200, body
    return sum(float(r["value"][1]) for r in json.loads(body)["data"]["result"])


def stored_messages(http: Http) -> float:
    return metric(http, f'tg_consumer_processing_total{{consumer="{TOPIC}",processor="triples-write",status="ok"}}')


def count(http: Http, collection: str) -> int:
    status, reply = http.post("/api/v1/flow/default/service/triples", {"collection": collection, "limit": 10_000_000})
    assert status == 200, reply
    return len(reply["response"])


@pytest.fixture()
def gw() -> Iterator[LocalGateway]:
    with LocalGateway(token=TOKEN) as gateway:
        yield gateway


def test_a_pong_follows_the_frames_before_its_ping(gw: LocalGateway) -> None:
    http = Http(gw.url, TOKEN)
    per_frame, rounds, frames_per_round = 500, 4, 25
    url = ws_url(gw.url, "/api/v1/flow/default/import/triples", token=TOKEN)
    with ws_connect(url) as ws:
        sent = 0
        for _round in range(rounds):
            for _f in range(frames_per_round):
                ws.send(frame(sent, per_frame))
                sent += 1
            pong = ws.ping()
            assert pong.wait(120), "no PONG"
            # Every frame sent before the PING was taken in (parsed, checked, queued for the
            # store in order) by the time the PONG came, and none is still unread.
            assert gw.backend.accepted[TOPIC] == sent
            # ...and a query (which waits for the queued inserts) sees all of them.
            assert count(http, "confirm") == sent * per_frame
    assert stored_messages(http) == rounds * frames_per_round


def test_the_close_handshake_completes_once_everything_is_stored(gw: LocalGateway) -> None:
    http = Http(gw.url, TOKEN)
    frames, per_frame = 60, 1000
    url = ws_url(gw.url, "/api/v1/flow/default/import/triples", token=TOKEN)
    with ws_connect(url) as ws:
        for f in range(frames):
            ws.send(frame(f, per_frame, "closing"))
    # The metrics route waits for nothing: these are the counts at the moment the close completed.
    assert stored_messages(http) == frames
    assert metric(http, "tg_triples_store_write_batch_size_sum") == frames * per_frame


def test_paced_store_a_pong_means_queued_and_the_close_does_not_wait(caplog: pytest.LogCaptureFixture) -> None:
    """One row a second and 100-row messages: the first is written at once, the second only
    100 s later, so everything below happens while the queue is full of the rest."""
    with caplog.at_level("WARNING", logger="tg_connect.local"):
        with LocalGateway(token=TOKEN, store_rows_per_second=1) as gw:
            http = Http(gw.url, TOKEN)
            queue = gw.backend.queue
            assert queue is not None
            url = ws_url(gw.url, "/api/v1/flow/default/import/triples", token=TOKEN)
            with ws_connect(url) as ws:
                for f in range(5):
                    ws.send(frame(f, 100, "paced"))
                assert ws.ping().wait(60), "no PONG"
                assert gw.backend.accepted[TOPIC] == 5  # all taken in...
                assert queue.rows >= 400  # ...and at least four still waiting for the store
            # The close handshake did not wait for the queue.
            assert queue.rows >= 400
            assert stored_messages(http) <= 1
            # The first message is stored at once; a query sees exactly what is stored.
            deadline = time.monotonic() + 60
            while stored_messages(http) < 1:
                assert time.monotonic() < deadline, "the paced store wrote nothing"
                time.sleep(0.05)
            assert count(http, "paced") == 100
            assert metric(http, "tg_triples_store_write_batch_size_sum") == 100
    assert any("were not stored before shutdown" in r.getMessage() for r in caplog.records)


def test_a_malformed_frame_still_closes_quietly_after_storing_the_earlier_ones(gw: LocalGateway) -> None:
    http = Http(gw.url, TOKEN)
    url = ws_url(gw.url, "/api/v1/flow/default/import/triples", token=TOKEN)
    with ws_connect(url) as ws:
        ws.send(frame(0, 10, "bad"))
        ws.send(json.dumps({"metadata": {"id": "x"}, "triples": []}))  # no collection: KeyError
        with pytest.raises(ConnectionClosedOK):  # closed with 1000 and no frame, as the real gateway
            ws.recv(timeout=60)
        assert ws.close_code == 1000
    assert stored_messages(http) == 1 and count(http, "bad") == 10
