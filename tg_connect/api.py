"""``tg_connect.Api``: one gateway, every service, over REST and the socket, sync and async.

::

    api = Api("http://localhost:8088", token="tg_...")      # or Api(): $TRUSTGRAPH_URL, else that URL
    api.flow().id("default").graph_rag("What is X?")          # REST, sync
    await api.async_flow().id("default").graph_rag("...")     # REST, async
    for chunk in api.socket().flow("default").agent("...", streaming=True): ...
    async for chunk in api.async_socket().flow("default").agent("...", streaming=True): ...

Clients are made lazily and connect on first use. The sync socket is one persistent
WebSocket on tg_connect's background loop, shared by every thread using this Api; the async
one lives on the caller's loop. ``close()`` / ``aclose()`` (or ``with`` / ``async with``)
close them deterministically; a later call reconnects. Connections nobody closed are closed
when their Api and faces are garbage-collected, or at exit (``flow/transports.py``).
"""

from __future__ import annotations

import asyncio
import atexit
import math
import os
import threading
import weakref
from typing import Any

from .bulk.client import AsyncBulkClient, BulkClient
from .flow import core, sync
from .flow.transports import MuxTransport, RestTransport
from .metrics import AsyncMetrics, Metrics
from .protocol.endpoints import validate_base_url
from .target import Target, resolve_target
from .transport import bridge

_SYNC = ("rest", "socket")
_ASYNC = ("async-rest", "async-socket")
_open_apis: weakref.WeakSet[Api] = weakref.WeakSet()


@atexit.register
def _close_at_exit() -> None:
    """Close the connections of Apis nobody closed, while the background loop still runs."""
    for api in list(_open_apis):
        try:
            api.close()
        except Exception:  # exiting anyway; a gateway gone first must not spoil the exit
            pass


class Api:
    """A TrustGraph gateway.

    ``url``: ``http(s)://`` or ``ws(s)://`` base URL; ``None`` means ``$TRUSTGRAPH_URL``, or
    else ``http://localhost:8088`` (TrustGraph's default; for the embedded gateway, pass a
    :class:`~tg_connect.LocalGateway`'s ``url``). ``token``: an API key or JWT, else
    ``$TRUSTGRAPH_TOKEN``; it is sent as a bearer header or the socket's first frame and is
    never printed. ``timeout``: seconds to wait for each reply frame (a streamed answer's
    timeout restarts at every chunk). ``workspace``: sent with every request (``"default"``).
    ``verify=False`` skips TLS certificate checks (and warns once).
    """

    def __init__(
        self,
        url: str | None = None,
        timeout: float = 60,
        token: str | None = None,
        workspace: str | None = None,
        verify: bool = True,
    ) -> None:
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not timeout > 0
            or not math.isfinite(timeout)
        ):
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if workspace is not None and (not isinstance(workspace, str) or not workspace):
            raise ValueError("workspace must be a non-empty string")
        if token is not None and not isinstance(token, str):
            raise ValueError("token must be a string")
        origin = None
        if url is None:
            url = os.environ.get("TRUSTGRAPH_URL") or None
            origin = "$TRUSTGRAPH_URL"  # named so in a message about it
        self._url = validate_base_url(url, origin=origin) if url is not None else None
        self._token = token
        self._timeout = float(timeout)
        self._workspace = workspace
        self._verify = bool(verify)
        self._lock = threading.Lock()
        self._resolved: Target | None = None
        self._transports: dict[str, RestTransport | MuxTransport] = {}

    def __repr__(self) -> str:
        where = self._url if self._url is not None else "$TRUSTGRAPH_URL or http://localhost:8088"
        return f"Api({where!r}, workspace={self.workspace!r})"

    @property
    def target(self) -> Target:
        """The resolved gateway (``url``, else ``$TRUSTGRAPH_URL``, else ``http://localhost:8088``)."""
        with self._lock:
            if self._resolved is None:
                self._resolved = resolve_target(
                    self._url, self._token, workspace=self._workspace, timeout=self._timeout, verify=self._verify
                )
            return self._resolved

    @property
    def url(self) -> str:
        return self.target.url

    @property
    def workspace(self) -> str:
        return self._workspace or "default"

    @property
    def timeout(self) -> float:
        return self._timeout

    def _transport(self, key: str) -> Any:
        target = self.target
        with self._lock:
            transport = self._transports.get(key)
            if transport is None:
                transport = RestTransport(target) if key.endswith("rest") else MuxTransport(target)
                self._transports[key] = transport
                _open_apis.add(self)
            return transport

    # -- REST, sync -------------------------------------------------------------------------

    def flow(self) -> sync.Flow:
        """Flows and their services over REST: ``api.flow().id("default").graph_rag(...)``."""
        return sync.Flow(core.AsyncFlow(self._transport("rest")))

    def config(self) -> sync.Config:
        return sync.Config(core.AsyncConfig(self._transport("rest")))

    def library(self) -> sync.Library:
        return sync.Library(core.AsyncLibrary(self._transport("rest")))

    def knowledge(self) -> sync.Knowledge:
        return sync.Knowledge(core.AsyncKnowledge(self._transport("rest")))

    def collection(self) -> sync.Collection:
        return sync.Collection(core.AsyncCollection(self._transport("rest")))

    # -- the socket, sync; async REST and socket ----------------------------------------------

    def socket(self) -> sync.SocketClient:
        """Everything over the persistent socket, with streaming: ``api.socket().flow("default")``."""
        return sync.SocketClient(core.AsyncSocketClient(self._transport("socket")))

    def async_flow(self) -> core.AsyncFlow:
        """Everything over REST, for asyncio code."""
        return core.AsyncFlow(self._transport("async-rest"))

    def async_socket(self) -> core.AsyncSocketClient:
        """Everything over the socket, for asyncio code (one socket per event loop)."""
        return core.AsyncSocketClient(self._transport("async-socket"))

    # -- bulk and metrics ----------------------------------------------------------------------

    def bulk(self) -> BulkClient:
        """Bulk load and read (``load``, ``read``, ``read_batches``, ``read_pandas``)."""
        return BulkClient(self.target)

    def async_bulk(self) -> AsyncBulkClient:
        return AsyncBulkClient(self.target)

    def metrics(self) -> Metrics:
        """Prometheus queries through ``/api/metrics/{path}``."""
        return Metrics(AsyncMetrics(self._transport("rest")))

    def async_metrics(self) -> AsyncMetrics:
        return AsyncMetrics(self._transport("async-rest"))

    # -- closing ---------------------------------------------------------------------------------

    def _take(self) -> dict[str, RestTransport | MuxTransport]:
        with self._lock:
            taken, self._transports = self._transports, {}
        _open_apis.discard(self)
        return taken

    def close(self) -> None:
        """Close every connection now; requests in flight fail with a connection error.

        Async clients bound to the calling thread's running loop are closed by a task on
        that loop (their close cannot be waited for from inside it).
        """
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for key, transport in self._take().items():
            if key in _ASYNC and running is not None and transport.bound_loop() is running:
                running.create_task(transport.aclose())
            else:
                bridge.run(transport.aclose())

    async def aclose(self) -> None:
        """Close every connection, waiting for each."""
        for key, transport in self._take().items():
            if key in _SYNC:
                await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(transport.aclose(), bridge.loop()))
            else:
                await transport.aclose()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
