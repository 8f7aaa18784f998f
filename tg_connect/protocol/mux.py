"""``/api/v1/socket`` envelopes and the stream completion rule (protocol.md section 6).

Sans-I/O: builds the frames a client sends and classifies the frames it receives. The
client transport and the local gateway both use these, so the two cannot disagree on shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import AccessDeniedError, AuthenticationError, ProtocolError, ServiceError
from .replies import error_of

# The gateway runs this many requests of one socket at once (mux.py: 15 with ">").
MAX_CONCURRENT_REQUESTS = 16
GLOBAL_SERVICES = ("config", "flow", "librarian", "knowledge", "collection-management", "iam")


def auth_frame(token: str | None) -> str:
    """The first frame on the socket; an empty token means anonymous."""
    return json.dumps({"type": "auth", "token": token or ""})


def request_frame(
    request_id: str,
    service: str,
    request: Mapping[str, Any],
    *,
    flow: str | None = None,
    workspace: str | None = None,
) -> str:
    """A request envelope. ``flow`` decides routing: with it, ``service`` is a flow service."""
    env: dict[str, Any] = {"id": request_id, "service": service}
    if flow is not None:
        env["flow"] = flow
    if workspace is not None:
        env["workspace"] = workspace
    env["request"] = request
    return json.dumps(env, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class AuthResult:
    ok: bool
    default_workspace: str | None
    error: str | None


def parse_auth_reply(frame: Mapping[str, Any]) -> AuthResult | None:
    """The outcome of an auth frame, or ``None`` if ``frame`` is not an auth reply."""
    kind = frame.get("type")
    if kind == "auth-ok":
        return AuthResult(True, frame.get("default_workspace"), None)
    if kind == "auth-failed":
        return AuthResult(False, None, str(frame.get("error") or "auth failure"))
    return None


@dataclass(frozen=True)
class ResponseFrame:
    """One classified response frame for a request id."""

    id: str | None
    response: Mapping[str, Any] | None
    complete: bool
    error: tuple[str, str] | None  # top-level mux error (type, message)

    @property
    def final(self) -> bool:
        """The completion rule (protocol.md 6.4): complete, a top-level error, or response.error.

        ``response.error`` ends the stream because knowledge errors arrive with
        ``complete: false`` and nothing follows them (6.5).
        """
        return self.complete or self.error is not None or error_of(self.response) is not None


def parse_response_frame(frame: Any) -> ResponseFrame:
    if not isinstance(frame, Mapping):
        raise ProtocolError(f"socket frame is {type(frame).__name__}, not a JSON object")
    rid = frame.get("id")
    response = frame.get("response")
    if response is not None and not isinstance(response, Mapping):
        raise ProtocolError("socket frame 'response' is not a JSON object")
    top = error_of(frame) if "response" not in frame else None
    return ResponseFrame(
        str(rid) if rid is not None else None, response, bool(frame.get("complete")), top
    )


def raise_for_frame(service: str, frame: ResponseFrame, endpoint: str) -> None:
    """Raise the matching error for a frame carrying an error at the top level or in response."""
    if frame.error is not None:
        kind, message = frame.error
        if kind == "auth-required":  # requests go only on sockets that had auth-ok (protocol.md 3, 6.3)
            raise AuthenticationError(endpoint, message, transient=True)
        if kind == "access-denied":
            raise AccessDeniedError(endpoint, message)
        raise ServiceError(service, kind, message)
    err = error_of(frame.response)
    if err is not None:
        raise ServiceError(service, err[0], err[1])
