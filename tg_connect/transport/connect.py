"""Opening WebSockets and HTTP sessions to the gateway, with errors mapped to ours.

Every failure names the endpoint with its token redacted. TLS certificates are verified unless
the caller passed ``verify=False``, which warns once per process.
"""

from __future__ import annotations

import logging
import re
import ssl
import warnings
from typing import Any, MutableMapping

import aiohttp
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus, InvalidHandshake

from ..errors import AccessDeniedError, AuthenticationError, GatewayConnectionError, GatewayTimeoutError
from ..protocol.endpoints import is_secure, redact

# The gateway accepts frames up to 50 MiB; accept replies as large.
MAX_FRAME = 50 * 1024 * 1024
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


async def open_websocket(
    url: str,
    *,
    verify: bool = True,
    timeout: float = 60.0,
    compression: str | None = None,
    **kwargs: Any,
) -> ClientConnection:
    """Connect, mapping handshake failures to :mod:`tg_connect.errors`."""
    endpoint = redact(url)
    try:
        return await websockets.connect(
            url,
            ssl=ssl_context(url, verify),
            open_timeout=timeout,
            max_size=MAX_FRAME,
            compression=compression,
            ping_interval=20,
            ping_timeout=max(timeout, 20),
            logger=kwargs.pop("logger", None) or RedactingLogger(),
            **kwargs,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status == 401:
            raise AuthenticationError(endpoint) from None
        if status == 403:
            raise AccessDeniedError(endpoint) from None
        if status == 404:
            raise GatewayConnectionError(f"{endpoint}: not found (HTTP 404); is this kind served?") from None
        raise GatewayConnectionError(f"{endpoint}: handshake refused with HTTP {status}") from None
    except TimeoutError:
        raise GatewayTimeoutError(f"{endpoint}: no handshake within {timeout} s") from None
    except (OSError, InvalidHandshake) as exc:
        raise GatewayConnectionError(f"cannot connect to {endpoint}: {exc}") from None


def http_session(url: str, *, verify: bool = True, timeout: float = 60.0) -> aiohttp.ClientSession:
    """An aiohttp session for the gateway at ``url`` (TLS verified unless ``verify`` is False)."""
    ctx = ssl_context(url, verify)
    connector = aiohttp.TCPConnector(ssl=ctx if ctx is not None else False) if is_secure(url) else aiohttp.TCPConnector()
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
    )
