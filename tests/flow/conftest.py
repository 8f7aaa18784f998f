"""The four faces of the flow layer, as one fixture, so every test runs on each of them.

``face`` is REST sync (``api.flow()``), REST async (``api.async_flow()``), socket sync
(``api.socket()``) or socket async (``api.async_socket()``), against each gateway under test.
``face.call(fn)`` runs ``fn(client)`` and returns its result the same way for all four:
async faces run on their own event loop in another thread (as a user's application would),
and a streamed answer comes back as the list of its chunks.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tg_connect import Api
from tg_connect.flow import ChunkIterator, ChunkStream

from ..conftest import Gateway

FACES = ("rest", "async_rest", "socket", "async_socket")


class LoopThread:
    """An application's own event loop, running in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-app-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 300) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Face:
    name: str
    api: Api
    gateway: Gateway
    loop: LoopThread | None = None

    @property
    def is_async(self) -> bool:
        return self.loop is not None

    @property
    def socket(self) -> bool:
        """Whether this face delivers every frame (REST returns only the last one)."""
        return self.name.endswith("socket")

    def client(self) -> Any:
        return {
            "rest": self.api.flow,
            "socket": self.api.socket,
            "async_rest": self.api.async_flow,
            "async_socket": self.api.async_socket,
        }[self.name]()

    def call(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(client)``, awaited or collected as needed; the same result on every face."""
        if self.loop is None:
            result = fn(self.client())
            return list(result) if isinstance(result, ChunkIterator) else result

        async def run() -> Any:
            result = fn(self.client())
            if isinstance(result, ChunkStream):
                async with result:
                    return [chunk async for chunk in result]
            if inspect.isawaitable(result):
                return await result
            return result

        assert self.loop is not None
        return self.loop.run(run())

    def flow(self, fn: Callable[[Any], Any], flow_id: str = "default") -> Any:
        """``fn(flow)`` on flow ``flow_id`` of this face."""
        return self.call(lambda client: fn(client.id(flow_id)))


def make_face(name: str, gateway: Gateway, timeout: float = 60) -> Face:
    api = Api(gateway.url, token=gateway.token, timeout=timeout)
    return Face(name, api, gateway, LoopThread() if name.startswith("async") else None)


def close_face(face: Face) -> None:
    if face.loop is not None:
        face.loop.run(face.api.aclose())
        face.loop.stop()
    else:
        face.api.close()


@pytest.fixture(params=FACES)
def face(request: pytest.FixtureRequest, gateway: Gateway) -> Iterator[Face]:
    f = make_face(request.param, gateway)
    try:
        yield f
    finally:
        close_face(f)
