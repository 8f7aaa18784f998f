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
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from ..errors import ServiceError
from ..protocol.endpoints import flow_service_path, global_service_path
from ..target import Target
from ..transport.mux_client import AsyncMuxClient
from ..transport.rest import AsyncRestClient


class Closeable(Protocol):
    async def aclose(self) -> None: ...


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


class PerLoop(Generic[K]):
    """One client per event loop: made on first use in a loop, replaced when the loop changes."""

    def __init__(self, factory: Callable[[], K]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: K | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop the current client is bound to."""
        return self._loop

    def get(self) -> K:
        loop = asyncio.get_running_loop()
        client = self._client
        if client is not None and self._loop is loop:  # the usual case, without the lock
            return client
        with self._lock:
            if self._client is not None and self._loop is loop:
                return self._client
            old_loop, old = self._loop, self._client
            self._client, self._loop = self._factory(), loop
            client = self._client
        if old is not None and old_loop is not None and old_loop.is_running() and not old_loop.is_closed():
            asyncio.run_coroutine_threadsafe(old.aclose(), old_loop)
        return client

    async def aclose(self) -> None:
        """Close the current client, on its own loop, and wait for it."""
        with self._lock:
            loop, client = self._loop, self._client
            self._loop = self._client = None
        if client is None or loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            await client.aclose()
        elif loop.is_running():
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(client.aclose(), loop))


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
