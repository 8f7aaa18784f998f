"""``LocalGateway(llm_url=...)`` / ``tg-connect serve --llm-url``: text completion (and what is
built on it) goes to an OpenAI-compatible endpoint, here a tiny fake one on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from tg_connect.cli import build_parser
from tg_connect.local import LocalGateway

from .helpers import TOKEN, Http, Mux


class FakeOpenAI:
    """``/v1/models`` and ``/v1/chat/completions`` (JSON or server-sent events), on its own loop.

    The reply is ``"reply to: <last user message>"``; a prompt containing ``BREAK`` gets a 500.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self.url = ""

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/v1"
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "tests", "created": 1}]}
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        content = body["messages"][-1]["content"]
        text = (
            content
            if isinstance(content, str)
            else " ".join(part.get("text", "") for part in content if isinstance(part, dict))
        )
        if "BREAK" in text:
            return web.json_response({"error": {"message": "boom"}}, status=500)
        reply = f"reply to: {text}"
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "x",
                    "model": body["model"],
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if "CUT" in text:  # one event, then the connection drops mid-stream
            event = {"model": body["model"], "choices": [{"index": 0, "delta": {"content": "partial"}}]}
            await response.write(f"data: {json.dumps(event)}\n\n".encode())
            assert request.transport is not None
            request.transport.close()
            return response
        pieces = [reply[:6], reply[6:12], reply[12:]]
        for piece in pieces:
            event = {"id": "x", "model": body["model"], "choices": [{"index": 0, "delta": {"content": piece}}]}
            await response.write(f"data: {json.dumps(event)}\n\n".encode())
        usage = {
            "id": "x",
            "model": body["model"],
            "choices": [],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        }
        await response.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
        await response.write_eof()
        return response


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def test_text_completion_goes_to_the_endpoint(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_CONNECT_LLM_API_KEY", "sk-test-secret")
    with LocalGateway(token=TOKEN, llm_url=fake.url) as gw:
        http = Http(gw.url, TOKEN)
        reply = http.post("/api/v1/flow/default/service/text-completion", {"system": "be nice", "prompt": "hi"})[1]
        assert reply == {
            "response": "reply to: hi",
            "in_token": 7,
            "out_token": 3,
            "model": "fake-model",
            "end_of_stream": True,
        }
        assert fake.requests[-1] == {
            "model": "fake-model",
            "stream": False,
            "messages": [{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"}],
        }
        assert fake.headers[-1]["Authorization"] == "Bearer sk-test-secret"
        mux = Mux(gw.url, TOKEN)
        try:
            frames = mux.request("s", "text-completion", {"prompt": "hello", "streaming": True}, flow="default")
            assert [f["response"] for f in frames] == [
                {"response": "reply ", "model": "fake-model", "end_of_stream": False},
                {"response": "to: he", "model": "fake-model", "end_of_stream": False},
                {"response": "llo", "model": "fake-model", "end_of_stream": False},
                {"response": "", "in_token": 7, "out_token": 3, "model": "fake-model", "end_of_stream": True},
            ]
            assert fake.requests[-1]["stream"] is True
            assert fake.requests[-1]["stream_options"] == {"include_usage": True}
            # Errors from the endpoint are dropped, as the 2.11 gateway drops LLM errors.
            for streaming in (False, True):
                assert mux.request(
                    f"e{streaming}", "text-completion", {"prompt": "BREAK", "streaming": streaming}, flow="default"
                )[0]["response"] == {"response": None, "end_of_stream": True}
            cut = mux.request("cut", "text-completion", {"prompt": "CUT", "streaming": True}, flow="default")
            assert [f["response"] for f in cut] == [
                {"response": "partial", "model": "fake-model", "end_of_stream": False},
                {"response": None, "end_of_stream": True},
            ]
            models = mux.request("m", "text-completion", {"operation": "list-models"}, flow="default")
            assert models[0]["response"]["models"] == [{"id": "fake-model", "owned_by": "tests", "created": 1}]
            # Prompts use it too: the seed holds plain-language templates for a real model.
            prompt = mux.request("p", "prompt", {"id": "question", "variables": {"question": "why?"}}, flow="default")[
                0
            ]["response"]
            assert prompt["text"] == "reply to: why?"
            assert fake.requests[-1]["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}
            rag = mux.request("g", "graph-rag", {"query": "Who is Ada?", "streaming": True}, flow="default")
            answer = "".join(
                f["response"].get("response", "") for f in rag if f["response"].get("message_type") == "chunk"
            )
            assert answer.startswith("reply to: Answer the question using only the knowledge graph facts")
        finally:
            mux.close()
    assert "sk-test-secret" not in repr(gw)


def test_json_prompt_asks_for_json(fake: FakeOpenAI) -> None:
    with LocalGateway(token=TOKEN, llm_url=fake.url, llm_model="chosen") as gw:
        http = Http(gw.url, TOKEN)
        schema = {"type": "object", "properties": {"a": {"type": "string"}}}
        template = {"prompt": "give {{x}}", "response-type": "json", "schema": schema}
        http.post(
            "/api/v1/config",
            {"operation": "put", "values": [{"type": "prompt", "key": "template.js", "value": json.dumps(template)}]},
        )
        # The fake's reply is not JSON: the prompt service fails and the error is dropped.
        assert http.post("/api/v1/flow/default/service/prompt", {"id": "js", "variables": {"x": 1}})[1] == {
            "end_of_stream": True
        }
        assert fake.requests[-1]["model"] == "chosen"
        assert fake.requests[-1]["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": schema},
        }


def test_unreachable_endpoint_is_a_dropped_error() -> None:
    with LocalGateway(token=TOKEN, llm_url="http://127.0.0.1:9/v1", llm_model="m") as gw:
        http = Http(gw.url, TOKEN)
        assert http.post("/api/v1/flow/default/service/text-completion", {"prompt": "hi"})[1] == {
            "response": None,
            "end_of_stream": True,
        }


def test_serve_flag() -> None:
    args = build_parser().parse_args(["serve", "--llm-url", "http://localhost:11434/v1"])
    assert args.llm_url == "http://localhost:11434/v1"
    assert build_parser().parse_args(["serve"]).llm_url is None


def test_printed_url_has_no_credentials() -> None:
    from tg_connect.local.front.server import _without_credentials

    assert _without_credentials("http://user:secret@host:8000/v1") == "http://host:8000/v1"
    assert _without_credentials("http://localhost:11434/v1") == "http://localhost:11434/v1"
