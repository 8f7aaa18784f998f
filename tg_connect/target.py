"""Which gateway a job talks to: an explicit URL, else ``$TRUSTGRAPH_URL``, else TrustGraph's
own default, ``http://localhost:8088``.

There is no silent fallback: a job without a URL never loads into a throwaway gateway and
"succeeds" while writing nothing. When nothing answers at the URL, the first call says so and
names both ways to set it. The embedded gateway is always one explicit step away
(:class:`~tg_connect.LocalGateway`, ``tg-connect serve``, ``tg-connect demo``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .protocol.endpoints import validate_base_url

DEFAULT_URL = "http://localhost:8088"  # the TrustGraph gateway's own default, as its tools use


@dataclass(frozen=True)
class Target:
    """A resolved gateway: base URL, credentials (never shown), workspace and TLS settings."""

    url: str
    token: str | None = field(default=None, repr=False)
    workspace: str = "default"
    timeout: float = 60.0
    verify: bool = True


def resolve_target(
    url: str | None = None,
    token: str | None = None,
    *,
    workspace: str | None = None,
    timeout: float = 60.0,
    verify: bool = True,
) -> Target:
    """``url``, else ``$TRUSTGRAPH_URL``, else :data:`DEFAULT_URL`; ``token``, else
    ``$TRUSTGRAPH_TOKEN``. A URL that cannot be used raises :class:`~tg_connect.errors.InputError`
    naming where it came from (the ``url`` setting or ``$TRUSTGRAPH_URL``)."""
    if token is None:
        token = os.environ.get("TRUSTGRAPH_TOKEN") or None
    origin = None
    if url is None:
        url = os.environ.get("TRUSTGRAPH_URL") or DEFAULT_URL
        origin = "$TRUSTGRAPH_URL" if os.environ.get("TRUSTGRAPH_URL") else None
    return Target(validate_base_url(url, origin=origin), token, workspace or "default", timeout, verify)
