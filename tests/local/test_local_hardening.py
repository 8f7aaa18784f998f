"""The local gateway holds up: the credential before the body, body caps, a loud warning when
open on the network, and a knowledge core and triple store that agree after ``kill -9``."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import msgpack
import pytest

from tg_connect.local import LocalGateway
from tg_connect.local.front import app as local_app
from tg_connect.local.front.server import exposed_addresses
from tg_connect.local.storage.backend import Backend
from tg_connect.local.storage.stores import CoreStore

from .helpers import TOKEN, Http, ServerProcess, ws_connect, ws_url

EX = "http://example.org/"


@pytest.fixture(scope="module")
def gw() -> Iterator[LocalGateway]:
    with LocalGateway(token=TOKEN) as gateway:
        yield gateway


# -- raw HTTP: a body announced but (mostly) not sent --------------------------------------------


def _raw_request(
    url: str, path: str, headers: dict[str, str], body: bytes = b"", chunks: list[bytes] | None = None
) -> tuple[int, bytes]:
    """Send a request's head and part of its body, then read the answer.

    The server answers without waiting for the rest, or the read would time out (the
    test then fails on the socket timeout, not on a clock).
    """
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(head.encode() + b"\r\n" + body)
        for chunk in chunks or []:
            sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        return _read_response(sock)


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        assert more, f"connection closed before a response: {data!r}"
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        more = sock.recv(65536)
        assert more
        rest += more
    return status, rest[:length]


BIG = 200 * 1024 * 1024  # announced, never sent


@pytest.mark.parametrize(
    "path", ["/api/v1/flow", "/api/v1/config", "/api/v1/flow/default/service/triples", "/api/v1/import-core?id=x"]
)
@pytest.mark.parametrize("credential", [None, "Bearer wrong", "Basic abc"])
def test_unauthenticated_big_body_is_refused_unread(gw: LocalGateway, path: str, credential: str | None) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(BIG)}
    if credential:
        headers["Authorization"] = credential
    status, body = _raw_request(gw.url, path, headers, b'{"operation":"list-flows","pad":"xxxx')
    assert (status, body) == (401, b'{"error":"auth failure"}')


def test_unauthenticated_chunked_body_is_refused_past_the_preauth_limit(gw: LocalGateway) -> None:
    # No Content-Length: the server reads until the body passes PREAUTH_BODY, then answers.
    piece = b"x" * (local_app.PREAUTH_BODY // 4)
    status, body = _raw_request(
        gw.url,
        "/api/v1/flow",
        {"Transfer-Encoding": "chunked"},
        chunks=[b'{"operation":"list-flows","pad":"'] + [piece] * 5,
    )
    assert (status, body) == (401, b'{"error":"auth failure"}')


def test_small_unauthenticated_bodies_keep_the_real_order(gw: LocalGateway) -> None:
    h = Http(gw.url, None)
    # As the real gateway: the body is parsed and the operation looked up before the credential.
    assert h.post("/api/v1/flow", raw=b"{nope") == (400, {"error": "invalid json"})
    assert h.post("/api/v1/flow", raw=b"[1]") == (400, {"error": "body must be an object"})
    assert h.post("/api/v1/flow", {"operation": "nope"}) == (400, {"error": "unknown operation"})
    assert h.post("/api/v1/flow", {"operation": "list-flows"}) == (401, {"error": "auth failure"})
    # ...also when the body is just under the limit, and chunked.
    near = json.dumps({"operation": "nope", "pad": "x" * (local_app.PREAUTH_BODY - 100)}).encode()
    assert len(near) <= local_app.PREAUTH_BODY
    assert h.post("/api/v1/flow", raw=near) == (400, {"error": "unknown operation"})
    status, body = _raw_request(gw.url, "/api/v1/flow", {"Transfer-Encoding": "chunked"}, chunks=[b"{nope", b""])
    assert (status, json.loads(body)) == (400, {"error": "invalid json"})
    # Just over it, the credential decides at once.
    over = json.dumps({"operation": "nope", "pad": "x" * local_app.PREAUTH_BODY}).encode()
    assert h.post("/api/v1/flow", raw=over) == (401, {"error": "auth failure"})


@pytest.mark.parametrize("path", ["/api/v1/flow", "/api/v1/flow/default/service/triples"])
def test_authenticated_json_body_over_the_cap_is_413_unread(gw: LocalGateway, path: str) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(BIG), "Authorization": f"Bearer {TOKEN}"}
    status, body = _raw_request(gw.url, path, headers, b'{"operation":"list-flows","pad":"')
    assert status == 413
    assert json.loads(body) == {"error": f"request body too large: the limit is {local_app.MAX_JSON_BODY} bytes"}


def test_authenticated_chunked_json_body_over_the_cap_is_413(gw: LocalGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_app, "MAX_JSON_BODY", 100_000)
    headers = {"Transfer-Encoding": "chunked", "Authorization": f"Bearer {TOKEN}"}
    status, body = _raw_request(
        gw.url, "/api/v1/flow", headers, chunks=[b'{"operation":"list-flows","pad":"'] + [b"x" * 30_000] * 4
    )
    assert status == 413 and b"100000" in body
    # Within the cap, the same request works.
    h = Http(gw.url, TOKEN)
    assert h.post("/api/v1/flow", {"operation": "list-flows", "pad": "x" * 90_000})[0] == 200


def test_expect_100_continue_is_refused_before_the_body(gw: LocalGateway) -> None:
    parts = urlsplit(gw.url)

    def head(path: str, headers: dict[str, str]) -> bytes:
        with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
            text = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nExpect: 100-continue\r\n"
            sock.sendall((text + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
            return sock.recv(65536)

    assert head("/api/v1/flow", {"Content-Length": str(BIG)}).startswith(b"HTTP/1.1 401 ")
    assert head("/api/v1/import-core?id=x", {"Content-Length": "10"}).startswith(b"HTTP/1.1 401 ")
    assert head("/api/v1/flow/default/service/nope", {"Content-Length": "10"}).startswith(b"HTTP/1.1 404 ")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert head("/api/v1/flow", {"Content-Length": str(BIG), **auth}).startswith(b"HTTP/1.1 413 ")
    assert head("/api/v1/flow", {"Content-Length": "30", **auth}).startswith(b"HTTP/1.1 100 Continue")
    # A small unauthenticated body may still be sent, to get the real gateway's 400s.
    assert head("/api/v1/flow", {"Content-Length": "30"}).startswith(b"HTTP/1.1 100 Continue")


def test_a_big_unauthenticated_body_does_not_take_memory(tmp_path: Path) -> None:
    """250 MB sent in full to ``tg-connect serve --token`` in its own process: the peak
    resident set grows by far less than the body (it grew by ~700 MB to 1.4 GB before)."""
    import http.client

    with ServerProcess("--token", "tg_x", stderr_path=tmp_path / "stderr") as server:
        parts = urlsplit(server.url)
        _rss, peak_before = server.rss_mb()
        size = 250 * 1000 * 1000
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        conn.putrequest("POST", "/api/v1/flow")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        head = b'{"operation":"list-flows","pad":['
        conn.send(head)
        block = b"0," * (1 << 19)
        sent = len(head)
        try:
            while sent < size - 2:
                n = min(len(block), size - 2 - sent)
                conn.send(block[:n])
                sent += n
            conn.send(b"0]")
        except OSError:
            pass  # the server may close once it answered and stopped draining; the answer is there
        response = conn.getresponse()
        assert (response.status, response.read()) == (401, b'{"error":"auth failure"}')
        conn.close()
        _rss, peak_after = server.rss_mb()
    assert peak_after - peak_before < 64, (peak_before, peak_after)


# -- a loud warning when open on the network ---------------------------------------------------


def test_exposed_addresses() -> None:
    assert exposed_addresses([("127.0.0.1", 1), ("::1", 2, 0, 0), ("127.0.0.2", 3), "/tmp/sock"]) == []
    assert exposed_addresses([("0.0.0.0", 8088)]) == ["0.0.0.0:8088"]
    assert exposed_addresses([("::", 8088, 0, 0)]) == ["[::]:8088"]
    assert exposed_addresses([("192.168.1.5", 1), ("fe80::1%eth0", 2, 0, 2)]) == ["192.168.1.5:1", "[fe80::1%eth0]:2"]


def test_serve_on_all_interfaces_without_a_token_warns_on_stderr(tmp_path: Path) -> None:
    server = ServerProcess("--host", "0.0.0.0", stderr_path=tmp_path / "open")
    server.stop()
    text = server.stderr()
    assert "WARNING" in text and "WITHOUT A TOKEN" in text and "0.0.0.0:" in text, text
    server = ServerProcess("--host", "0.0.0.0", "--token", "tg_never_printed", stderr_path=tmp_path / "token")
    server.stop()
    text = server.stderr()
    assert "WITHOUT A TOKEN" not in text and "tg_never_printed" not in text
    server = ServerProcess(stderr_path=tmp_path / "loopback")  # open, but on 127.0.0.1: no warning
    server.stop()
    assert "WITHOUT A TOKEN" not in server.stderr()


def test_local_gateway_on_all_interfaces_without_a_token_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="tg_connect.local"):
        with LocalGateway(host="0.0.0.0"):
            pass
    assert any("WITHOUT A TOKEN" in r.getMessage() for r in caplog.records)


# -- the knowledge core and the triple store agree after a crash ------------------------------------


def _frame(doc: str, collection: str, start: int, count: int, pred: str) -> dict[str, Any]:
    return {
        "metadata": {"id": doc, "collection": collection},
        "triples": [
            {"s": {"t": "i", "i": f"{EX}s/{i}"}, "p": {"t": "i", "i": pred}, "o": {"t": "l", "v": f"value {i}"}}
            for i in range(start, start + count)
        ],
    }


def _canon(triples: list[Any]) -> set[str]:
    return {json.dumps(t, sort_keys=True) for t in triples}


def test_core_store_cuts_a_torn_item_off(tmp_path: Path) -> None:
    cores = CoreStore(tmp_path)
    cores.append("c", "ge", [["e", [1.0]]])
    cores.append("c", "ge", [["f", [2.0]]])
    file = tmp_path / "c" / "ge.items"
    whole = file.stat().st_size
    with open(file, "ab") as f:  # a crash in the middle of a third append
        f.write(b"m\x00\x00\x01\x00\x00\x00\x02\x00partial")
    reopened = CoreStore(tmp_path)
    assert file.stat().st_size == whole
    reopened.append("c", "ge", [["g", [3.0]]])  # appends after the cut read back whole
    assert list(CoreStore(tmp_path).items("c", "ge")) == [[["e", [1.0]]], [["f", [2.0]]], [["g", [3.0]]]]
    three = file.stat().st_size
    with open(file, "ab") as f:  # a header cut short
        f.write(b"m\x00")
    assert list(CoreStore(tmp_path).items("c", "ge"))[-1] == [["g", [3.0]]]
    assert file.stat().st_size == three


def test_frames_in_the_core_but_not_in_the_store_are_stored_on_restart(tmp_path: Path) -> None:
    """The crash window itself: a frame appended to its core, its commit never run."""
    pred = f"{EX}p/{uuid.uuid4().hex[:8]}"
    backend = Backend(tmp_path)
    ws = backend.workspace("default")
    committed = _frame("doc", "coll", 0, 3, pred)
    store = ws.triple_store("coll", create=True)
    assert store is not None
    mark = ws.cores.append_frame("doc", "t", json.dumps(committed))
    store.commit(store.prepare(committed["triples"]))
    ws.cores.mark_stored("doc", mark)
    lost = _frame("doc", "coll", 3, 4, pred)
    ws.cores.append_frame("doc", "t", json.dumps(lost))  # ...and the process dies here
    ws.cores.append(
        "doc",
        "t",
        [{"s": {"t": "i", "i": f"{EX}put"}, "p": {"t": "i", "i": pred}, "o": {"t": "l", "v": "only in the core"}}],
    )  # put-kg-core: never stored
    backend.close()

    restarted = Backend(tmp_path)
    store = restarted.workspace("default").triple_store("coll", create=False)
    assert store is not None
    assert _canon(list(store.match(None, {"t": "i", "i": pred}, None, None))) == _canon(
        committed["triples"] + lost["triples"]
    )
    assert restarted.config.get("default", "collection", "coll") is not None
    restarted.close()
    # The replay moved the stored mark: nothing is replayed twice (a third open finds nothing).
    again = Backend(tmp_path)
    assert list(again.workspace("default").cores.unstored("doc")) == []
    again.close()


def _stored(url: str) -> float:
    h = Http(url, None)
    status, _h, body = h.get("/api/metrics/query?query=" + quote("tg_triples_store_write_batch_size_sum"))
    assert status == 200, body
    return sum(float(r["value"][1]) for r in json.loads(body)["data"]["result"])


def _store_and_core(url: str, collection: str, pred: str, doc: str) -> tuple[set[str], set[str]]:
    h = Http(url, None)
    status, reply = h.post(
        "/api/v1/flow/default/service/triples",
        {"collection": collection, "p": {"t": "i", "i": pred}, "limit": 1_000_000},
    )
    assert status == 200 and "error" not in reply, reply
    status, _headers, raw = h.get(f"/api/v1/export-core?id={doc}")
    assert status == 200
    core: list[Any] = []
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(raw)
    for tag, body in unpacker:
        if tag == "t":
            core.extend(body["t"])
    return _canon(reply["response"]), _canon(core)


@pytest.mark.parametrize("paced", [False, True], ids=["immediate", "paced"])
def test_kill_9_during_a_load_leaves_core_and_store_agreeing(tmp_path: Path, paced: bool) -> None:
    data = tmp_path / "gw"
    doc, collection, pred = "crash-doc", "crash", f"{EX}crash/{uuid.uuid4().hex[:8]}"
    frames, per_frame = 100, 1000
    extra = ("--store-rate", "20000") if paced else ()
    server = ServerProcess("--data", str(data), *extra, stderr_path=tmp_path / "first")
    sent = [0]

    def load() -> None:  # 100,000 triples at full speed; the kill cuts it short
        try:
            with ws_connect(ws_url(server.url, "/api/v1/flow/default/import/triples")) as ws:
                for f in range(frames):
                    ws.send(json.dumps(_frame(doc, collection, f * per_frame, per_frame, pred)))
                    sent[0] += 1
        except Exception:
            pass  # the server was killed under it

    loader = threading.Thread(target=load, daemon=True)
    try:
        loader.start()
        deadline = time.monotonic() + 300
        while _stored(server.url) < 20_000:  # well into the load
            assert time.monotonic() < deadline, "the load did not progress"
            time.sleep(0.02)
    finally:
        server.kill()
    loader.join(60)

    with ServerProcess("--data", str(data), stderr_path=tmp_path / "second") as restarted:
        store, core = _store_and_core(restarted.url, collection, pred, doc)
    assert store == core
    assert 20_000 <= len(store) <= frames * per_frame
