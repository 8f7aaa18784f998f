"""Credentials, checked the way the 2.11 gateway checks them on each surface.

With a token configured: REST needs ``Authorization: Bearer <token>`` (else 401
``{"error":"auth failure"}``), bulk sockets need ``?token=<token>`` (401 at the handshake),
and the mux accepts the token only in its first-frame ``auth`` message.

Without a token the gateway is open, like the real gateway with TrustGraph's no-auth IAM:
no credential (anonymous) and any API key (``tg_...``) are accepted, but a malformed
credential (any other bearer string) is still refused, so a client's handling of a bad
token can be tested against an open local gateway too. Unlike the real gateway, an open
local gateway also lets bulk sockets in without ``?token=``. The mux still wants an
``auth`` frame before requests (an empty token means anonymous).

The token is compared in constant time and is never logged, printed or echoed.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from aiohttp import web

DEFAULT_WORKSPACE = "default"


def auth_failure() -> web.HTTPUnauthorized:
    """The real gateway's 401 (compact JSON body, ``application/json``)."""
    return web.HTTPUnauthorized(text='{"error":"auth failure"}', content_type="application/json")


def workspace_not_found() -> web.HTTPNotFound:
    return web.HTTPNotFound(text='{"error":"workspace not found"}', content_type="application/json")


class Auth:
    """One optional shared token; identities all have default workspace ``default``."""

    def __init__(self, token: str | None) -> None:
        self._token = token.encode() if token else None

    @property
    def open(self) -> bool:
        return self._token is None

    def accepts(self, token: object) -> bool:
        """Whether a presented credential (``""``/``None`` = none) identifies a caller."""
        if not isinstance(token, str):
            return False
        if self._token is None:  # the no-auth IAM: anonymous or an API key
            return not token or token.startswith("tg_")
        return bool(token) and hmac.compare_digest(token.encode(), self._token)

    def accepts_headers(self, headers: Mapping[str, str]) -> bool:
        """REST: whether the ``Authorization`` header's credential is accepted.

        As in the real gateway, a header that is not ``Bearer <x>`` counts as no credential.
        """
        value = headers.get("Authorization", "")
        token = value[len("Bearer ") :].strip() if value.startswith("Bearer ") else ""
        return self.accepts(token)

    def check_headers(self, headers: Mapping[str, str]) -> None:
        """REST: raise the 401 unless the credential is accepted."""
        if not self.accepts_headers(headers):
            raise auth_failure()

    def check_query(self, query: Mapping[str, str]) -> None:
        """Bulk sockets: raise the 401 unless ``?token=`` is accepted."""
        if not self.accepts(query.get("token", "")):
            raise auth_failure()

    def __repr__(self) -> str:  # never show the token
        return f"Auth(open={self.open})"
