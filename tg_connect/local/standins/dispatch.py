"""The dispatch: a gateway request to the handler registered for its service, as a frame stream.

Every handler is an async generator of ``(response, final)`` pairs, the shape of a real
service's response stream after ``encode_with_completion``. The socket sends every pair; REST
returns the last one (the real ``ServiceRequestor.process`` stops at a final frame or one
carrying ``error``). Two kinds of failure are kept apart, as in 2.11:

* a request the *translator* cannot decode (a missing required key, a term that is a plain
  string) raises; :func:`run` turns it into ``{"error": {"type": "gateway-error", ...}}``;
* a failure *inside* a service is answered the way that service's translator answers it,
  which for config and flow means the error is dropped and an all-defaults reply is sent.

Handlers register under their service's name in :mod:`tg_connect.protocol.registry`
(:mod:`.registration`); importing this module imports every handler module, so they all are.
The global services are in :mod:`.admin` (config, flow, iam, collection-management),
:mod:`.kg_cores` (knowledge) and :mod:`.librarian`, each a dispatch table operation ->
answer; the flow services in :mod:`.triples`, :mod:`.inference`, :mod:`.vectors`,
:mod:`.retrieval`, :mod:`.agent`, :mod:`.sparql` and :mod:`.structured`.
"""

from __future__ import annotations

from typing import Any

from ..storage.backend import Backend
from . import admin, agent, inference, kg_cores, librarian, retrieval, sparql, structured, triples, vectors
from .flowctx import Ctx, Stream
from .registration import FLOW_HANDLERS, GLOBAL_HANDLERS
from .triples import JsonBatch

# The modules whose handlers register when they are imported.
HANDLER_MODULES = (admin, agent, inference, kg_cores, librarian, retrieval, sparql, structured, triples, vectors)


def gateway_error(message: str) -> dict[str, Any]:
    return {"error": {"type": "gateway-error", "message": message}}


class InvalidFlow(RuntimeError):
    """Raised before any response, like the real dispatcher manager (mux type ``error``)."""


async def run(backend: Backend, stream: Stream, service: str) -> Stream:
    """Run a handler stream: translator errors become a gateway-error frame; stop at the
    first final or error frame; count the request in the gateway metrics."""
    ok = True
    try:
        async for response, final in stream:
            failed = isinstance(response, dict) and "error" in response
            ok = ok and not failed
            yield response, final
            if final or failed:
                break
    except Exception as exc:  # the translator or the request was malformed
        ok = False
        yield gateway_error(str(exc)), True
    finally:
        backend.metrics.count_request(service, ok)


def global_stream(backend: Backend, service: str, workspace: str, request: dict[str, Any]) -> Stream:
    """The response stream of a global service call (``request.operation`` already checked)."""
    handler = GLOBAL_HANDLERS.get(service)
    if handler is None:
        return run(backend, _unavailable(service), service)
    return run(backend, handler.answer(backend, workspace, request), service)


def flow_stream(backend: Backend, kind: str, workspace: str, flow: Any, request: Any) -> Stream:
    """The response stream of a flow service; raises :class:`InvalidFlow` up front."""
    record = backend.flow(workspace, flow)
    if record is None:
        raise InvalidFlow(f"Invalid flow {workspace}/{flow}")
    interfaces = record.get("interfaces")
    if not isinstance(interfaces, dict) or kind not in interfaces:
        raise InvalidFlow("This kind not supported by flow")
    handler = FLOW_HANDLERS.get(kind)
    if handler is None:
        return run(backend, _unavailable(kind), kind)
    return run(backend, handler(Ctx(backend, workspace, str(flow)), request), kind)


async def _unavailable(kind: str) -> Stream:
    yield gateway_error(f"{kind} is not available on the local gateway"), True


async def last_frame(stream: Stream) -> dict[str, Any]:
    """What REST returns: the last frame of the stream."""
    last: Any = {}
    async for response, _final in stream:
        last = response
    return last.value() if isinstance(last, JsonBatch) else last
