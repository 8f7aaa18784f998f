"""Errors: one hierarchy, raised wherever the gateway puts an error (or drops one), on every
face; tokens never shown; parameters checked before anything is sent."""

from __future__ import annotations

import asyncio
import logging
import traceback
import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import tg_connect
from tg_connect import (
    AccessDeniedError,
    Api,
    AuthenticationError,
    ExplainEvent,
    GatewayConnectionError,
    InputError,
    RAGChunk,
    ServiceError,
    TgConnectError,
)
from tg_connect.bulk import read as bulk_read
from tg_connect.transport import connect

from ..conftest import Gateway
from .conftest import FACES, Face, close_face, make_face
from .scripted import Hang, ScriptedGateway, frames

SECRET = "tg_SECRET_4f9a1c"


@pytest.fixture
def scripted() -> Iterator[ScriptedGateway]:
    gw = ScriptedGateway(token=SECRET).start()
    try:
        yield gw
    finally:
        gw.stop()


@pytest.fixture(params=FACES)
def sface(request: pytest.FixtureRequest, scripted: ScriptedGateway) -> Iterator[Face]:
    """A face on the scripted gateway."""
    face = make_face(request.param, Gateway("scripted", scripted.url, SECRET), timeout=30)
    try:
        yield face
    finally:
        close_face(face)


def test_the_hierarchy() -> None:
    assert issubclass(GatewayConnectionError, ConnectionError) and issubclass(GatewayConnectionError, TgConnectError)
    assert issubclass(tg_connect.GatewayTimeoutError, TimeoutError)
    assert issubclass(AuthenticationError, PermissionError) and issubclass(AccessDeniedError, PermissionError)
    assert issubclass(InputError, ValueError) and issubclass(ServiceError, TgConnectError)


# (service, dropped-error reply the 2.11 gateway sends, call)
DROPPED = [
    ("text-completion", {"response": None, "end_of_stream": True}, lambda f: f.text_completion("", "x")),
    ("prompt", {"end_of_stream": True}, lambda f: f.prompt("greet", {"name": "x"})),
    ("embeddings", {"vectors": []}, lambda f: f.embeddings(["a", "b"])),
    ("mcp-tool", {}, lambda f: f.mcp_tool("t")),
    ("image-to-text", {"description": ""}, lambda f: f.image_to_text(b"x", "image/png")),
    ("reranker", {"results": []}, lambda f: f.reranker("q", ["d"])),
    ("triples", {}, lambda f: f.triples_query(p="http://x")),
]


@pytest.mark.parametrize("service,reply,call", DROPPED, ids=[d[0] for d in DROPPED])
def test_dropped_errors_raise(
    sface: Face, scripted: ScriptedGateway, service: str, reply: dict[str, Any], call: Any
) -> None:
    scripted.scripts[service] = frames(reply)
    with pytest.raises(ServiceError) as info:
        sface.flow(call)
    assert info.value.service == service and info.value.type == "missing-field"
    assert "drops this service's errors" in str(info.value)


def test_dropped_global_errors_raise(sface: Face, scripted: ScriptedGateway) -> None:
    scripted.scripts["config"] = frames({"version": 0, "values": [], "directory": [], "config": {}})
    scripted.scripts["flow"] = frames(
        {
            "blueprint-names": [],
            "flow-ids": [],
            "blueprint-definition": "",
            "flow": "",
            "description": "",
            "parameters": {},
        }
    )
    for call in (lambda c: c.config().get([("t", "k")]), lambda c: c.config().list("t"), lambda c: c.config().all()):
        with pytest.raises(ServiceError, match="version 0"):
            sface.call(call)
    with pytest.raises(ServiceError, match="no flow 'f'"):
        sface.call(lambda c: c.get("f"))
    with pytest.raises(ServiceError, match="no blueprint 'b'"):
        sface.call(lambda c: c.get_blueprint("b"))


def test_a_rag_error_is_a_chunk_then_an_exception(sface: Face, scripted: ScriptedGateway) -> None:
    error = {"type": "graph-rag-error", "message": "no graph"}
    scripted.scripts["graph-rag"] = frames(
        {
            "message_type": "explain",
            "response": "",
            "explain_id": "urn:e",
            "explain_graph": "urn:g",
            "explain_triples": [],
        },
        {"message_type": "chunk", "response": "An", "end_of_stream": False, "end_of_session": False},
        {"message_type": "chunk", "response": "", "end_of_stream": True, "end_of_session": True, "error": error},
    )
    received: list[Any] = []

    def stream(flow: Any) -> Any:
        if sface.is_async:

            async def run() -> None:
                async for chunk in flow.graph_rag("q", streaming=True):
                    received.append(chunk)

            return run()
        for chunk in flow.graph_rag("q", streaming=True):
            received.append(chunk)

    with pytest.raises(ServiceError) as info:
        sface.flow(stream)
    assert (info.value.service, info.value.type, info.value.message) == ("graph-rag", "graph-rag-error", "no graph")
    if sface.socket:
        assert [type(c) for c in received] == [ExplainEvent, RAGChunk, RAGChunk]
    assert isinstance(received[-1], RAGChunk) and received[-1].error == error
    with pytest.raises(ServiceError, match="no graph"):
        sface.flow(lambda f: f.graph_rag("q"))


def test_a_knowledge_error_ends_the_request_without_waiting(sface: Face, scripted: ScriptedGateway) -> None:
    # 2.11 sends knowledge errors with complete:false and then nothing (docs/protocol.md 5.5).
    scripted.scripts["knowledge"] = [
        {"response": {"error": {"type": "load-error", "message": "no core"}}, "complete": False},
        Hang(),
    ]
    with pytest.raises(ServiceError) as info:  # a ServiceError at once, not a timeout after 30 s
        sface.call(lambda c: c.knowledge().load_kg_core("nope"))
    assert (info.value.service, info.value.type, info.value.message) == ("knowledge", "load-error", "no core")


def test_gateway_error_shapes(sface: Face, scripted: ScriptedGateway) -> None:
    scripted.scripts["agent"] = frames(
        {"error": {"type": "gateway-error", "message": "'Error' object has no attribute 'code'"}}
    )
    with pytest.raises(ServiceError, match="loses the agent's own error message"):
        sface.flow(lambda f: f.agent("q"))
    scripted.scripts["embeddings"] = frames({"error": {"type": "gateway-error", "message": ""}})
    with pytest.raises(ServiceError, match="did not answer within the gateway's timeout"):
        sface.flow(lambda f: f.embeddings("q"))
    scripted.scripts["triples"] = frames({"error": "Invalid flow default/f2"})  # REST's plain string form
    with pytest.raises(ServiceError, match="Invalid flow default/f2"):
        sface.flow(lambda f: f.triples_query())


@pytest.mark.parametrize(
    "kind,error",
    [
        ("access-denied", AccessDeniedError),
        ("auth-required", AuthenticationError),
        ("unknown-service", ServiceError),
        ("error", ServiceError),
    ],
)
def test_top_level_socket_errors(scripted: ScriptedGateway, kind: str, error: type[Exception]) -> None:
    scripted.scripts["embeddings"] = [{"error": {"type": kind, "message": "refused"}, "complete": True}]
    with Api(scripted.url, token=SECRET) as api, pytest.raises(error, match="refused"):
        api.socket().flow("default").embeddings("x")


def test_bad_tokens_are_refused_and_never_shown(scripted: ScriptedGateway, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "tg_WRONG_77d1"
    caplog.set_level(logging.DEBUG)
    for face in ("socket", "rest", "async_socket", "async_rest"):
        f = make_face(face, Gateway("scripted", scripted.url, wrong))
        try:
            with pytest.raises(AuthenticationError) as info:
                f.call(lambda c: c.list())
        finally:
            close_face(f)
        text = "".join(traceback.format_exception(info.value)) + repr(info.value) + repr(f.api)
        assert wrong not in text and "auth" in str(info.value)
    assert wrong not in caplog.text


def test_the_token_is_not_in_logs_reprs_or_errors(
    gateway: Gateway, caplog: pytest.LogCaptureFixture, run_id: str
) -> None:
    secret = "tg_" + "never-shown-" + run_id  # the real gateway takes any tg_ key
    caplog.set_level(logging.DEBUG)
    api = Api(gateway.url, token=secret if gateway.real else gateway.token)
    token = secret if gateway.real else None
    flow = api.socket().flow("default")
    texts = [
        repr(api),
        repr(api.socket()),
        repr(flow),
        repr(api.flow().id("default")),
        repr(api.async_socket()),
        repr(api.target),
        repr(api.metrics()),
    ]
    assert flow.text_completion("", "echo: x") == "x"
    assert api.flow().id("default").embeddings("x")
    report = api.bulk().load(
        pd.DataFrame({"s": ["http://example.org/s"], "p": [f"http://example.org/{run_id}"], "o": ["o"]}),
        collection=f"c{run_id}",
    )
    assert report.ok
    for bad in (
        # a string where a term belongs: the real gateway's own error (request() checks fields, not terms)
        lambda: flow.sparql_query("nonsense") if not gateway.real else flow.request("triples", {"s": "x", "limit": 1}),
        lambda: api.socket().flow("nope").embeddings("x"),
        lambda: api.flow().id("nope").embeddings("x"),
    ):
        with pytest.raises(TgConnectError) as info:
            bad()
        texts.append("".join(traceback.format_exception(info.value)))
    api.close()
    if token:
        assert not any(token in t for t in texts)
        assert token not in caplog.text
    # websockets logged the socket's first frame and the bulk socket's URL, redacted
    assert '"token": "***"' in caplog.text
    if token:
        assert "token=***" in caplog.text


def test_unreachable_gateway() -> None:
    api = Api("http://127.0.0.1:9", token=SECRET, timeout=5)  # nothing listens on port 9
    for call in (lambda: api.flow().list(), lambda: api.socket().list()):
        with pytest.raises(ConnectionError) as info:
            call()
        assert isinstance(info.value, GatewayConnectionError) and "127.0.0.1:9" in str(info.value)
        assert SECRET not in "".join(traceback.format_exception(info.value))
    api.close()


def test_urls_and_parameters_are_checked_first() -> None:
    for url in ("ftp://host", "host:8088", "http://user:pw@host", "http://host/?token=x", ""):
        with pytest.raises(ValueError):
            Api(url)
    for timeout in (0, -1, float("nan"), "10", True):
        with pytest.raises(ValueError):
            Api("http://host", timeout=timeout)  # type: ignore[arg-type]
    for url in ("http://h", "https://h", "ws://h:1/base", "wss://h"):
        assert Api(url).url.split("://")[1].startswith("h")
    api = Api("http://127.0.0.1:9")  # nothing is sent for a call that fails validation
    flow = api.socket().flow("default")
    for bad in (
        lambda: flow.text_completion("", ""),
        lambda: flow.agent("q", bogus=1),  # type: ignore[call-overload]
        lambda: flow.agent("q", pattern="guess"),
        lambda: flow.embeddings([1]),  # type: ignore[list-item]
        lambda: flow.graph_embeddings_query(vector=[float("inf")]),
        lambda: flow.reranker("q", []),
        lambda: flow.request("embeddings", {"texts": []}, streaming=True),
        lambda: api.socket().request("config", {"operation": "drop-all"}),
        lambda: api.config().put([("t", "k", None)]),
    ):  # type: ignore[list-item]
        with pytest.raises(InputError):
            bad()
    api.close()


def test_verify_false_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connect, "_warned", False)
    api = Api("https://127.0.0.1:9", verify=False, timeout=5)
    with pytest.warns(UserWarning, match="verification is disabled"), pytest.raises(GatewayConnectionError):
        api.flow().list()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(GatewayConnectionError):
            api.socket().list()
    api.close()


def test_async_errors_leave_the_loop_usable(scripted: ScriptedGateway) -> None:
    scripted.scripts["embeddings"] = frames({"vectors": []})

    async def main() -> list[list[float]]:
        async with Api(scripted.url, token=SECRET) as api:
            flow = api.async_socket().flow("default")
            with pytest.raises(ServiceError):
                await flow.embeddings("x")
            scripted.scripts["embeddings"] = frames({"vectors": [[1.0, 2.0]]})
            return await flow.embeddings("x")

    assert asyncio.run(main()) == [[1.0, 2.0]]


REFUSED = {"error": {"type": "auth-required", "message": "auth failure"}, "complete": True}
TRIPLE = {"s": {"t": "i", "i": "http://a"}, "p": {"t": "i", "i": "http://p"}, "o": {"t": "l", "v": "x"}}


def test_a_triples_read_refused_by_a_failing_iam_is_asked_again(
    scripted: ScriptedGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The socket's token was accepted, then one request was refused ('auth-required': the
    2.11 gateway fails closed when its IAM times out): the read asks again and succeeds."""
    monkeypatch.setattr(bulk_read, "_TRANSIENT_AUTH_RETRY_DELAYS", (0.05, 0.05))
    asked: list[dict[str, Any]] = []

    def triples(request: dict[str, Any]) -> list[Any]:
        asked.append(request)
        return [REFUSED] if len(asked) < 3 else frames({"response": [TRIPLE]})

    scripted.scripts["triples"] = triples
    got = tg_connect.read_trustgraph("triples", url=scripted.url, token=SECRET)
    assert len(asked) == 3 and got["o"].tolist() == ["x"]


def test_a_read_refused_every_time_says_why(scripted: ScriptedGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_read, "_TRANSIENT_AUTH_RETRY_DELAYS", (0.05, 0.05))
    scripted.scripts["triples"] = [REFUSED]
    with pytest.raises(AuthenticationError) as caught:
        tg_connect.read_trustgraph("triples", url=scripted.url, token=SECRET)
    assert caught.value.transient and "IAM" in str(caught.value) and "check the token" not in str(caught.value)
    assert SECRET not in str(caught.value)
    assert sum(1 for r in scripted.received if r.get("service") == "triples") == 3
