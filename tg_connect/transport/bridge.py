"""The one bridge from synchronous code into the async core.

All I/O runs on a single event loop in a daemon thread. Sync APIs hand it coroutines
(:func:`run`) or async iterators (:func:`iterate`) and wait. This works from any number of
threads and inside a running event loop (Jupyter), where ``asyncio.run`` would fail.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def loop() -> asyncio.AbstractEventLoop:
    """The shared background loop, started on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or not _loop.is_running() and _thread is not None and not _thread.is_alive():
            started = threading.Event()
            new_loop = asyncio.new_event_loop()

            def main() -> None:
                asyncio.set_event_loop(new_loop)
                new_loop.call_soon(started.set)
                new_loop.run_forever()

            _thread = threading.Thread(target=main, name="tg-connect-io", daemon=True)
            _thread.start()
            started.wait()
            _loop = new_loop
        return _loop


def in_loop_thread() -> bool:
    return _thread is not None and threading.current_thread() is _thread


def run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the background loop and return its result (re-raising its error)."""
    if in_loop_thread():
        coro.close()
        raise RuntimeError("a synchronous tg_connect call was made from inside its own I/O loop")
    future = asyncio.run_coroutine_threadsafe(coro, loop())
    try:
        return future.result(timeout)
    except BaseException:
        future.cancel()
        raise


def iterate(agen: AsyncIterator[T], prefetch: int = 2) -> Iterator[T]:
    """A sync iterator over ``agen``; at most ``prefetch`` items wait in between.

    A slow consumer therefore slows the producer instead of growing memory. Closing the
    returned iterator (or dropping it) closes ``agen``.

    Items cross threads through a deque under a condition variable: the producer (on the
    loop) appends and notifies without leaving the loop, and waits on an asyncio future only
    when ``prefetch`` items are unread; the consumer takes every waiting item without a trip
    through the loop. So a fast stream costs no thread switch per item.
    """
    bg = loop()
    items: collections.deque[tuple[str, Any]] = collections.deque()
    ready = threading.Condition(threading.Lock())
    limit = max(1, prefetch)
    space: list[asyncio.Future[None]] = []  # the producer's wait for room, at most one

    def hand_over(kind: str, value: Any) -> asyncio.Future[None] | None:
        with ready:
            items.append((kind, value))
            ready.notify()
            if kind == "item" and len(items) >= limit:
                wait: asyncio.Future[None] = bg.create_future()
                space.append(wait)
                return wait
        return None

    task_future = asyncio.run_coroutine_threadsafe(_pump(agen, hand_over), bg)
    return _consume(items, ready, limit, space, lambda: bg.call_soon_threadsafe(_room, space.pop()), task_future)


def _room(wait: asyncio.Future[None]) -> None:
    """Tell the producer waiting on ``wait`` that there is room again."""
    if not wait.done():
        wait.set_result(None)


async def _pump(agen: AsyncIterator[Any], hand_over: Callable[[str, Any], asyncio.Future[None] | None]) -> None:
    """Hand every item of ``agen`` over, then its end or its error; wait when told to."""
    try:
        async for item in agen:
            wait = hand_over("item", item)
            if wait is not None:
                await wait
        hand_over("end", None)
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # delivered to the consumer thread
        hand_over("error", exc)
    finally:
        aclose: Callable[[], Awaitable[None]] | None = getattr(agen, "aclose", None)
        if aclose is not None:
            await aclose()


def _consume(
    items: collections.deque[tuple[str, Any]],
    ready: threading.Condition,
    limit: int,
    space: list[asyncio.Future[None]],
    make_room: Callable[[], Any],
    task_future: concurrent.futures.Future[None],
) -> Iterator[Any]:
    """The consumer's side: take the items handed over (waking the producer once half of
    ``limit`` is free) until the end or an error; closing this cancels the producer."""
    try:
        while True:
            with ready:
                while not items:
                    ready.wait()
                kind, value = items.popleft()
                if space and len(items) <= limit // 2:
                    make_room()
            if kind == "item":
                yield value
            elif kind == "end":
                return
            else:
                raise value
    finally:
        task_future.cancel()
        # Wait for the producer to unwind; its own errors were already delivered above.
        concurrent.futures.wait([task_future], timeout=5)
