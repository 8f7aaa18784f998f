"""The local gateway over real sockets: auth, services, bulk sockets, cores, metrics,
persistence and volume, checked against the TrustGraph 2.11 gateway's observed behaviour."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import msgpack
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tg_connect.local import LocalGateway

from ..processes import ctrl_c_as_at_a_terminal
from .helpers import TOKEN, Http, Mux, Tap, import_frames, ws_connect, ws_url

XSD = "http://www.w3.org/2001/XMLSchema#"
EX = "http://example.org/"


def iri(v: str) -> dict[str, Any]:
    return {"t": "i", "i": v}


def lit(v: str, dt: str | None = None, ln: str | None = None) -> dict[str, Any]:
    t: dict[str, Any] = {"t": "l", "v": v}
    if dt:
        t["dt"] = dt
    if ln:
        t["ln"] = ln
    return t


def uid() -> str:
    return uuid.uuid4().hex[:8]


def query(http: Http, body: dict[str, Any], flow: str = "default") -> Any:
    status, reply = http.post(f"/api/v1/flow/{flow}/service/triples", body)
    assert status == 200, reply
    return reply


def canon(triples: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(t, sort_keys=True) for t in triples)


def handshake_status(url: str) -> int:
    try:
        ws = ws_connect(url)
    except InvalidStatus as exc:
        return exc.response.status_code
    ws.close()
    return 101


# -- auth -------------------------------------------------------------------------------------


def test_rest_auth(local_gw: LocalGateway, http: Http) -> None:
    body = {"operation": "list-flows"}
    assert http.post("/api/v1/flow", body)[0] == 200
    for token in ("wrong", None):
        status, headers, raw = http.request("POST", "/api/v1/flow", body, token=token)
        assert status == 401
        assert raw == b'{"error":"auth failure"}'
        assert headers["Content-Type"].startswith("application/json")
    # Checks before authentication, as in the real gateway: bad JSON and unknown operations.
    assert http.post("/api/v1/flow", raw=b"{nope", token=None) == (400, {"error": "invalid json"})
    assert http.post("/api/v1/flow/default/service/nope", {}, token=None) == (404, {"error": "unknown kind"})
    assert http.get("/api/metrics/query?query=up", token="wrong")[0] == 401


def test_bulk_socket_auth(local_gw: LocalGateway) -> None:
    base = local_gw.url
    assert handshake_status(ws_url(base, "/api/v1/flow/default/import/triples")) == 401
    assert handshake_status(ws_url(base, "/api/v1/flow/default/import/triples", token="wrong")) == 401
    assert handshake_status(ws_url(base, "/api/v1/flow/default/export/triples", token="")) == 401
    assert handshake_status(ws_url(base, "/api/v1/flow/default/export/triples", token=TOKEN)) == 101


def test_mux_auth(local_gw: LocalGateway) -> None:
    mux = Mux(local_gw.url, auth=False)
    try:
        mux.send({"id": "pre", "service": "flow", "request": {"operation": "list-flows"}})
        assert mux.recv() == {
            "id": "pre",
            "error": {"message": "auth failure", "type": "auth-required"},
            "complete": True,
        }
        assert mux.auth("wrong") == {"type": "auth-failed", "error": "auth failure"}
        mux.send({"id": "still", "service": "flow", "request": {"operation": "list-flows"}})
        assert mux.recv()["error"]["type"] == "auth-required"
        assert mux.auth(TOKEN) == {"type": "auth-ok", "default_workspace": "default"}
        frames = mux.request("ok", "flow", {"operation": "list-flows"})
        assert frames == [
            {
                "id": "ok",
                "response": {
                    "blueprint-names": [],
                    "flow-ids": ["default"],
                    "blueprint-definition": "",
                    "flow": "",
                    "description": "",
                    "parameters": {},
                },
                "complete": True,
            }
        ]
        assert mux.auth("wrong again")["type"] == "auth-failed"  # keeps the earlier identity
        assert mux.request("ok2", "flow", {"operation": "list-flows"})[0]["complete"] is True
    finally:
        mux.close()


def test_open_gateway_without_token() -> None:
    with LocalGateway() as gw:
        open_http = Http(gw.url, None)
        assert open_http.post("/api/v1/flow", {"operation": "list-flows"})[0] == 200
        assert open_http.post("/api/v1/flow", {"operation": "list-flows"}, token="tg_anything")[0] == 200
        # Like the real no-auth IAM: a malformed credential is still refused.
        assert open_http.post("/api/v1/flow", {"operation": "list-flows"}, token="malformed")[0] == 401
        assert handshake_status(ws_url(gw.url, "/api/v1/flow/default/import/triples")) == 101
        assert handshake_status(ws_url(gw.url, "/api/v1/flow/default/import/triples", token="tg_x")) == 101
        assert handshake_status(ws_url(gw.url, "/api/v1/flow/default/import/triples", token="bad")) == 401
        mux = Mux(gw.url, auth=False)
        mux.send({"id": "pre", "service": "flow", "request": {"operation": "list-flows"}})
        assert mux.recv()["error"]["type"] == "auth-required"  # an auth frame is still needed
        assert mux.auth("malformed")["type"] == "auth-failed"
        assert mux.auth("tg_whatever")["type"] == "auth-ok"
        assert mux.auth("")["type"] == "auth-ok"  # anonymous
        mux.close()
        assert "token" not in repr(gw).replace("auth=open", "")


# -- REST errors ----------------------------------------------------------------------------


def test_rest_gateway_errors(http: Http) -> None:
    assert http.post("/api/v1/flow", raw=b"not json") == (400, {"error": "invalid json"})
    assert http.post("/api/v1/flow", [1]) == (400, {"error": "body must be an object"})
    assert http.post("/api/v1/flow", {}) == (400, {"error": "missing operation"})
    assert http.post("/api/v1/flow", {"operation": "list-classes"}) == (400, {"error": "unknown operation"})
    assert http.post("/api/v1/bogus", {"operation": "x"}) == (400, {"error": "unknown operation"})
    status, headers, raw = http.request("POST", "/api/v1/flow", {"operation": "list-flows", "workspace": "nows"})
    assert (status, raw) == (404, b'{"error":"workspace not found"}')
    assert http.post("/api/v1/flow/default/service/text-load", {}) == (404, {"error": "unknown kind"})
    assert http.post("/api/v1/flow/nope/service/triples", {}) == (200, {"error": "Invalid flow default/nope"})
    assert http.post("/api/v1/flow/default/service/triples", {"workspace": "nows"}) == (
        200,
        {"error": "Invalid flow nows/default"},
    )
    status, reply = http.post("/api/v1/flow/default/service/triples", raw=b"{not json")
    assert status == 200 and reply["error"].startswith("Expecting property name")
    assert http.post("/api/v1/flow/default/service/triples", {"s": "http://x"}) == (
        200,
        {"error": {"type": "gateway-error", "message": "'str' object has no attribute 'get'"}},
    )
    assert http.post("/api/v1/flow/default/service/agent", {"streaming": True}) == (
        200,
        {"error": {"type": "gateway-error", "message": "'question'"}},
    )
    assert http.get("/api/metrics")[0] == 404


# -- flow and config ------------------------------------------------------------------------


def test_flow_operations(http: Http) -> None:
    status, reply = http.post("/api/v1/flow", {"operation": "list-flows"})
    assert reply == {
        "blueprint-names": [],
        "flow-ids": ["default"],
        "blueprint-definition": "",
        "flow": "",
        "description": "",
        "parameters": {},
    }
    reply = http.post("/api/v1/flow", {"operation": "get-flow", "flow-id": "default"})[1]
    flow = json.loads(reply["flow"])
    assert list(flow) == ["description", "blueprint-name", "interfaces", "parameters"]
    assert reply["description"] == flow["description"] and reply["parameters"] == {} == flow["parameters"]
    assert flow["interfaces"]["triples"] == {
        "request": "request:tg:default:triples:local",
        "response": "response:tg:default:triples:local",
    }
    assert flow["interfaces"]["triples-store"] == {"flow": "flow:tg:default:triples-store:default"}
    assert flow["interfaces"]["entity-contexts-load"] == {"flow": "flow:tg:default:entity-contexts-load:default"}
    names = http.post("/api/v1/flow", {"operation": "list-blueprints"})[1]["blueprint-names"]
    assert names == ["local"]
    definition = json.loads(
        http.post("/api/v1/flow", {"operation": "get-blueprint", "blueprint-name": "local"})[1]["blueprint-definition"]
    )
    # A second flow on a blueprint with fewer interfaces.
    definition["interfaces"] = {k: v for k, v in definition["interfaces"].items() if k != "sparql"}
    assert (
        http.post(
            "/api/v1/flow",
            {"operation": "put-blueprint", "blueprint-name": "small", "blueprint-definition": json.dumps(definition)},
        )[0]
        == 200
    )
    http.post(
        "/api/v1/flow",
        {
            "operation": "start-flow",
            "flow-id": "f2",
            "blueprint-name": "small",
            "description": "second",
            "parameters": {"x": 1},
        },
    )
    assert http.post("/api/v1/flow", {"operation": "list-flows"})[1]["flow-ids"] == ["default", "f2"]
    f2 = json.loads(http.post("/api/v1/flow", {"operation": "get-flow", "flow-id": "f2"})[1]["flow"])
    assert f2["blueprint-name"] == "small" and f2["parameters"] == {"x": "1"}
    assert f2["interfaces"]["triples-store"] == {"flow": "flow:tg:default:triples-store:f2"}
    assert http.post("/api/v1/flow/f2/service/sparql", {"query": "ASK {}"}) == (
        200,
        {"error": "This kind not supported by flow"},
    )
    assert query(http, {"collection": "none-such"}, flow="f2") == {"response": []}
    # Errors are dropped by the 2.11 translator: all-defaults replies.
    empty = {
        "blueprint-names": [],
        "flow-ids": [],
        "blueprint-definition": "",
        "flow": "",
        "description": "",
        "parameters": {},
    }
    assert (
        http.post(
            "/api/v1/flow",
            {"operation": "start-flow", "flow-id": "f2", "blueprint-name": "small", "description": "again"},
        )[1]
        == empty
    )
    assert http.post("/api/v1/flow", {"operation": "get-flow", "flow-id": "nope"})[1] == empty
    no_def = dict(empty)
    del no_def["blueprint-definition"]
    assert http.post("/api/v1/flow", {"operation": "get-blueprint", "blueprint-name": "nope"})[1] == no_def
    assert http.post("/api/v1/flow", {"operation": "stop-flow", "flow-id": "f2"})[1] == empty
    assert http.post("/api/v1/flow", {"operation": "list-flows"})[1]["flow-ids"] == ["default"]
    assert http.post("/api/v1/flow/f2/service/triples", {}) == (200, {"error": "Invalid flow default/f2"})
    http.post("/api/v1/flow", {"operation": "delete-blueprint", "blueprint-name": "small"})
    assert http.post("/api/v1/flow", {"operation": "list-blueprints"})[1]["blueprint-names"] == ["local"]


def test_config_operations(http: Http) -> None:
    t = "probe-" + uid()
    put = http.post("/api/v1/config", {"operation": "put", "values": [{"type": t, "key": "k", "value": "v"}]})
    assert put == (200, {"version": 0, "values": [], "directory": [], "config": {}})
    reply = http.post("/api/v1/config", {"operation": "get", "keys": [{"type": t, "key": "k"}]})[1]
    version = reply["version"]
    assert version > 0 and reply == {
        "version": version,
        "values": [{"type": t, "key": "k", "value": "v"}],
        "directory": [],
        "config": {},
    }
    assert http.post("/api/v1/config", {"operation": "list", "type": t})[1]["directory"] == ["k"]
    assert http.post("/api/v1/config", {"operation": "getvalues", "type": t})[1]["values"] == [
        {"type": t, "key": "k", "value": "v"}
    ]
    assert http.post("/api/v1/config", {"operation": "config"})[1]["config"][t] == {"k": "v"}
    # A non-string value is silently not stored (no version bump), as with the real config-svc.
    http.post("/api/v1/config", {"operation": "put", "values": [{"type": t, "key": "j", "value": {"a": 1}}]})
    reply = http.post("/api/v1/config", {"operation": "get", "keys": [{"type": t, "key": "j"}]})[1]
    assert reply["version"] == version and reply["values"] == [{"type": t, "key": "j", "value": None}]
    assert http.post("/api/v1/config", {"operation": "put", "values": [{"type": t, "key": "k"}]})[1] == {
        "error": {"type": "gateway-error", "message": "'value'"}
    }
    http.post("/api/v1/config", {"operation": "delete", "keys": [{"type": t, "key": "k"}]})
    reply = http.post("/api/v1/config", {"operation": "get", "keys": [{"type": t, "key": "k"}]})[1]
    assert reply["version"] == version + 1 and reply["values"][0]["value"] is None
    # Workspaces are separate.
    assert http.post("/api/v1/config", {"operation": "list", "type": t, "workspace": "other"})[1]["directory"] == []


def test_collection_management(http: Http) -> None:
    c = "col-" + uid()
    status, reply = http.post(
        "/api/v1/collection-management",
        {"operation": "update-collection", "collection": c, "name": "N", "description": "D", "tags": ["a"]},
    )
    assert status == 200 and list(reply) == ["timestamp", "collections"]
    assert reply["collections"] == [{"collection": c, "name": "N", "description": "D", "tags": ["a"]}]
    listed = http.post("/api/v1/collection-management", {"operation": "list-collections"})[1]["collections"]
    assert {"collection": "default", "name": "Default", "description": "Default collection", "tags": []} in listed
    assert any(x["collection"] == c for x in listed)
    tagged = http.post("/api/v1/collection-management", {"operation": "list-collections", "tag_filter": ["a"]})[1]
    assert [x["collection"] for x in tagged["collections"]] == [c]
    reply = http.post("/api/v1/collection-management", {"operation": "delete-collection", "collection": c})[1]
    assert reply["collections"] == [] and "timestamp" in reply
    listed = http.post("/api/v1/collection-management", {"operation": "list-collections"})[1]["collections"]
    assert all(x["collection"] != c for x in listed)


# -- triples ----------------------------------------------------------------------------------


QT = {"t": "t", "tr": {"s": iri(EX + "a"), "p": iri(EX + "b"), "o": lit("c")}}
TERM_TRIPLES: list[dict[str, Any]] = [
    {"s": iri(EX + "s"), "p": iri(EX + "p/iri"), "o": iri(EX + "o")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/plain"), "o": lit("plain")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/int"), "o": lit("42", XSD + "integer")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/int-noncanonical"), "o": lit("042", XSD + "integer")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/decimal"), "o": lit("4.20", XSD + "decimal")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/bool"), "o": lit("1", XSD + "boolean")},
    {
        "s": iri(EX + "s"),
        "p": iri(EX + "p/custom"),
        "o": lit("POINT(1 2)", "http://www.opengis.net/ont/geosparql#wktLiteral"),
    },
    {"s": iri(EX + "s"), "p": iri(EX + "p/lang"), "o": lit("hello", ln="en")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/lang-case"), "o": lit("colour", ln="en-GB")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/lang-case2"), "o": lit("color", ln="en-gb")},
    {"s": {"t": "b", "d": "b0"}, "p": iri(EX + "p/bsubj"), "o": lit("blank subject")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/bobj"), "o": {"t": "b", "d": "b1"}},
    {"s": iri(EX + "s"), "p": iri(EX + "p/bodd"), "o": {"t": "b", "d": "not valid"}},
    {"s": iri(EX + "s"), "p": iri(EX + "p/qobj"), "o": QT},
    {"s": QT, "p": iri(EX + "p/qsubj"), "o": lit("quoted subject")},
    {"s": lit("litsubj"), "p": iri(EX + "p/litsubj"), "o": lit("x")},
    {"s": iri(EX + "s"), "p": lit("literal predicate"), "o": lit("y")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/reliri"), "o": iri("foo bar")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/urn"), "o": iri("urn:example:o")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/reserved"), "o": iri("urn:tg-connect:term:%7B%7D")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/empty"), "o": lit("")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/weird"), "o": lit('q"uote \\back\\slash\nnew\u0001ctl 😀 end \u2028')},
    {"s": iri(EX + "s"), "p": iri(EX + "p/surrogate"), "o": lit("lone \ud800 surrogate")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/unknown"), "o": {"t": "x"}},
    {"s": iri(EX + "s"), "p": iri(EX + "p/no-object")},
    {"s": iri(EX + "s"), "p": iri(EX + "p/graph"), "o": lit("in graph"), "g": EX + "graph1"},
    {"s": iri(EX + "s"), "p": iri(EX + "p/oddgraph"), "o": lit("in odd graph"), "g": "not an iri"},
]


def expected(t: dict[str, Any]) -> dict[str, Any]:
    """What comes back: the sent triple, with xsd:string datatypes (none here) dropped."""
    return t


def test_import_then_query_every_term_kind(local_gw: LocalGateway, http: Http) -> None:
    coll = "terms-" + uid()
    frame = {"metadata": {"id": "d1", "root": "d1", "collection": coll}, "triples": TERM_TRIPLES}
    import_frames(local_gw.url, "triples", [frame], TOKEN)
    everything = query(http, {"collection": coll, "g": "*", "limit": 1000})["response"]
    assert canon(everything) == canon(TERM_TRIPLES)
    default_graph = query(http, {"collection": coll, "limit": 1000})["response"]
    assert canon(default_graph) == canon([t for t in TERM_TRIPLES if "g" not in t])
    in_graph = query(http, {"collection": coll, "g": EX + "graph1"})["response"]
    assert in_graph == [TERM_TRIPLES[-2]]
    assert query(http, {"collection": coll, "g": "not an iri"})["response"] == [TERM_TRIPLES[-1]]
    # Every kind of term works as a query pattern, matching exactly.
    for pos, term in [
        ("s", {"t": "b", "d": "b0"}),
        ("s", QT),
        ("o", QT),
        ("s", lit("litsubj")),
        ("p", lit("literal predicate")),
        ("o", lit("hello", ln="en")),
        ("o", lit("colour", ln="en-GB")),
        ("o", lit("color", ln="en-gb")),
        ("o", lit("042", XSD + "integer")),
        ("o", lit("42", XSD + "integer")),
        ("o", iri("foo bar")),
        ("o", {"t": "b", "d": "not valid"}),
        ("o", lit("lone \ud800 surrogate")),
        ("o", {"t": "x"}),
    ]:
        found = query(http, {"collection": coll, pos: term, "g": "*"})["response"]
        assert len(found) == 1 and found[0][pos] == term, (pos, term, found)
    assert query(http, {"collection": coll, "o": lit("hello", ln="EN"), "g": "*"})["response"] == []
    # Streaming sends pre-encoded JSON: the same triples, byte for byte as json.dumps would.
    mux = Mux(local_gw.url, TOKEN)
    try:
        frames = mux.request(
            "all", "triples", {"collection": coll, "g": "*", "streaming": True, "batch-size": 5}, flow="default"
        )
    finally:
        mux.close()
    assert canon([t for f in frames for t in f["response"]["response"]]) == canon(TERM_TRIPLES)
    store = local_gw.backend.workspace("default").triple_store(coll, create=False)
    assert store is not None
    for q in store.store:
        assert store.codec.triple_json(q) == json.dumps(store.codec.triple_of(q))
    # Plain literals come back without a datatype, even when sent with xsd:string.
    frame2 = {
        "metadata": {"id": "d2", "collection": coll},
        "triples": [{"s": iri(EX + "x"), "p": iri(EX + "p"), "o": lit("s", XSD + "string")}],
    }
    import_frames(local_gw.url, "triples", [frame2], TOKEN)
    assert query(http, {"collection": coll, "s": iri(EX + "x")})["response"] == [
        {"s": iri(EX + "x"), "p": iri(EX + "p"), "o": lit("s")}
    ]
    # Collections are separate; limits apply; bad limits answer like the real service.
    assert query(http, {"collection": "default", "s": iri(EX + "x")})["response"] == []
    assert len(query(http, {"collection": coll, "g": "*", "limit": 3})["response"]) == 3
    assert query(http, {"collection": coll, "limit": -1}) == {
        "response": [],
        "error": {
            "type": "triples-query-error",
            "message": "LIMIT specified value of invalid type, must be a positive integer",
        },
    }
    assert query(http, {"collection": coll, "limit": "x"})["error"]["type"] == "gateway-error"
    # The collection was registered as written to.
    listed = http.post("/api/v1/collection-management", {"operation": "list-collections"})[1]["collections"]
    assert any(c["collection"] == coll for c in listed)


def test_streaming_query_frames(local_gw: LocalGateway, http: Http) -> None:
    coll = "stream-" + uid()
    triples = [{"s": iri(f"{EX}s{i:02d}"), "p": iri(EX + "p"), "o": lit(str(i))} for i in range(16)]
    import_frames(local_gw.url, "triples", [{"metadata": {"id": "d", "collection": coll}, "triples": triples}], TOKEN)
    mux = Mux(local_gw.url, TOKEN)
    try:
        req = {"collection": coll, "streaming": True, "batch-size": 7}
        frames = mux.request("q1", "triples", req, flow="default")
        assert [len(f["response"]["response"]) for f in frames] == [7, 7, 2]
        assert [f["complete"] for f in frames] == [False, False, True]
        assert all(list(f) == ["id", "response", "complete"] and list(f["response"]) == ["response"] for f in frames)
        assert canon([t for f in frames for t in f["response"]["response"]]) == canon(triples)
        frames = mux.request("q2", "triples", {**req, "limit": 14}, flow="default")
        assert [len(f["response"]["response"]) for f in frames] == [7, 7]  # no trailing empty frame
        frames = mux.request("q3", "triples", {**req, "s": iri(EX + "none")}, flow="default")
        assert frames == [{"id": "q3", "response": {"response": []}, "complete": True}]
        frames = mux.request("q4", "triples", {"collection": coll, "streaming": True}, flow="default")
        assert [len(f["response"]["response"]) for f in frames] == [16]  # default batch-size 20
        frames = mux.request("q5", "triples", {"collection": coll}, flow="default")
        assert len(frames) == 1 and len(frames[0]["response"]["response"]) == 16
        # Two streams at once interleave.
        mux.send({"id": "a", "service": "triples", "flow": "default", "request": {**req, "batch-size": 1}})
        mux.send({"id": "b", "service": "triples", "flow": "default", "request": {**req, "batch-size": 1}})
        a, b = mux.collect("a"), mux.collect("b")
        assert len(a) == len(b) == 16
    finally:
        mux.close()
    # REST with streaming returns only the last batch.
    assert len(query(http, {"collection": coll, "streaming": True, "batch-size": 7})["response"]) == 2


def test_mux_frames(local_gw: LocalGateway) -> None:
    mux = Mux(local_gw.url, TOKEN)
    try:
        mux.send("not json")
        assert mux.recv() == {
            "error": {"message": "Expecting value: line 1 column 1 (char 0)", "type": "error"},
            "complete": True,
        }
        mux.send({"id": "a6", "service": "config"})
        assert mux.recv() == {"error": {"message": "Bad message", "type": "error"}, "complete": True, "id": "a6"}
        mux.send({"service": "config", "request": {}})
        assert mux.recv() == {"error": {"message": "Bad message", "type": "error"}, "complete": True}
        mux.send([1, 2])
        assert mux.recv()["error"]["message"] == "'list' object has no attribute 'get'"
        unknown = {"message": "unknown service", "type": "unknown-service"}
        assert mux.request("u1", "triples", {"limit": 1})[0]["error"] == unknown  # flow service without flow
        assert mux.request("u2", "config", {"type": "x"})[0]["error"] == unknown  # no operation
        assert mux.request("u3", "config", {"operation": "list"}, flow="default")[0]["error"] == unknown
        assert mux.request("u4", "nope", {}, flow="default")[0]["error"] == unknown
        assert mux.request("w", "flow", {"operation": "list-flows"}, workspace="nows")[0] == {
            "id": "w",
            "error": {"message": "workspace not found", "type": "workspace-not-found"},
            "complete": True,
        }
        assert mux.request("f", "triples", {}, flow="nope")[0] == {
            "id": "f",
            "error": {"message": "Invalid flow default/nope", "type": "error"},
            "complete": True,
        }
        assert mux.request("g", "triples", {"s": "x"}, flow="default")[0] == {
            "id": "g",
            "response": {"error": {"type": "gateway-error", "message": "'str' object has no attribute 'get'"}},
            "complete": True,
        }
        reply = mux.request("c", "config", {"operation": "list", "type": "x"}, workspace="other")[0]
        assert reply["response"]["directory"] == [] and reply["complete"] is True
        # More than 16 requests in flight: all complete.
        for i in range(40):
            mux.send({"id": f"m{i}", "service": "flow", "request": {"operation": "list-flows"}})
        for i in range(40):
            assert mux.collect(f"m{i}")[-1]["complete"] is True
    finally:
        mux.close()


def test_mux_runs_at_most_16_requests_at_once(local_gw: LocalGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    """20 requests on one socket, each held until the test lets it go: 16 run at once and the
    17th starts only when one of them has ended. Counted, not timed (a timed version fails when CPU
    load delays the loop): the handlers count themselves and wait on a gate the test opens."""
    import asyncio
    import dataclasses

    from tg_connect.local.standins import registration

    state = {"running": 0, "most": 0, "started": 0}
    events: list[str] = []  # "start" and "end", in the order they happened on the gateway's loop
    gate: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def held(backend: Any, workspace: str, request: dict[str, Any]) -> Any:
        if not gate:
            gate.append((asyncio.get_running_loop(), asyncio.Event()))
        state["started"] += 1
        state["running"] += 1
        state["most"] = max(state["most"], state["running"])
        events.append("start")
        await gate[0][1].wait()
        state["running"] -= 1
        events.append("end")
        yield {"slept": True}, True

    def wait_for(condition: Any) -> None:
        deadline = time.monotonic() + 60
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.01)

    librarian = registration.GLOBAL_HANDLERS["librarian"]
    monkeypatch.setitem(registration.GLOBAL_HANDLERS, "librarian", dataclasses.replace(librarian, answer=held))
    mux = Mux(local_gw.url, TOKEN)
    try:
        for i in range(20):
            mux.send({"id": f"s{i}", "service": "librarian", "request": {"operation": "list-documents"}})
        wait_for(lambda: state["started"] >= 16)
        time.sleep(0.5)  # room for a 17th to start, were the limit not kept
        assert (state["started"], state["running"]) == (16, 16)
        loop, opened = gate[0]
        loop.call_soon_threadsafe(opened.set)
        for i in range(20):
            assert mux.collect(f"s{i}")[0]["response"] == {"slept": True}
    finally:
        if gate:
            gate[0][0].call_soon_threadsafe(gate[0][1].set)
        mux.close()
    assert state["most"] == 16 and state["started"] == 20 and state["running"] == 0
    assert events[:17] == ["start"] * 16 + ["end"]  # the 17th started after one had ended


# -- bulk sockets -------------------------------------------------------------------------------


def test_bulk_handshakes(local_gw: LocalGateway) -> None:
    base = local_gw.url
    assert handshake_status(ws_url(base, "/api/v1/flow/default/export/rows", token=TOKEN)) == 404
    assert handshake_status(ws_url(base, "/api/v1/flow/default/import/nope", token=TOKEN)) == 404
    assert handshake_status(ws_url(base, "/api/v1/flow/default/export/nope")) == 404  # kind before token
    for path, query_ in [
        ("/api/v1/flow/nope/import/triples", {}),
        ("/api/v1/flow/nope/export/triples", {}),
        ("/api/v1/flow/default/import/triples", {"workspace": "nows"}),
    ]:
        ws = ws_connect(ws_url(base, path, token=TOKEN, **query_))
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1000 and info.value.rcvd.reason == ""


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        {"triples": []},
        {"metadata": {"collection": "c"}, "triples": []},
        {"metadata": {"id": "x"}, "triples": []},
        {"metadata": {"id": "x", "collection": "c"}, "triples": ["s p o"]},
        {"metadata": {"id": "x", "collection": "c"}, "triples": [{"s": "http://plain/string", "p": {}, "o": {}}]},
    ],
)
def test_malformed_import_closes_quietly(local_gw: LocalGateway, http: Http, frame: Any) -> None:
    url = ws_url(local_gw.url, "/api/v1/flow/default/import/triples", token=TOKEN)
    ws = ws_connect(url)
    ws.send(frame if isinstance(frame, str) else json.dumps(frame))
    with pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1000 and info.value.rcvd.reason == ""
    assert query(http, {"collection": "c"})["response"] == []


def test_export_taps_transform_like_the_real_gateway(local_gw: LocalGateway) -> None:
    base = local_gw.url
    coll = "tap-" + uid()
    sent = {
        "triples": {
            "metadata": {"id": "t4", "root": "t4", "collection": coll},
            "triples": [{"s": iri(EX + "s"), "p": iri(EX + "p"), "o": lit("x", ln="en"), "g": EX + "graph1"}],
        },
        "graph-embeddings": {
            "metadata": {"id": "ge4", "root": "r", "collection": coll},
            "entities": [
                {
                    "entity": iri(EX + "e1"),
                    "vector": [0.1, 0.25, 1.0, 3.0, 1, 0, 5e-324],
                    "chunk_id": "c",
                    "rdf_type": ["t"],
                }
            ],
        },
        "document-embeddings": {
            "metadata": {"id": "de4", "root": "r4", "collection": coll},
            "chunks": [{"chunk_id": "urn:chunk:1", "vector": [0.5, 1.5], "attributes": {"a": "b"}}],
        },
        "entity-contexts": {
            "metadata": {"id": "ec4", "root": "r", "collection": coll},
            "entities": [{"entity": iri(EX + "e1"), "context": "some context", "rdf_type": [EX + "T"]}],
        },
    }
    received = {
        "triples": sent["triples"],
        "graph-embeddings": {
            "metadata": {"id": "ge4", "root": "", "collection": coll},
            "entities": [{"vector": [0.1, 0.25, 1.0, 3.0, 1, 0, 5e-324], "entity": iri(EX + "e1")}],
        },
        "document-embeddings": {
            "metadata": {"id": "de4", "root": "r4", "collection": coll},
            "chunks": [{"vector": [0.5, 1.5], "chunk_id": "urn:chunk:1"}],
        },
        "entity-contexts": {
            "metadata": {"id": "ec4", "root": "", "collection": coll},
            "entities": [{"context": "some context", "entity": iri(EX + "e1")}],
        },
    }
    for kind, message in sent.items():
        import_frames(base, kind, [message], TOKEN)  # before the tap opens: not replayed
        tap = Tap(base, kind, TOKEN)
        other = Tap(base, kind, TOKEN, workspace="other")
        try:
            import_frames(base, kind, [message], TOKEN)
            frames = tap.wait_for(1)
            assert frames == [received[kind]], kind
            assert json.dumps(frames[0]) == json.dumps(received[kind])  # key order too
            time.sleep(0.2)
            assert tap.frames == [received[kind]] and other.frames == []
        finally:
            tap.close()
            other.close()


def test_rows_import_is_stored(local_gw: LocalGateway) -> None:
    coll = "rows-" + uid()
    rows = {
        "metadata": {"id": "r1", "collection": coll},
        "schema_name": "person",
        "values": {"name": "Ada", "born": "1815"},
    }
    import_frames(local_gw.url, "rows", [rows, {**rows, "values": [{"name": "Alan"}, {"name": "Grace"}]}], TOKEN)
    log = local_gw.backend.workspace("default").log("rows", coll, "person")
    values = [json.loads(v) for b in log.batches() for v in b.column("values").to_pylist()]
    assert values == [{"born": "1815", "name": "Ada"}, {"name": "Alan"}, {"name": "Grace"}]


# -- knowledge cores ------------------------------------------------------------------------


def _core_items(http: Http, core_id: str, workspace: str = "default") -> list[Any]:
    status, headers, body = http.get(f"/api/v1/export-core?id={core_id}&workspace={workspace}")
    assert status == 200 and headers["Content-Type"] == "application/octet-stream"
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(body)
    return list(unpacker)


def test_knowledge_cores(local_gw: LocalGateway, http: Http) -> None:
    core = "core-" + uid()
    coll = "kc-" + uid()
    t1: list[dict[str, Any]] = [
        {"s": iri(EX + "core/s"), "p": iri(EX + "core/p1"), "o": lit("one")},
        {"s": iri(EX + "core/s"), "p": iri(EX + "core/lang"), "o": lit("hi", ln="en")},
    ]
    t2: list[dict[str, Any]] = [
        {"s": {"t": "b", "d": "b9"}, "p": iri(EX + "core/p2"), "o": iri(EX + "core/o2"), "g": EX + "graph1"},
        {"s": iri(EX + "core/s"), "p": iri(EX + "core/q"), "o": QT},
    ]
    ge = [{"entity": iri(EX + "core/s"), "vector": [0.1, 0.25, 1.0, 3.0]}]
    import_frames(
        local_gw.url,
        "triples",
        [
            {"metadata": {"id": "ignored-id", "root": core, "collection": coll}, "triples": t1},
            {"metadata": {"id": core, "root": "", "collection": coll}, "triples": t2},
        ],
        TOKEN,
    )
    import_frames(
        local_gw.url, "graph-embeddings", [{"metadata": {"id": core, "collection": coll}, "entities": ge}], TOKEN
    )
    assert core in http.post("/api/v1/knowledge", {"operation": "list-kg-cores"})[1]["ids"]
    meta = {"i": core, "c": "default"}
    items = _core_items(http, core)
    assert items == [
        ["t", {"m": meta, "t": t1}],
        ["t", {"m": meta, "t": t2}],
        ["ge", {"m": meta, "e": [{"e": ge[0]["entity"], "v": ge[0]["vector"]}]}],
    ]
    assert _core_items(http, "no-such-core") == []
    # Round trip: import the exported bytes as a new core.
    copy = core + "-copy"
    raw = b"".join(msgpack.packb(i) for i in items)
    status, _h, body = http.request("POST", f"/api/v1/import-core?id={copy}&workspace=default", raw=raw)
    assert status == 200 and body == b""
    assert _core_items(http, copy) == [[tag, {**b, "m": {"i": copy, "c": "default"}}] for tag, b in items]
    # get-kg-core over the mux streams the core, then eos; REST returns only the last frame.
    mux = Mux(local_gw.url, TOKEN)
    try:
        frames = mux.request("k", "knowledge", {"operation": "get-kg-core", "id": core})
    finally:
        mux.close()
    md = {"id": core, "root": "", "collection": "default"}
    assert [f["response"] for f in frames] == [
        {"triples": {"metadata": md, "triples": t1}},
        {"triples": {"metadata": md, "triples": t2}},
        {"graph-embeddings": {"metadata": md, "entities": [{"vector": ge[0]["vector"], "entity": ge[0]["entity"]}]}},
        {"eos": True},
    ]
    assert [f["complete"] for f in frames] == [False, False, False, True]
    assert http.post("/api/v1/knowledge", {"operation": "get-kg-core", "id": core}) == (200, {"eos": True})
    # load-kg-core stores the core into another collection (and taps it).
    target = "loaded-" + uid()
    tap = Tap(local_gw.url, "triples", TOKEN)
    try:
        assert http.post(
            "/api/v1/knowledge", {"operation": "load-kg-core", "id": copy, "flow": "default", "collection": target}
        ) == (200, {})
        frames = tap.wait_for(2)
    finally:
        tap.close()
    assert [f["metadata"] for f in frames] == [{"id": copy, "root": "", "collection": target}] * 2
    assert canon(query(http, {"collection": target, "g": "*"})["response"]) == canon(t1 + t2)
    assert http.post("/api/v1/knowledge", {"operation": "load-kg-core", "id": copy, "flow": "nope"}) == (
        200,
        {"error": {"type": "load-error", "message": "Invalid flow nope for workspace default"}},
    )
    # delete-kg-core
    assert http.post("/api/v1/knowledge", {"operation": "delete-kg-core", "id": copy}) == (200, {})
    assert copy not in http.post("/api/v1/knowledge", {"operation": "list-kg-cores"})[1]["ids"]
    assert _core_items(http, copy) == []


# -- metrics -----------------------------------------------------------------------------------


def test_metrics(local_gw: LocalGateway, http: Http) -> None:
    http.post("/api/v1/flow", {"operation": "list-flows"})
    http.post("/api/v1/flow/default/service/agent", {})  # no question: a gateway-error
    status, headers, body = http.get("/api/metrics/query?query=up")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    reply = json.loads(body)
    assert reply["status"] == "success" and reply["data"]["resultType"] == "vector"
    ups = {r["metric"]["job"]: r for r in reply["data"]["result"]}
    assert sorted(ups) == ["api-gateway", "backend-group"]  # two scrape targets, as in the reference deployment
    up = ups["api-gateway"]
    assert up["metric"]["__name__"] == "up" and up["value"][1] == "1" and isinstance(up["value"][0], float)
    result = json.loads(http.get("/api/metrics/query?query=tg_gateway_request_total%7Bservice%3D%22flow%22%7D")[2])
    series = {r["metric"]["status"]: int(r["value"][1]) for r in result["data"]["result"]}
    assert series["ok"] >= 1 and all(r["metric"]["service"] == "flow" for r in result["data"]["result"])
    result = json.loads(
        http.get(
            '/api/metrics/query?query=tg_gateway_request_total{service="agent",status="error"}'.replace('"', "%22")
            .replace("{", "%7B")
            .replace("}", "%7D")
        )[2]
    )
    assert int(result["data"]["result"][0]["value"][1]) >= 1
    status, _h, body = http.get("/api/metrics/query?query=%28%28")
    assert status == 400 and json.loads(body)["errorType"] == "bad_data"
    status, _h, body = http.get("/api/metrics/query")
    assert status == 400 and "no expression found" in json.loads(body)["error"]
    assert json.loads(http.get("/api/metrics/query?query=nonexistent_metric")[2])["data"]["result"] == []
    assert "tg_gateway_request_total" in json.loads(http.get("/api/metrics/label/__name__/values")[2])["data"]
    assert "service" in json.loads(http.get("/api/metrics/labels")[2])["data"]
    assert http.get("/api/metrics/nope")[0] == 404


def test_stop_with_open_sockets_is_prompt() -> None:
    gw = LocalGateway(token=TOKEN).start()
    mux = Mux(gw.url, TOKEN)
    tap = Tap(gw.url, "triples", TOKEN)
    importer = ws_connect(ws_url(gw.url, "/api/v1/flow/default/import/triples", token=TOKEN))
    importer.send(json.dumps({"metadata": {"id": "x", "collection": "c"}, "triples": []}))
    t0 = time.perf_counter()
    gw.stop()
    assert time.perf_counter() - t0 < 5
    with pytest.raises(ConnectionClosed):
        mux.recv(timeout=5)
    tap.close()
    with pytest.raises(RuntimeError):
        _ = gw.url


def test_run_forever_prints_url_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    code = "from tg_connect.local import run_forever; run_forever(port=0, token='tg_secret_never_printed')"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        preexec_fn=ctrl_c_as_at_a_terminal,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("tg-connect local gateway at http://127.0.0.1:")
        url = first.split(" at ")[1].strip()
        assert Http(url, "tg_secret_never_printed").post("/api/v1/flow", {"operation": "list-flows"})[0] == 200
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        out = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    text = first + out
    assert "development and test target" in text and "stopped" in text
    assert "tg_secret_never_printed" not in text


# -- persistence -----------------------------------------------------------------------------------


def test_persistence_across_restart(tmp_path: Path) -> None:
    data = tmp_path / "gw"
    # msgpack (knowledge cores) cannot carry a lone surrogate, here as in the real gateway.
    triples = [t for t in TERM_TRIPLES if "surrogate" not in json.dumps(t)]
    with LocalGateway(data=data, token=TOKEN) as gw:
        h = Http(gw.url, TOKEN)
        import_frames(gw.url, "triples", [{"metadata": {"id": "p1", "collection": "keep"}, "triples": triples}], TOKEN)
        import_frames(
            gw.url,
            "graph-embeddings",
            [
                {
                    "metadata": {"id": "p1", "collection": "keep"},
                    "entities": [{"entity": iri(EX + "e"), "vector": [1.5, 2]}],
                }
            ],
            TOKEN,
        )
        h.post("/api/v1/config", {"operation": "put", "values": [{"type": "t", "key": "k", "value": "v"}]})
        h.post(
            "/api/v1/flow",
            {"operation": "start-flow", "flow-id": "f9", "blueprint-name": "local", "description": "kept"},
        )
        before = _core_items(h, "p1")
    with LocalGateway(data=data, token=TOKEN) as gw:
        h = Http(gw.url, TOKEN)
        assert canon(query(h, {"collection": "keep", "g": "*", "limit": 1000})["response"]) == canon(triples)
        assert h.post("/api/v1/config", {"operation": "get", "keys": [{"type": "t", "key": "k"}]})[1]["values"] == [
            {"type": "t", "key": "k", "value": "v"}
        ]
        assert h.post("/api/v1/flow", {"operation": "list-flows"})[1]["flow-ids"] == ["default", "f9"]
        assert _core_items(h, "p1") == before and before
        assert h.post("/api/v1/knowledge", {"operation": "list-kg-cores"})[1]["ids"] == ["p1"]
        log = gw.backend.workspace("default").log("graph-embeddings", "keep")
        assert log.num_rows() == 1
        names = [
            c["collection"]
            for c in h.post("/api/v1/collection-management", {"operation": "list-collections"})[1]["collections"]
        ]
        assert "keep" in names
        # Language spellings survive the restart too.
        assert query(h, {"collection": "keep", "o": lit("colour", ln="en-GB")})["response"][0]["o"] == lit(
            "colour", ln="en-GB"
        )
        h.post("/api/v1/collection-management", {"operation": "delete-collection", "collection": "keep"})
        assert query(h, {"collection": "keep", "g": "*"})["response"] == []
    assert not (data / "triples" / "default" / "keep").exists()


# -- volume ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_million_triples_volume() -> None:
    frames = 1000
    per_frame = 1000
    with LocalGateway(token=TOKEN) as gw:
        t0 = time.perf_counter()
        url = ws_url(gw.url, "/api/v1/flow/default/import/triples", token=TOKEN)
        with ws_connect(url) as ws:
            for f in range(frames):
                triples = [
                    {
                        "s": {"t": "i", "i": f"http://example.org/s/{f}/{i}"},
                        "p": {"t": "i", "i": f"http://example.org/p/{i % 10}"},
                        "o": {"t": "l", "v": f"value {f} {i}"},
                    }
                    for i in range(per_frame)
                ]
                ws.send(json.dumps({"metadata": {"id": f"doc{f}", "collection": "volume"}, "triples": triples}))
        ingest = time.perf_counter() - t0
        t1 = time.perf_counter()
        mux = Mux(gw.url, TOKEN)
        mux.send(
            {
                "id": "all",
                "service": "triples",
                "flow": "default",
                "request": {"collection": "volume", "limit": 2_000_000, "streaming": True, "batch-size": 5000},
            }
        )
        count = 0
        batches = 0
        while True:
            frame = mux.recv(60)
            count += len(frame["response"]["response"])
            batches += 1
            if frame["complete"]:
                break
        mux.close()
        stream = time.perf_counter() - t1
        print(f"\n1M triples: ingest {ingest:.1f} s, streaming count {stream:.1f} s ({batches} frames)")
        assert count == frames * per_frame
        assert batches == frames * per_frame // 5000
        # How long it took is printed, not asserted: speed belongs to bench/, not to tests.
