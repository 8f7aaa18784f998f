"""Gateway URLs: validation, the route paths, and redaction of secrets for messages.

Paths (docs/protocol.md section 2) live here once. Tokens are carried in a header or a first frame
wherever the gateway allows; the bulk sockets need ``?token=``, so :func:`redact` removes it
from any URL that may reach an error message or a log.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from .registry import STORE_INTERFACES
from .schemas import Kind

SCHEMES = ("http", "https", "ws", "wss")


def validate_base_url(url: str) -> str:
    """The gateway base URL without a trailing slash; raises ``ValueError`` if unusable."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("gateway URL must be a non-empty string")
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in SCHEMES:
        raise ValueError(f"gateway URL scheme must be one of {SCHEMES}, not {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError(f"gateway URL has no host: {redact(url)!r}")
    if parts.username or parts.password:
        raise ValueError("put credentials in token=, not in the gateway URL")
    if parts.query or parts.fragment:
        raise ValueError("the gateway URL must not carry a query or fragment")
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path.rstrip("/"), "", ""))


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
