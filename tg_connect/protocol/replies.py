"""Error extraction from every place the gateway puts errors (docs/protocol.md sections 4-5).

An error can arrive as an HTTP status (401/403/404/400 with ``{"error": "..."}``), as a
plain ``error`` string in a 200 body (unknown flow), as an ``error`` object
``{type, message}`` inside a service reply, as a top-level mux frame error, or not at all
(several 2.11 translators drop errors: then the field the service must return is missing,
which :func:`require_field` turns into an error). Sans-I/O: these functions only look at
already-received values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import AccessDeniedError, AuthenticationError, ProtocolError, ServiceError


def error_of(body: Any) -> tuple[str, str] | None:
    """``(type, message)`` if ``body`` carries an ``error`` (string or object), else ``None``."""
    if not isinstance(body, Mapping):
        return None
    err = body.get("error")
    if err is None or err == {} or err == "":
        return None
    if isinstance(err, str):
        return "error", err
    if isinstance(err, Mapping):
        return str(err.get("type") or "error"), str(err.get("message") or "")
    return "error", str(err)


def raise_for_http(status: int, body: Any, endpoint: str) -> None:
    """Raise the matching error for a gateway HTTP status that is not 200."""
    if status == 200:
        return
    detail = error_of(body)
    text = detail[1] if detail else (body if isinstance(body, str) else "")
    if status == 401:
        raise AuthenticationError(endpoint, text or "auth failure")
    if status == 403:
        raise AccessDeniedError(endpoint, text or "access denied")
    raise ServiceError(endpoint, f"http-{status}", str(text)[:500])


def raise_for_reply(service: str, body: Any) -> None:
    """Raise :class:`ServiceError` if a service reply carries an error in any form."""
    if not isinstance(body, Mapping):
        raise ProtocolError(f"{service}: reply is {type(body).__name__}, not a JSON object")
    err = error_of(body)
    if err is not None:
        raise ServiceError(service, err[0], err[1])


def require_field(service: str, body: Mapping[str, Any], field: str) -> Any:
    """The value of ``field``; its absence means the gateway dropped an error (docs/protocol.md 4.4)."""
    value = body.get(field)
    if value is None:
        raise ServiceError(
            service,
            "missing-field",
            f"the reply has no {field!r}; the gateway drops this service's errors, so the"
            " request most likely failed in the back end",
        )
    return value
