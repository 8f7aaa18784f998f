"""Which gateway a bulk job talks to: an explicit URL, ``TRUSTGRAPH_URL``, or the local gateway."""

from __future__ import annotations

import atexit
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from .protocol.endpoints import validate_base_url

_default_gateway: Any = None
_default_lock = threading.Lock()


def default_local_gateway() -> Any:
    """The process-wide in-memory local gateway, started on first use and stopped at exit."""
    global _default_gateway
    with _default_lock:
        if _default_gateway is None:
            from .local import LocalGateway

            gw = LocalGateway()
            gw.start()
            atexit.register(gw.stop)
            _default_gateway = gw
        return _default_gateway


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
    """``url`` or ``$TRUSTGRAPH_URL`` or the local gateway; ``token`` or ``$TRUSTGRAPH_TOKEN``."""
    if token is None:
        token = os.environ.get("TRUSTGRAPH_TOKEN") or None
    if url is None:
        url = os.environ.get("TRUSTGRAPH_URL") or None
    if url is None:
        url = default_local_gateway().url
    return Target(validate_base_url(url), token, workspace or "default", timeout, verify)
