"""Gateway URLs: validation, the route paths, and redaction of secrets for messages.

Paths (docs/protocol.md section 2) live here once. Tokens are carried in a header or a first frame
wherever the gateway allows; the bulk sockets need ``?token=``, so :func:`redact` removes it
from any URL that may reach an error message or a log.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from ..errors import InputError
from ..wording import setting
from .registry import STORE_INTERFACES
from .schemas import Kind

SCHEMES = ("http", "https", "ws", "wss")


def validate_base_url(url: str, *, origin: str | None = None) -> str:
    """The gateway base URL without a trailing slash; raises :class:`InputError` if unusable.

    ``origin`` says where the URL came from for the message (``"$TRUSTGRAPH_URL"``); by
    default it is the ``url`` setting, spelt as the caller writes it (``url=`` in Python,
    ``--url`` on the command line). A URL without a scheme gets a suggestion; one whose path
    holds ``/api/v1`` is refused rather than silently doubled or cut: tg_connect adds the
    ``/api/v1/...`` paths itself, and the message gives the base URL to use instead.
    """
    if not isinstance(url, str) or not url.strip():
        raise InputError(f"{_named(origin, url)}: the gateway URL must be a non-empty string")
    text = url.strip()
    if "://" not in text:
        raise InputError(
            f"{_named(origin, url)} has no scheme: did you mean {_named(origin, 'http://' + text.lstrip('/'))}?"
        )
    parts = urlsplit(text)
    if parts.scheme.lower() not in SCHEMES:
        raise InputError(
            f"{_named(origin, redact(url))}: the gateway URL's scheme must be one of"
            f" {', '.join(SCHEMES)}, not {parts.scheme!r}"
        )
    if parts.username or parts.password:
        raise InputError(
            f"{_named(origin)}: the gateway URL must not carry credentials (it is not shown); pass the token as"
            f" {setting('token', '...')}"
        )
    if not parts.hostname:
        raise InputError(f"{_named(origin, redact(url))}: the gateway URL has no host")
    if parts.query or parts.fragment:
        raise InputError(f"{_named(origin)}: the gateway URL must not carry a query or fragment (the URL is not shown)")
    path = parts.path.rstrip("/")
    if _API_PATH.search(path):
        base = urlunsplit((parts.scheme.lower(), parts.netloc, _API_PATH.split(path)[0], "", ""))
        raise InputError(
            f"{_named(origin, url)}: give the gateway's base URL, {_named(origin, base)}"
            " (tg_connect adds the /api/v1/... paths itself)"
        )
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


_API_PATH = re.compile(r"/api/v1(?:/|$)")


def _named(origin: str | None, value: str | None = None) -> str:
    """The URL setting (with ``value``) as the caller wrote it: ``url="..."``, ``--url ...``,
    or ``$TRUSTGRAPH_URL`` (``TRUSTGRAPH_URL=...``)."""
    if origin is None:
        return setting("url") if value is None else setting("url", value)
    if value is None:
        return origin
    return f"{origin.lstrip('$')}={value}"


def http_base(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, "", ""))


def ws_base(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, "", ""))


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (where compressing frames only costs CPU)."""
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")


def is_secure(url: str) -> bool:
    return urlsplit(url).scheme in ("https", "wss")


def bulk_path(direction: str, flow: str, kind: Kind) -> str:
    """``/api/v1/flow/{flow}/{import|export}/{kind}`` (no query)."""
    if direction not in ("import", "export"):
        raise ValueError(direction)
    return f"/api/v1/flow/{quote(flow, safe='')}/{direction}/{kind}"


def store_interface(kind: Kind) -> str:
    """The name of the flow interface that a bulk socket of ``kind`` publishes to."""
    return STORE_INTERFACES[kind]


def bulk_url(base: str, direction: str, flow: str, kind: Kind, token: str | None, workspace: str) -> str:
    query = {"workspace": workspace}
    if token:
        query["token"] = token
    return ws_base(base) + bulk_path(direction, flow, kind) + "?" + urlencode(query)


SOCKET_PATH = "/api/v1/socket"


def global_service_path(kind: str) -> str:
    return f"/api/v1/{kind}"


def flow_service_path(flow: str, kind: str) -> str:
    return f"/api/v1/flow/{quote(flow, safe='')}/service/{kind}"


_TOKEN_QUERY = re.compile(r"([?&]token=)[^&#]*", re.IGNORECASE)


def redact(url: str) -> str:
    """``url`` with any ``token`` query value replaced by ``***``."""
    return _TOKEN_QUERY.sub(r"\1***", url)
