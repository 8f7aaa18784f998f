"""``/api/v1/socket`` envelopes and the stream completion rule (docs/protocol.md section 5).

Sans-I/O: builds the frames a client sends, reads the frames it receives (one completion
rule, :func:`read_response`), and keeps the state of a socket's requests (:class:`Requests`:
ids, the gateway's concurrency limit, the queue behind it, deadlines). The transport
(``transport/mux_client.py``) only moves frames and wakes waiters; the local gateway uses the
same envelopes, so the two cannot disagree on shape.
"""

from __future__ import annotations

import collections
import functools
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import AccessDeniedError, AuthenticationError, ProtocolError, ServiceError
from .replies import error_of

# The gateway runs this many requests of one socket at once (mux.py: 15 with ">").
MAX_CONCURRENT_REQUESTS = 16


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
    """A request envelope. ``flow`` decides routing: with it, ``service`` is a flow service.

    ``{"id":..,"service":..[,"flow":..][,"workspace":..],"request":..}``, compact; the text
    around the id and the body is built once per (service, flow, workspace)."""
    head, middle = _envelope_parts(service, flow, workspace)
    return head + _dumps(request_id) + middle + _dumps(request) + "}"


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@functools.lru_cache(maxsize=256)
def _envelope_parts(service: str, flow: str | None, workspace: str | None) -> tuple[str, str]:
    env: dict[str, Any] = {"id": "\x00", "service": service}
    if flow is not None:
        env["flow"] = flow
    if workspace is not None:
        env["workspace"] = workspace
    env["request"] = {}
    head, tail = _dumps(env).split('"\\u0000"', 1)
    return head, tail[: -len("{}}")]


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
        """The completion rule (docs/protocol.md 5.4): complete, a top-level error, or response.error.

        ``response.error`` ends the stream because knowledge errors arrive with
        ``complete: false`` and nothing follows them (docs/protocol.md 5.5).
        """
        return self.complete or self.error is not None or _has_error(self.response)


def _has_error(body: Any) -> bool:
    if type(body) is not dict:
        return error_of(body) is not None
    err = body.get("error")
    return err is not None and err != {} and err != ""


def parse_response_frame(frame: Any) -> ResponseFrame:
    """A response frame, classified; raises :class:`ProtocolError` for a malformed one."""
    if type(frame) is dict:  # the usual frame, read without the generic checks below
        response = frame.get("response")
        if response is None or type(response) is dict:
            rid = frame.get("id")
            top = None
            if "response" not in frame and _has_error(frame):
                top = error_of(frame)
            return ResponseFrame(str(rid) if rid is not None else None, response, bool(frame.get("complete")), top)
    if not isinstance(frame, Mapping):
        raise ProtocolError(f"socket frame is {type(frame).__name__}, not a JSON object")
    rid = frame.get("id")
    response = frame.get("response")
    if response is not None and not isinstance(response, Mapping):
        raise ProtocolError("socket frame 'response' is not a JSON object")
    top = error_of(frame) if "response" not in frame else None
    return ResponseFrame(str(rid) if rid is not None else None, response, bool(frame.get("complete")), top)


def read_response(frame: Any, service: str, endpoint: str, check: bool = True) -> tuple[Mapping[str, Any] | None, bool]:
    """One received frame of a request: ``(its response or None, whether the stream ended)``.

    The client's whole per-frame rule: a top-level error always raises; a ``response.error``
    raises when ``check`` (else it is returned, and still ends the stream).
    """
    if type(frame) is dict:
        response = frame.get("response")
        if type(response) is dict:  # the usual frame: no dataclass on the hot path
            failed = _has_error(response)
            if failed and check:
                raise_for_frame(service, parse_response_frame(frame), endpoint)
            return response, failed or bool(frame.get("complete"))
    parsed = parse_response_frame(frame)
    final = parsed.final
    if parsed.error is not None or (check and final):
        raise_for_frame(service, parsed, endpoint)
    return parsed.response, final


def raise_for_frame(service: str, frame: ResponseFrame, endpoint: str) -> None:
    """Raise the matching error for a frame carrying an error at the top level or in response."""
    if frame.error is not None:
        kind, message = frame.error
        if kind == "auth-required":  # requests go only on sockets that had auth-ok (docs/protocol.md 3.2, 5.3)
            raise AuthenticationError(endpoint, message, transient=True)
        if kind == "access-denied":
            raise AccessDeniedError(endpoint, message)
        raise ServiceError(service, kind, message)
    err = error_of(frame.response)
    if err is not None:
        raise ServiceError(service, err[0], err[1])


NEW, QUEUED, SENT, DONE = range(4)


@dataclass(slots=True)
class RequestState:
    """One request on a socket: where it is, and by when its next frame is due."""

    rid: str
    text: str  # the envelope, sent when a slot is free
    state: int = NEW
    deadline: float = math.inf  # while waiting for a frame of a sent request


@dataclass
class Requests:
    """The requests of one socket, as data: ids, the gateway's concurrency limit (the gateway
    runs :data:`MAX_CONCURRENT_REQUESTS` of a socket at once, so more wait here, oldest first),
    and deadlines. The transport asks it what to send and whom to time out; it never sends."""

    timeout: float
    limit: int = MAX_CONCURRENT_REQUESTS
    open: dict[str, RequestState] = field(default_factory=dict)
    _free: int = -1
    _queue: collections.deque[RequestState] = field(default_factory=collections.deque)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        if self._free < 0:
            self._free = self.limit

    def add(self, service: str, body: Mapping[str, Any], flow: str | None, workspace: str | None) -> RequestState:
        """A new request: sendable now (``SENT``) if a slot is free and none waits, else ``QUEUED``."""
        rid = f"r{next(self._ids)}"
        request = RequestState(rid, request_frame(rid, service, body, flow=flow, workspace=workspace))
        self.open[rid] = request
        if self._free > 0 and not self._queue:
            self._free -= 1
            request.state = SENT
        else:
            request.state = QUEUED
            self._queue.append(request)
        return request

    def end(self, request: RequestState) -> None:
        """``request`` is over (its final frame, an error, or abandoned): its slot frees."""
        state, request.state = request.state, DONE
        self.open.pop(request.rid, None)
        if state == SENT:
            self._free += 1
        elif state == QUEUED:
            try:
                self._queue.remove(request)
            except ValueError:
                pass

    def next_to_send(self, now: float) -> RequestState | None:
        """The oldest queued request, now holding a slot (and a deadline), or ``None``."""
        while self._free > 0 and self._queue:
            request = self._queue.popleft()
            if request.state != QUEUED:
                continue
            self._free -= 1
            request.state = SENT
            request.deadline = now + self.timeout
            return request
        return None

    @property
    def queued(self) -> bool:
        return bool(self._queue)

    def waiting(self, request: RequestState, now: float) -> None:
        """The consumer waits for ``request``'s next frame: it is due within the timeout once sent."""
        request.deadline = now + self.timeout if request.state == SENT else math.inf

    def expired(self, request: RequestState, now: float) -> bool:
        return request.deadline <= now

    def lost(self) -> list[RequestState]:
        """The socket is gone: every open request, which the transport fails; none is queued."""
        self._queue.clear()
        return list(self.open.values())
