"""The one bridge from synchronous code into the async core.

All I/O runs on a single event loop in a daemon thread. Sync APIs hand it coroutines
(:func:`run`) or async iterators (:func:`iterate`) and wait. This works from any number of
threads and inside a running event loop (Jupyter), where ``asyncio.run`` would fail.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, AsyncIterator, Awaitable, Callable, Coroutine, Iterator, TypeVar

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
    """
    q: asyncio.Queue[tuple[str, Any]]
    bg = loop()
    done = object()

    async def make_queue() -> asyncio.Queue[tuple[str, Any]]:
        return asyncio.Queue(maxsize=max(1, prefetch))

    q = run(make_queue())

    async def pump() -> None:
        try:
            async for item in agen:
                await q.put(("item", item))
            await q.put(("end", done))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # delivered to the consumer thread
            await q.put(("error", exc))
        finally:
            aclose: Callable[[], Awaitable[None]] | None = getattr(agen, "aclose", None)
            if aclose is not None:
                await aclose()

    task_future = asyncio.run_coroutine_threadsafe(pump(), bg)

    def gen() -> Iterator[T]:
        try:
            while True:
                kind, value = asyncio.run_coroutine_threadsafe(q.get(), bg).result()
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

    return gen()
