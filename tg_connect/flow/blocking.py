"""What the generated sync faces (:mod:`.sync`) call: the async face's result, through the bridge.

A coroutine runs on tg_connect's one background loop (:func:`tg_connect.transport.bridge.run`);
a :class:`~.core.ChunkStream` becomes a :class:`ChunkIterator`, a sync iterator fed through
:func:`tg_connect.transport.bridge.iterate`. Both work from any thread and inside a running
event loop (Jupyter).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, TypeVar

from ..transport import bridge
from .core import ChunkStream

C = TypeVar("C")
R = TypeVar("R")


class ChunkIterator(Generic[C]):
    """A sync iterator over a streamed answer; ``close()`` (or ``with``) ends the request.

    At most 64 chunks wait between the socket and the consumer (on top of the socket's own
    bounded channel), so a slow consumer slows the socket.
    """

    def __init__(self, stream: AsyncIterator[C], what: str = "stream") -> None:
        self._what = what
        self._it: Iterator[C] = bridge.iterate(stream, prefetch=64)

    def __repr__(self) -> str:
        return f"<ChunkIterator {self._what}>"

    def __iter__(self) -> ChunkIterator[C]:
        return self

    def __next__(self) -> C:
        return next(self._it)

    def close(self) -> None:
        close: Callable[[], None] | None = getattr(self._it, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> ChunkIterator[C]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait(awaitable: Awaitable[R]) -> R:
    """Run ``awaitable`` on the background loop and return its result."""

    async def run() -> R:
        return await awaitable

    return bridge.run(run())


def run_or_iterate(result: Awaitable[R] | ChunkStream[C]) -> R | ChunkIterator[C]:
    """A streaming-capable method's answer: a stream as a :class:`ChunkIterator`, else the result."""
    if isinstance(result, ChunkStream):
        return ChunkIterator(result, repr(result))
    return wait(result)
