"""Running the local gateway: :class:`LocalGateway` (a background thread), :func:`serve`,
and :func:`run_forever` (for ``tg-connect serve``).

The local gateway is a development and test target, not a production store: a single
process speaking the TrustGraph 2.11 gateway protocol over real HTTP and WebSocket
sockets, backed by embedded stores.

Serving on an address other than loopback without a token lets anyone who reaches it read,
change and delete everything: that is logged as a warning (``tg-connect serve`` sends its
log to stderr).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web

from ..storage.backend import DEFAULT_STORE_QUEUE_BYTES, Backend
from .app import make_app
from .auth import Auth

logger = logging.getLogger("tg_connect.local")

DEFAULT_HOST = "127.0.0.1"
# Where TrustGraph's command-line tools and tg_connect's url default look (the 2.11 gateway
# process itself defaults to 8888: docs/protocol.md 2.2).
DEFAULT_PORT = 8088
_SHUTDOWN_TIMEOUT = 2.0


@dataclass
class _Running:
    runner: web.AppRunner
    backend: Backend
    url: str


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


async def _open(
    host: str,
    port: int,
    data: str | Path | None,
    token: str | None,
    workspaces: Iterable[str],
    llm_url: str | None = None,
    llm_model: str | None = None,
    store_rows_per_second: float | None = None,
    store_queue_bytes: int = DEFAULT_STORE_QUEUE_BYTES,
) -> _Running:
    backend = Backend(
        None if data is None else Path(data),
        workspaces,
        llm_url=llm_url,
        llm_model=llm_model,
        store_rows_per_second=store_rows_per_second,
        store_queue_bytes=store_queue_bytes,
    )
    runner = web.AppRunner(make_app(backend, Auth(token)), access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        await backend.model.aclose()
        backend.close()
        raise
    bound = port
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            bound = int(address[1])
            break
    backend.metrics.instance = f"{host}:{bound}"
    exposed = exposed_addresses(runner.addresses)
    if exposed and token is None:
        logger.warning(
            "the local gateway listens on %s, which is not loopback, WITHOUT A TOKEN: anyone who can reach"
            " it can read, change and delete everything in it. Set a token (tg-connect serve --token, or"
            " $TRUSTGRAPH_TOKEN) or serve on 127.0.0.1",
            ", ".join(exposed),
        )
    return _Running(runner, backend, _url(host, bound))


def exposed_addresses(addresses: Iterable[object]) -> list[str]:
    """The bound socket addresses that are not loopback (``0.0.0.0`` and ``::`` included)."""
    out = []
    for address in addresses:
        if not (isinstance(address, tuple) and len(address) >= 2):
            continue  # a Unix socket path
        try:
            loopback = ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            shown = f"[{address[0]}]" if ":" in str(address[0]) else str(address[0])
            out.append(f"{shown}:{address[1]}")
    return out


async def _close(running: _Running) -> None:
    try:
        await running.runner.cleanup()
        await running.backend.stop_writer()
    finally:
        try:
            await running.backend.model.aclose()
        finally:
            running.backend.close()


class LocalGateway:
    """An embedded stand-in for the TrustGraph 2.11 gateway, on its own thread and loop.

    A development and test target, not a production store. ``data=None`` keeps everything
    in memory; a directory keeps everything there and reloads it on restart. With
    ``token`` set, clients must present it exactly as to the real gateway (bearer header,
    ``?token=`` on bulk sockets, first-frame auth on the mux); without, the gateway is open.
    ``port=0`` picks a free port; :attr:`url` tells which. The workspace ``default`` (with
    flow ``default`` and collection ``default``) always exists; ``workspaces`` adds more.
    Text completion uses the built-in scripted model unless ``llm_url`` names an
    OpenAI-compatible endpoint (``llm_model`` picks the model, else the server's first).

    ``store_rows_per_second`` simulates a real deployment's slow stores: the import sockets
    take frames in at full speed onto an in-memory queue (capped at ``store_queue_bytes`` of
    frame text) and a background writer stores at most that many rows per second; the close
    handshake does not wait for the queue, and the store metrics count what is stored.

    Use as a context manager, or call :meth:`start` and :meth:`stop`::

        with LocalGateway() as gw:
            client = Client(gw.url)
    """

    def __init__(
        self,
        data: str | Path | None = None,
        token: str | None = None,
        port: int = 0,
        host: str = DEFAULT_HOST,
        *,
        workspaces: Iterable[str] = (),
        llm_url: str | None = None,
        llm_model: str | None = None,
        store_rows_per_second: float | None = None,
        store_queue_bytes: int = DEFAULT_STORE_QUEUE_BYTES,
    ) -> None:
        self.data = None if data is None else Path(data)
        self.llm_url = llm_url
        self.llm_model = llm_model
        self.store_rows_per_second = store_rows_per_second
        self.store_queue_bytes = store_queue_bytes
        self.host = host
        self.port = port
        self._token = token
        self._workspaces = tuple(workspaces)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: _Running | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (only while running)."""
        if self._running is None:
            raise RuntimeError("the local gateway is not running; call start() first")
        return self._running.url

    @property
    def token(self) -> str | None:
        return self._token

    @property
    def backend(self) -> Backend:
        """The in-process back end (for tests that inspect stored state)."""
        if self._running is None:
            raise RuntimeError("the local gateway is not running")
        return self._running.backend

    def start(self) -> LocalGateway:
        """Start serving; returns once the port is bound (raises if it cannot be)."""
        if self._thread is not None:
            raise RuntimeError("the local gateway is already running")
        ready = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._main, args=(ready,), name="tg-connect-local-gateway", daemon=True)
        self._thread.start()
        ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            error, self._error = self._error, None
            raise error
        return self

    def _main(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            try:
                self._running = loop.run_until_complete(
                    _open(
                        self.host,
                        self.port,
                        self.data,
                        self._token,
                        self._workspaces,
                        self.llm_url,
                        self.llm_model,
                        self.store_rows_per_second,
                        self.store_queue_bytes,
                    )
                )
            except BaseException as exc:
                self._error = exc
                return
            finally:
                ready.set()
            loop.run_forever()
            running, self._running = self._running, None
            loop.run_until_complete(_close(running))
        finally:
            self._loop = None
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        """Stop serving, close open sockets, flush and close the stores."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = None

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._running.url if self._running is not None else "stopped"
        data = str(self.data) if self.data else "memory"
        return f"LocalGateway({where}, data={data}, auth={'token' if self._token else 'open'})"


async def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    data: str | Path | None = None,
    token: str | None = None,
    *,
    workspaces: Iterable[str] = (),
    ready: Callable[[str], None] | None = None,
    llm_url: str | None = None,
    llm_model: str | None = None,
    store_rows_per_second: float | None = None,
    store_queue_bytes: int = DEFAULT_STORE_QUEUE_BYTES,
) -> None:
    """Serve the local gateway on the current event loop until cancelled.

    ``ready`` is called with the base URL once the port is bound. A development and test
    target, not a production store. The other arguments are :class:`LocalGateway`'s.
    """
    running = await _open(
        host, port, data, token, workspaces, llm_url, llm_model, store_rows_per_second, store_queue_bytes
    )
    try:
        if ready is not None:
            ready(running.url)
        await asyncio.Event().wait()
    finally:
        await _close(running)


def run_forever(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    data: str | Path | None = None,
    token: str | None = None,
    llm_url: str | None = None,
    llm_model: str | None = None,
    store_rows_per_second: float | None = None,
    store_queue_bytes: int = DEFAULT_STORE_QUEUE_BYTES,
) -> None:
    """Serve until Ctrl-C, printing the URL (never the token); for ``tg-connect serve``.

    The first line on stdout is ``tg-connect local gateway at <url>`` (``port=0`` picks a
    free port: read it there). Warnings and errors (a gateway open to the network, a full
    paced store queue, a crash recovery) are logged to stderr unless logging is configured.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )

    def announce(url: str) -> None:
        store = f"data in {data}" if data is not None else "in memory (nothing is kept after exit)"
        auth = "token required" if token else "open (no token configured)"
        print(f"tg-connect local gateway at {url}", flush=True)
        print(f"  development and test target, not a production store; {store}; auth: {auth}")
        for line in model_lines(llm_url):
            print(f"  {line}")
        if store_rows_per_second is not None:
            print(
                f"  paced store: at most {store_rows_per_second:g} rows/s written, queue cap"
                f" {store_queue_bytes / 1024 / 1024:g} MiB; the import sockets never wait for it"
            )
        print("  press Ctrl-C to stop", flush=True)

    try:
        asyncio.run(
            serve(
                host,
                port,
                data,
                token,
                ready=announce,
                llm_url=llm_url,
                llm_model=llm_model,
                store_rows_per_second=store_rows_per_second,
                store_queue_bytes=store_queue_bytes,
            )
        )
    except KeyboardInterrupt:
        print("stopped", flush=True)


def model_lines(llm_url: str | None) -> list[str]:
    """What ``tg-connect serve`` says of its models: which are deterministic stand-ins (so nobody
    mistakes a scripted answer for a model's), and how to use a real LLM."""
    embedder = "embedder: a deterministic stand-in, not a real model (word-hash vectors); --llm-url does not change it"
    if llm_url:
        llm = (
            f"LLM: {_without_credentials(llm_url)} (OpenAI-compatible; every LLM call: text completion,"
            " prompts, graph and document RAG, the agent)"
        )
        return [llm, embedder]
    return [
        "LLM: a deterministic stand-in, not a real model (scripted replies; prompt templates echo their input);",
        "     for a real one: tg-connect serve --llm-url http://localhost:11434/v1 (any OpenAI-compatible server)",
        embedder,
    ]


def _without_credentials(url: str) -> str:
    """A URL fit to print: any ``user:password@`` part is dropped."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
