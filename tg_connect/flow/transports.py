"""The two ways a call reaches the gateway, behind one small interface.

A transport sends one service request and yields its reply frames; it knows nothing about
services. :class:`RestTransport` POSTs and yields the single reply (REST returns only the
last frame, docs/protocol.md 4.2, so ``every_frame`` is False); :class:`MuxTransport` uses the
persistent ``/api/v1/socket`` and yields every frame until the completion rule ends the
request. Both leave ``error`` inside a reply to the caller (it knows what the error frame
of its service still carries) and raise every other failure as a :mod:`tg_connect.errors`
exception.

Each transport binds its client to the event loop it is first used on; used from another
loop (a new ``asyncio.run``), it opens a fresh client there, so one :class:`~tg_connect.Api`
serves any number of loops one after the other.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from ..errors import ServiceError
from ..protocol.endpoints import flow_service_path, global_service_path
from ..target import Target
from ..transport.mux_client import AsyncMuxClient
from ..transport.rest import AsyncRestClient


class Closeable(Protocol):
    async def aclose(self) -> None: ...

    def discard(self) -> None: ...


K = TypeVar("K", bound=Closeable)


class Transport(Protocol):
    """What the faces need from a transport."""

    name: str
    every_frame: bool

    def frames(
        self, service: str, body: Mapping[str, Any], *, flow: str | None
    ) -> AsyncIterator[Mapping[str, Any]]: ...

    async def aclose(self) -> None: ...

    def bound_loop(self) -> asyncio.AbstractEventLoop | None: ...


# Closes started by a finalizer, not yet finished: waited for at exit (:func:`_close_at_exit`).
_closing: set[concurrent.futures.Future[None]] = set()
_slots: weakref.WeakSet[_Slot[Any]] = weakref.WeakSet()


class _Slot(Generic[K]):
    """A :class:`PerLoop`'s client and its loop, apart from the PerLoop so a finalizer can hold it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client: K | None = None

    def take(self) -> tuple[asyncio.AbstractEventLoop | None, K | None]:
        with self.lock:
            taken = self.loop, self.client
            self.loop = self.client = None
        return taken

    def abandon(self) -> None:
        """Close the client without waiting (its owner is gone, or the interpreter exits)."""
        loop, client = self.take()
        if client is not None and loop is not None:
            close_later(client, loop)


def close_later(client: Closeable, loop: asyncio.AbstractEventLoop) -> None:
    """Close ``client`` on ``loop`` without waiting for it: from any thread, a finalizer too.

    On a loop running in another thread the close is scheduled there (and waited for at
    exit). On the caller's own loop, and on a loop that no longer runs, nothing can be waited
    for: the client starts its close at once (:meth:`discard`), which also holds when the loop
    ends right afterwards (``asyncio.run`` cancels a scheduled close before it has begun).
    """
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not loop and loop.is_running() and not loop.is_closed():
        try:
            future = asyncio.run_coroutine_threadsafe(client.aclose(), loop)
        except RuntimeError:  # the loop closed in between
            client.discard()
            return
        _closing.add(future)
        future.add_done_callback(_closing.discard)
    else:
        client.discard()


@atexit.register
def _close_at_exit() -> None:
    """Close what nobody closed while the loops still run, and wait for closes under way.

    Without this, clients whose owner was dropped shortly before exit are torn down with the
    interpreter, and aiohttp reports each as an "Unclosed client session".
    """
    for slot in list(_slots):
        slot.abandon()
    pending = [f for f in list(_closing) if not f.done()]
    if pending:
        concurrent.futures.wait(pending, timeout=5)


class PerLoop(Generic[K]):
    """One client per event loop: made on first use in a loop, replaced when the loop changes.

    A client whose PerLoop is dropped unclosed (its Api and faces garbage-collected) is closed
    by a finalizer, and one left at exit by :func:`_close_at_exit`.
    """

    def __init__(self, factory: Callable[[], K]) -> None:
        self._factory = factory
        self._slot: _Slot[K] = _Slot()
        _slots.add(self._slot)
        weakref.finalize(self, self._slot.abandon).atexit = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop the current client is bound to."""
        return self._slot.loop

    def get(self) -> K:
        loop = asyncio.get_running_loop()
        slot = self._slot
        client = slot.client
        if client is not None and slot.loop is loop:  # the usual case, without the lock
            return client
        with slot.lock:
            if slot.client is not None and slot.loop is loop:
                return slot.client
            old_loop, old = slot.loop, slot.client
            slot.client, slot.loop = self._factory(), loop
            client = slot.client
        if old is not None and old_loop is not None:
            close_later(old, old_loop)
        return client

    async def aclose(self) -> None:
        """Close the current client, on its own loop, and wait for it."""
        loop, client = self._slot.take()
        if client is None or loop is None:
            return
        if loop.is_closed():
            client.discard()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            await client.aclose()
        elif loop.is_running():
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(client.aclose(), loop))
        else:
            client.discard()


class RestTransport:
    """``POST /api/v1/{kind}`` and ``/api/v1/flow/{flow}/service/{kind}``; the workspace goes in the body."""

    name = "rest"
    every_frame = False

    def __init__(self, target: Target) -> None:
        self.target = target
        self._clients: PerLoop[AsyncRestClient] = PerLoop(
            lambda: AsyncRestClient(target.url, target.token, timeout=target.timeout, verify=target.verify)
        )

    def __repr__(self) -> str:
        return f"RestTransport({self.target.url!r})"

    def client(self) -> AsyncRestClient:
        return self._clients.get()

    def bound_loop(self) -> asyncio.AbstractEventLoop | None:
        return self._clients.loop

    async def frames(
        self, service: str, body: Mapping[str, Any], *, flow: str | None
    ) -> AsyncIterator[Mapping[str, Any]]:
        request = dict(body)
        request.setdefault("workspace", self.target.workspace)
        path = flow_service_path(flow, service) if flow is not None else global_service_path(service)
        try:
            reply = await self._clients.get().post(path, request, service, check=False)
        except ServiceError as exc:  # an HTTP status: name the service, keep the endpoint in the text
            if exc.service == service:
                raise
            raise ServiceError(service, exc.type, f"{exc.message} ({exc.service})") from None
        yield reply

    async def aclose(self) -> None:
        await self._clients.aclose()


class MuxTransport:
    """The persistent ``/api/v1/socket``: first-frame auth, 16 requests in flight, reconnects."""

    name = "socket"
    every_frame = True

    def __init__(self, target: Target) -> None:
        self.target = target
        self._clients: PerLoop[AsyncMuxClient] = PerLoop(
            lambda: AsyncMuxClient(
                target.url, target.token, timeout=target.timeout, verify=target.verify, workspace=target.workspace
            )
        )

    def __repr__(self) -> str:
        return f"MuxTransport({self.target.url!r})"

    def client(self) -> AsyncMuxClient:
        return self._clients.get()

    def bound_loop(self) -> asyncio.AbstractEventLoop | None:
        return self._clients.loop

    def frames(self, service: str, body: Mapping[str, Any], *, flow: str | None) -> AsyncIterator[Mapping[str, Any]]:
        return self._clients.get().stream(service, body, flow=flow, check=False)

    async def aclose(self) -> None:
        await self._clients.aclose()
