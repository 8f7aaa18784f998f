"""Opening WebSockets and HTTP sessions to the gateway, with errors mapped to ours.

Every failure names the endpoint with its token redacted. TLS certificates are verified unless
the caller passed ``verify=False``, which warns once per process.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
import warnings
from collections.abc import Coroutine, MutableMapping
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import aiohttp
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.frames import CloseCode

from ..errors import AccessDeniedError, AuthenticationError, GatewayConnectionError, GatewayTimeoutError
from ..protocol.endpoints import is_secure, redact
from ..protocol.messages import GATEWAY_MAX_FRAME
from ..wording import cli_spelling, setting

# The gateway accepts frames up to 50 MiB; accept replies as large.
MAX_FRAME = GATEWAY_MAX_FRAME
_warned = False

# Where a token can appear in what websockets logs at DEBUG: the bulk sockets' ?token= in the
# handshake request line, and the mux's first frame {"type": "auth", "token": "..."}.
_SECRETS = re.compile(r'((?:[?&]token=)|(?:"token"\s*:\s*"))[^&"\s]*', re.IGNORECASE)


class RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The ``websockets.client`` logger with tokens removed from every message."""

    def __init__(self, name: str = "websockets.client") -> None:
        super().__init__(logging.getLogger(name), {})

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        self.logger.log(level, "%s", _SECRETS.sub(r"\1***", text), **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        return msg, kwargs


def ssl_context(url: str, verify: bool) -> ssl.SSLContext | None:
    """``None`` for plain connections; a verifying context unless ``verify`` is False."""
    global _warned
    if not is_secure(url):
        return None
    ctx = ssl.create_default_context()
    if not verify:
        if not _warned:
            warnings.warn("TLS certificate verification is disabled (verify=False)", stacklevel=3)
            _warned = True
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def keepalive(timeout: float) -> float:
    """The ping interval, and the wait for its pong, of a socket with this ``timeout``.

    A ping every ``timeout / 2``, answered within ``timeout / 2``: a socket that stops
    answering is noticed within about ``timeout`` of its last pong, not after a fixed 20 s
    plus a minimum 20 s wait as before.
    """
    return timeout / 2


async def open_websocket(
    url: str,
    *,
    verify: bool = True,
    timeout: float = 60.0,
    compression: str | None = None,
    ping_interval: float | None | Literal["auto"] = "auto",
    ping_timeout: float | None | Literal["auto"] = "auto",
    **kwargs: Any,
) -> ClientConnection:
    """Connect, mapping handshake failures to :mod:`tg_connect.errors`.

    The opening handshake (TCP, TLS and the HTTP upgrade) must finish within ``timeout``.
    Keepalive pings scale with ``timeout`` (:func:`keepalive`) unless ``ping_interval`` /
    ``ping_timeout`` say otherwise (``None`` turns them off: for a caller that pings itself).
    When a pong does not come, websockets fails the connection with code 1011; callers turn
    that :class:`ConnectionClosed` into :class:`GatewayTimeoutError` with :func:`closed_error`.
    Other ``kwargs`` go to :func:`websockets.connect` (e.g. ``close_timeout``).
    """
    endpoint = redact(url)
    try:
        return await websockets.connect(
            url,
            ssl=ssl_context(url, verify),
            open_timeout=timeout,
            max_size=MAX_FRAME,
            compression=compression,
            ping_interval=keepalive(timeout) if ping_interval == "auto" else ping_interval,
            ping_timeout=keepalive(timeout) if ping_timeout == "auto" else ping_timeout,
            logger=kwargs.pop("logger", None) or RedactingLogger(),
            **kwargs,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status == 401:  # a bulk socket carries its token in the query, if it was given one
            raise auth_refused(endpoint, token_given="token" in parse_qs(urlsplit(url).query)) from None
        if status == 403:
            raise AccessDeniedError(endpoint) from None
        if status == 404:
            raise GatewayConnectionError(f"{endpoint}: not found (HTTP 404); is this kind served?") from None
        raise GatewayConnectionError(f"{endpoint}: handshake refused with HTTP {status}") from None
    except TimeoutError:
        raise GatewayTimeoutError(f"{endpoint}: no handshake within {timeout} s") from None
    except (ConnectionRefusedError, socket.gaierror) as exc:
        raise no_answer(endpoint, exc) from None
    except (OSError, InvalidHandshake) as exc:
        raise GatewayConnectionError(f"cannot connect to {endpoint}: {exc}") from None


def no_answer(endpoint: str, detail: object) -> GatewayConnectionError:
    """The error for a gateway that does not answer at all, saying what to check."""
    how = f"set {setting('url')} or" if cli_spelling() else "pass url= or set"
    return GatewayConnectionError(
        f"nothing answers at {endpoint} ({detail}): is the gateway running? {how} TRUSTGRAPH_URL"
    )


def _named(keyword: str) -> str:
    """``--url`` on the command line, ``url=`` in Python."""
    return setting(keyword) if cli_spelling() else f"{keyword}="


def auth_refused(endpoint: str, *, token_given: bool) -> AuthenticationError:
    """The error for a gateway that refused the credential, saying which case it is: a token
    was given and refused, or the gateway wants one and none was given; and how to pass one."""
    if token_given:
        return AuthenticationError(
            endpoint,
            "the gateway refused the token",
            advice=f"check the token given as {_named('token')} or $TRUSTGRAPH_TOKEN",
        )
    return AuthenticationError(
        endpoint,
        "the gateway requires a token and none was given",
        advice=f"pass {_named('token')} or set TRUSTGRAPH_TOKEN",
    )


def is_keepalive_timeout(exc: ConnectionClosed) -> bool:
    """Whether websockets closed the connection because a keepalive ping went unanswered."""
    sent = exc.sent
    return (
        exc.rcvd is None and sent is not None and sent.code == CloseCode.INTERNAL_ERROR and "keepalive" in sent.reason
    )


def close_reason(exc: ConnectionClosed) -> str:
    """How a socket ended, in words: who closed it, with which code, or that it dropped."""
    if is_keepalive_timeout(exc):
        return "the gateway stopped answering pings"
    rcvd = exc.rcvd
    if rcvd is not None:
        return f"the gateway closed the socket (code {rcvd.code}{': ' + rcvd.reason if rcvd.reason else ''})"
    return "the connection dropped without a close frame"


def closed_error(exc: ConnectionClosed, what: str, timeout: float) -> GatewayConnectionError | GatewayTimeoutError:
    """The error for ``what`` (already redacted) ending because its socket closed: a
    :class:`GatewayTimeoutError` when keepalive found the gateway silent for ``timeout``,
    else a :class:`GatewayConnectionError` saying how it closed."""
    if is_keepalive_timeout(exc):
        return GatewayTimeoutError(f"{what}: the gateway stopped answering pings (timeout {timeout} s)")
    return GatewayConnectionError(f"{what}: {close_reason(exc)}")


async def abort_websocket(ws: ClientConnection) -> None:
    """Drop ``ws`` at once, without the closing handshake.

    For a socket that failed or stalled: its handshake would only wait out ``close_timeout``
    for a gateway that is not answering, which would push an error far past ``timeout``.
    """
    transport = ws.transport
    if transport is not None:
        transport.abort()
    await ws.wait_closed()


async def is_alive(ws: ClientConnection, wait: float) -> bool:
    """Ping ``ws`` and wait up to ``wait`` s for the pong: False means the socket is stalled.

    A socket already closed counts as alive here: it is not stalled, and whoever reads it
    sees the close and reports it.
    """
    try:
        async with deadline(wait):
            pong = await ws.ping()
            await pong
    except TimeoutError:
        return False
    except ConnectionClosed:
        return True
    return True


class deadline:
    """``async with deadline(seconds) as d:`` raises :class:`TimeoutError` when ``seconds`` pass
    without a call to ``d.touch()``, which restarts the wait.

    For bounding work that no single ``wait_for`` can wrap, such as an aiohttp body upload
    (each chunk written touches it). ``asyncio.timeout`` would do, but needs Python 3.11.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._at = 0.0
        self._cancelling = 0

    async def __aenter__(self) -> deadline:
        self._loop = loop = asyncio.get_running_loop()
        self._task = task = asyncio.current_task()
        assert task is not None
        cancelling = getattr(task, "cancelling", None)
        self._cancelling = cancelling() if cancelling is not None else 0
        self._at = loop.time() + self.seconds
        self._handle = loop.call_at(self._at, self._check)
        return self

    def touch(self) -> None:
        """Restart the wait: progress was made."""
        if self._loop is not None:
            self._at = self._loop.time() + self.seconds

    def _check(self) -> None:
        assert self._loop is not None and self._task is not None
        if self._loop.time() >= self._at:
            self.expired = True
            self._task.cancel()
        else:
            self._handle = self._loop.call_at(self._at, self._check)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._handle is not None:
            self._handle.cancel()
        if self.expired and exc_type is asyncio.CancelledError:
            uncancel = getattr(self._task, "uncancel", None)
            if uncancel is None or uncancel() <= self._cancelling:
                raise TimeoutError from None


def http_session(url: str, *, verify: bool = True, timeout: float = 60.0) -> aiohttp.ClientSession:
    """An aiohttp session for the gateway at ``url`` (TLS verified unless ``verify`` is False).

    No total timeout (a core stream may take long); instead ``sock_connect`` bounds the TCP
    connect and ``sock_read`` every wait for bytes, the wait for the response headers included,
    so a gateway that accepts the connection and never answers, or stops mid-body, raises
    aiohttp's ``ServerTimeoutError`` within ``timeout``. That error is both a ``ClientError``
    and a ``TimeoutError``: callers catch ``TimeoutError`` first and raise
    :class:`GatewayTimeoutError`. Writes have no such bound: an upload adds a :class:`deadline`.
    """
    ctx = ssl_context(url, verify)
    secure = is_secure(url)
    connector = aiohttp.TCPConnector(ssl=ctx if ctx is not None else False) if secure else aiohttp.TCPConnector()
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
    )


def finish_without_loop(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` to its end in this thread, without an event loop.

    For closing a client whose loop is gone: such a close only yields control (a bare
    ``yield``), it waits for nothing. Should it wait for a future after all, nothing would
    ever complete it, so it is dropped there.
    """
    try:
        for _ in range(100):
            if coro.send(None) is not None:
                break
    except StopIteration:
        return
    coro.close()
