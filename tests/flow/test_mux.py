"""The socket under load and under failure: many threads and tasks on one Api, streaming inside
a running event loop, dropped sockets, reconnection, close, timeouts and back-pressure."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tg_connect import Api, GatewayConnectionError, GatewayTimeoutError, TextChunk

from ..conftest import Gateway
from .scripted import Drop, Hang, ScriptedGateway, Sleep, frames

FOX = "The quick brown fox jumps over the lazy dog."


@pytest.fixture
def scripted() -> Iterator[ScriptedGateway]:
    gw = ScriptedGateway().start()
    try:
        yield gw
    finally:
        gw.stop()


def words(text: str) -> list[dict[str, Any]]:
    """A streamed completion of ``text``, one frame per word, as the gateway sends it."""
    parts = [" " + w if i else w for i, w in enumerate(text.split())]
    return [{"response": p, "end_of_stream": False} for p in parts] + [{"response": "", "end_of_stream": True}]


def test_1000_requests_from_16_threads_share_one_socket(gateway: Gateway) -> None:
    with Api(gateway.url, token=gateway.token) as api:
        flow = api.socket().flow("default")

        def work(worker: int) -> list[bool]:
            return [flow.text_completion("", f"echo: {worker}-{i}") == f"{worker}-{i}" for i in range(1000 // 16 + 1)]

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = [ok for oks in pool.map(work, range(16)) for ok in oks]
    assert len(results) >= 1000 and all(results)


def test_1000_concurrent_requests_on_a_cold_async_client(gateway: Gateway) -> None:
    async def main() -> list[str]:
        async with Api(gateway.url, token=gateway.token) as api:
            flow = api.async_socket().flow("default")  # nothing connected yet
            return await asyncio.gather(*[flow.text_completion("", f"echo: {i}") for i in range(1000)])

    assert asyncio.run(main()) == [str(i) for i in range(1000)]


def test_sync_streaming_inside_a_running_event_loop(gateway: Gateway) -> None:
    """What a notebook does: sync calls while an event loop runs in the same thread."""

    async def notebook_cell() -> tuple[list[Any], str, list[str]]:
        api = Api(gateway.url, token=gateway.token)
        chunks = list(api.socket().flow("default").text_completion("", "What is X?", streaming=True))
        answer = api.flow().id("default").text_completion("", "echo: inside")
        flows = api.socket().list()
        api.close()
        return chunks, answer, flows

    chunks, answer, flows = asyncio.run(notebook_cell())
    assert "".join(c.content for c in chunks) == FOX and all(isinstance(c, TextChunk) for c in chunks)
    assert answer == "inside" and "default" in flows


def test_two_event_loops_one_after_the_other(gateway: Gateway) -> None:
    api = Api(gateway.url, token=gateway.token)

    async def ask(text: str) -> str:
        return await api.async_socket().flow("default").text_completion("", f"echo: {text}")

    assert asyncio.run(ask("one")) == "one"
    assert asyncio.run(ask("two")) == "two"  # a new loop gets its own socket
    api.close()


@pytest.mark.parametrize("face", ["socket", "async_socket"])
def test_a_socket_dropped_mid_stream_is_a_connection_error(scripted: ScriptedGateway, face: str) -> None:
    scripted.scripts["text-completion"] = frames(*words("one two three"))[:2] + [Sleep(0.2), Drop()]
    api = Api(scripted.url, token="tg_good", timeout=30)
    received: list[Any] = []

    async def consume_async() -> None:
        async for chunk in api.async_socket().flow("default").text_completion("", "x", streaming=True):
            received.append(chunk)

    with pytest.raises(ConnectionError) as info:
        if face == "socket":
            for chunk in api.socket().flow("default").text_completion("", "x", streaming=True):
                received.append(chunk)
        else:
            asyncio.run(consume_async())
    assert isinstance(info.value, GatewayConnectionError)
    assert "text-completion request" in str(info.value) and "lost" in str(info.value)
    assert [c.content for c in received] == ["one", " two"]
    # the next request reconnects
    scripted.scripts["text-completion"] = frames({"response": "back", "end_of_stream": True})
    if face == "socket":
        assert api.socket().flow("default").text_completion("", "x") == "back"
        api.close()
    else:

        async def again() -> str:
            async with api:
                return await api.async_socket().flow("default").text_completion("", "x")

        assert asyncio.run(again()) == "back"
    assert scripted.sockets_opened == 2


def test_close_fails_requests_in_flight_and_closes_the_socket(scripted: ScriptedGateway) -> None:
    scripted.scripts["text-completion"] = frames(*words("a b"))[:1] + [Hang()]
    scripted.scripts["flow"] = frames({"flow-ids": ["default"]})
    api = Api(scripted.url, token="tg_good", timeout=30)
    stream = api.socket().flow("default").text_completion("", "x", streaming=True)
    assert next(stream).content == "a"
    errors: list[BaseException] = []

    def rest_of_stream() -> None:
        try:
            list(stream)
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=rest_of_stream)
    reader.start()
    time.sleep(0.2)
    api.close()
    reader.join(10)
    assert not reader.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], GatewayConnectionError)
    assert "the client closed the connection" in str(errors[0])
    deadline = time.monotonic() + 5
    while scripted.sockets_closed < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert scripted.sockets_closed == 1
    assert api.socket().list() == ["default"]  # usable again: a new connection
    api.close()


def test_a_silent_gateway_times_out(scripted: ScriptedGateway) -> None:
    scripted.scripts["text-completion"] = [Hang()]
    with Api(scripted.url, token="tg_good", timeout=0.5) as api:
        for face in (api.socket(), api.flow()):
            with pytest.raises(TimeoutError) as info:
                face.id("default").text_completion("", "x")
            assert isinstance(info.value, GatewayTimeoutError)


def test_the_timeout_restarts_at_every_chunk(scripted: ScriptedGateway) -> None:
    # Twelve chunks 0.25 s apart: the whole answer takes at least 3 s, longer than the 2 s
    # timeout, and each gap leaves 1.75 s to spare for a loaded machine (was 0.75 s with 1 s).
    text = "one two three four five six seven eight nine ten eleven"
    slow: list[Any] = []
    for frame in frames(*words(text)):
        slow += [Sleep(0.25), frame]
    assert len(slow) == 24  # twelve frames, each after a 0.25 s sleep
    scripted.scripts["text-completion"] = slow
    with Api(scripted.url, token="tg_good", timeout=2.0) as api:
        chunks = list(api.socket().flow("default").text_completion("", "x", streaming=True))
    assert "".join(map(str, chunks)) == text


def test_a_slow_consumer_slows_the_socket(scripted: ScriptedGateway) -> None:
    big = "x" * 65536
    scripted.scripts["text-completion"] = frames(
        *([{"response": big, "end_of_stream": False}] * 2000 + [{"response": "", "end_of_stream": True}])
    )
    with Api(scripted.url, token="tg_good") as api:
        stream = api.socket().flow("default").text_completion("", "x", streaming=True)
        for _ in range(5):
            next(stream)
        time.sleep(1.0)  # the consumer stops reading
        in_flight = scripted.sent
        rest = sum(len(c.content) for c in stream)
    # Held back by the bounded queues and socket buffers, nowhere near all 2000 frames (131 MB).
    assert in_flight < 500
    assert rest == 1995 * len(big)


def test_abandoned_streams_give_their_slots_back(scripted: ScriptedGateway) -> None:
    """More streams than the socket's 16 slots, each left after one chunk and never closed."""
    import gc

    scripted.scripts["text-completion"] = frames(*words("a b c"))[:1] + [Hang()]
    scripted.scripts["flow"] = frames({"flow-ids": ["default"]})
    with Api(scripted.url, token="tg_good", timeout=30) as api:
        flow = api.socket().flow("default")
        for _ in range(40):
            stream = flow.text_completion("", "x", streaming=True)
            assert next(stream).content == "a"
            del stream
            gc.collect()
        assert api.socket().list() == ["default"]  # a slot is free

        async def abandon() -> list[str]:
            aflow = api.async_socket().flow("default")
            try:
                for _ in range(40):
                    async for chunk in aflow.text_completion("", "x", streaming=True):
                        assert chunk.content == "a"
                        break
                    gc.collect()
                    await asyncio.sleep(0)
                return await api.async_socket().list()
            finally:
                await api.async_socket().aclose()

        assert asyncio.run(abandon()) == ["default"]
