"""The broker's side of the bulk sockets: the live taps export sockets read, and the paced
store's refusal.

:class:`TapHub` is the broker's fan-out: the messages published on a workspace's flow topic go
to every subscriber (an open export socket, :mod:`..front.bulk_sockets`) while it is
subscribed. Each subscriber has a bounded queue (:data:`TAP_QUEUE_FRAMES`): a publisher waits
for a reader that falls behind instead of buffering without bound.
"""

from __future__ import annotations

import asyncio

TAP_QUEUE_FRAMES = 64


class StoreQueueFull(RuntimeError):
    """A paced store's queue is at its size cap: the message was not taken in."""


class Subscriber:
    """One export socket's queue of serialised frames."""

    def __init__(self, size: int = TAP_QUEUE_FRAMES) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=size)
        self.closed = asyncio.Event()

    async def put(self, frame: str) -> None:
        """Queue a frame, waiting while the queue is full unless the subscriber goes away."""
        try:
            self.queue.put_nowait(frame)
            return
        except asyncio.QueueFull:
            pass
        put = asyncio.ensure_future(self.queue.put(frame))
        gone = asyncio.ensure_future(self.closed.wait())
        try:
            await asyncio.wait({put, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (put, gone):
                if not task.done():
                    task.cancel()


class TapHub:
    """Subscribers per (workspace, flow topic): the broker's fan-out for export sockets."""

    def __init__(self) -> None:
        self._subscribers: dict[tuple[str, str], set[Subscriber]] = {}

    def active(self, workspace: str, topic: str) -> bool:
        return bool(self._subscribers.get((workspace, topic)))

    def subscribe(self, workspace: str, topic: str) -> Subscriber:
        sub = Subscriber()
        self._subscribers.setdefault((workspace, topic), set()).add(sub)
        return sub

    def unsubscribe(self, workspace: str, topic: str, sub: Subscriber) -> None:
        sub.closed.set()
        subs = self._subscribers.get((workspace, topic))
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subscribers[(workspace, topic)]

    async def publish(self, workspace: str, topic: str, frame: str) -> None:
        for sub in list(self._subscribers.get((workspace, topic), ())):
            if not sub.closed.is_set():
                await sub.put(frame)
