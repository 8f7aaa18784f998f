"""Reading: stored triples (streaming query), knowledge cores (snapshot), export taps (live).

Every path yields canonical record batches as they arrive; nothing is collected unless the
caller asks for a DataFrame.

No path ends early in silence: a read ends normally only when its source says it is complete
(the query's final frame, a core body ending on an item boundary) or when the caller's end
condition is met (a tail's ``max_rows`` or ``idle_timeout``). A socket that drops, a body cut
inside an item, or a core that does not exist raises, and the error says how many rows had
been read (:attr:`~tg_connect.errors.TgConnectError.rows_read`). A gateway that stalls raises
:class:`~tg_connect.errors.GatewayTimeoutError` within about ``timeout``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator
from typing import Any, Literal

import aiohttp
import pyarrow as pa
from websockets.exceptions import ConnectionClosed

from ..errors import AuthenticationError, GatewayConnectionError, GatewayTimeoutError, ProtocolError, TgConnectError
from ..protocol import messages, mux, schemas
from ..protocol.arrow_decode import decode_frames, decode_query_frames
from ..protocol.cores import CoreDecoder
from ..protocol.endpoints import SOCKET_PATH, bulk_url, http_base, redact, ws_base
from ..protocol.terms import Term, guess_kind
from ..target import Target
from ..transport.connect import abort_websocket, closed_error, http_session, is_alive, keepalive, open_websocket
from ..transport.mux_client import open_authenticated, quick_close
from .cores import bearer, core_error, raise_for_status

log = logging.getLogger(__name__)
ReadSource = Literal["query", "core", "tail"]
# "No limit" for the triples query: the gateway needs a positive integer, and the real
# 2.11 store silently returns nothing for very large ones (2**62), so stay at int32 max.
UNLIMITED = 2**31 - 1
DEFAULT_READ_BATCH = 1000
_TAIL_QUEUE = 64  # frames waiting to be decoded
_TAIL_BLOCK_BYTES = 4 * 1024 * 1024  # decode at most this much text at once


def pattern_term(value: str | Term | None) -> dict[str, Any] | None:
    """A query pattern term from a :class:`Term` or a bare string (kind guessed as on load)."""
    if value is None:
        return None
    if isinstance(value, Term):
        return value.to_wire()
    kind, text = guess_kind(value)
    return Term(text, kind).to_wire()


async def aread_batches(
    target: Target,
    kind: str = "triples",
    *,
    source: ReadSource | None = None,
    flow: str = "default",
    collection: str = "default",
    s: str | Term | None = None,
    p: str | Term | None = None,
    o: str | Term | None = None,
    g: str | None = "*",
    limit: int | None = None,
    batch_size: int = DEFAULT_READ_BATCH,
    core_id: str | None = None,
    max_rows: int | None = None,
    idle_timeout: float | None = None,
) -> AsyncIterator[pa.RecordBatch]:
    """Yield canonical batches of ``kind``; see :func:`tg_connect.read_batches`."""
    kind_name = schemas.normalise_kind(kind)
    if source is None:
        source = "query" if kind_name == "triples" else "core"
    if source == "query":
        if kind_name != "triples":
            raise ValueError(f"source='query' reads triples; read {kind_name} with source='core' or 'tail'")
        gen = _query_triples(target, flow, collection, s, p, o, g, limit, batch_size)
    elif source == "core":
        if not core_id:
            raise ValueError("source='core' needs core_id= (a load's document_id names its core)")
        if kind_name not in ("triples", "graph-embeddings"):
            raise ValueError("knowledge cores hold triples and graph-embeddings only")
        gen = _read_core(target, kind_name, core_id, max_rows)
    elif source == "tail":
        if kind_name not in schemas.EXPORTABLE_KINDS:
            raise ValueError(f"the gateway has no export socket for {kind_name}")
        if max_rows is None and idle_timeout is None:
            raise ValueError("source='tail' never ends by itself: pass max_rows= or idle_timeout=")
        gen = _tail(target, kind_name, flow, max_rows, idle_timeout)
    else:
        raise ValueError(f"source must be 'query', 'core' or 'tail', not {source!r}")
    rows = 0
    try:
        async for batch in gen:
            rows += batch.num_rows
            yield batch
    except TgConnectError as exc:
        if exc.rows_read is None:
            exc.rows_read = rows  # what the caller already has (see TgConnectError)
        raise


# A 2.11 gateway whose IAM service times out while authorising a request refuses it even
# though the socket's token was accepted; the same request usually passes moments later.
_TRANSIENT_AUTH_RETRY_DELAYS = (1.0, 4.0)


async def _query_triples(target: Target, flow: str, collection: str, s: Any, p: Any, o: Any,
                         g: str | None, limit: int | None, batch_size: int) -> AsyncIterator[pa.RecordBatch]:
    """The triples query, asked again (up to twice) when the gateway refuses it for a reason
    that passes (:attr:`AuthenticationError.transient`) before any triple arrived."""
    for delay in (*_TRANSIENT_AUTH_RETRY_DELAYS, None):
        started = False
        try:
            async for batch in _query_once(target, flow, collection, s, p, o, g, limit, batch_size):
                started = True
                yield batch
            return
        except AuthenticationError as exc:
            if not exc.transient or started or delay is None:
                raise
            log.warning("%s; asking again in %.0f s", exc, delay)
            await asyncio.sleep(delay)


async def _query_once(target: Target, flow: str, collection: str, s: Any, p: Any, o: Any,
                      g: str | None, limit: int | None, batch_size: int) -> AsyncIterator[pa.RecordBatch]:
    """The streaming triples query on a socket of its own, decoded a block of frames at a time.

    With no other request sharing the socket, frames need no routing by id, so they are not
    parsed one by one: each step takes the frames already waiting and decodes them together
    (:func:`~tg_connect.protocol.arrow_decode.decode_query_frames`). The timeout restarts at
    every frame, so a gateway that stops sending raises within ``timeout`` (the handshake and
    the auth reply share one ``timeout`` too). No keepalive pings: the per-frame timeout
    notices a stall, and counts only while the caller waits, so a slow consumer (whose full
    queue stops the socket being read, pongs included) is never mistaken for a stall.
    """
    request: dict[str, Any] = {
        "collection": collection,
        "limit": UNLIMITED if limit is None else int(limit),
        "streaming": True,
        "batch-size": int(batch_size),
    }
    for name, value in (("s", s), ("p", p), ("o", o)):
        term = pattern_term(value)
        if term is not None:
            request[name] = term
    if g is not None:
        request["g"] = g
    url = ws_base(target.url) + SOCKET_PATH
    ws, _auth = await open_authenticated(url, target.token, verify=target.verify, timeout=target.timeout,
                                         ping_interval=None, close_timeout=quick_close(target.timeout))
    frames: asyncio.Queue[bytes | ConnectionClosed] = asyncio.Queue(_TAIL_QUEUE)

    async def reader() -> None:
        try:
            while True:
                await frames.put(await ws.recv(decode=False))
        except ConnectionClosed as exc:
            await frames.put(exc)

    task = asyncio.get_running_loop().create_task(reader())
    complete = False
    try:
        try:
            await asyncio.wait_for(
                ws.send(mux.request_frame("q", "triples", request, flow=flow, workspace=target.workspace)),
                target.timeout)
        except TimeoutError:
            raise GatewayTimeoutError(f"triples query: {url} did not take the request within {target.timeout} s"
                                      ) from None
        except ConnectionClosed as exc:
            raise closed_error(exc, f"triples query to {url} not sent", target.timeout) from None
        while True:
            try:
                first = frames.get_nowait() if not frames.empty() else \
                    await asyncio.wait_for(frames.get(), target.timeout)
            except TimeoutError:
                raise GatewayTimeoutError(f"triples query: no frame from {url} within {target.timeout} s") from None
            if isinstance(first, ConnectionClosed):
                raise closed_error(first, f"triples query from {url} lost", target.timeout)
            block, size = [first], len(first)
            while size < _TAIL_BLOCK_BYTES and not frames.empty():
                more = frames.get_nowait()
                if isinstance(more, ConnectionClosed):
                    frames.put_nowait(more)  # seen again (and reported) if the stream is not complete
                    break
                block.append(more)
                size += len(more)
            decoded = await asyncio.get_running_loop().run_in_executor(None, decode_query_frames, block)
            if decoded is None:  # frame by frame: raises the gateway's error if there is one
                done = False
                for raw in block:
                    frame = mux.parse_response_frame(json.loads(raw))
                    mux.raise_for_frame("triples", frame, url)
                    try:
                        batch = messages.triples_from_wire((frame.response or {}).get("response") or [])
                    except ValueError as exc:
                        raise ProtocolError(f"triples query: {exc}") from None
                    if batch.num_rows:
                        yield batch
                    if frame.final:
                        done = True
                        break
                if done:
                    complete = True
                    return
                continue
            batch, complete = decoded
            if batch.num_rows:
                yield batch
            if complete:
                return
    finally:
        task.cancel()
        if complete:
            await ws.close()  # bounded by close_timeout
        else:
            await abort_websocket(ws)  # failed, stalled or abandoned: no handshake to wait for


async def _read_core(
    target: Target, kind: schemas.Kind, core_id: str, max_rows: int | None
) -> AsyncIterator[pa.RecordBatch]:
    """The ``kind`` rows of knowledge core ``core_id``, item by item from the export-core stream.

    The body must end on an item boundary and hold at least one item (the gateway sends an
    empty body for a core that does not exist): otherwise this raises (:func:`.cores.core_error`).
    The ``timeout`` bounds the wait for the headers and for every chunk of the body.
    """
    url = f"{http_base(target.url)}/api/v1/export-core"
    endpoint = redact(url)
    tag = "t" if kind == "triples" else "ge"
    decoder = CoreDecoder()
    sent = 0
    async with http_session(target.url, verify=target.verify, timeout=target.timeout) as session:
        try:
            async with session.get(url, params={"id": core_id, "workspace": target.workspace},
                                   headers=bearer(target)) as resp:
                await raise_for_status(resp, url)
                async for chunk in resp.content.iter_chunked(1 << 16):
                    try:
                        items = list(decoder.feed(chunk))
                    except ValueError as exc:
                        raise ProtocolError(f"knowledge core {core_id!r} from {endpoint}: {exc}") from None
                    for item in items:
                        if item.tag != tag or item.batch is None or item.batch.num_rows == 0:
                            continue
                        batch = item.batch
                        if max_rows is not None:
                            batch = batch.slice(0, max_rows - sent)
                        sent += batch.num_rows
                        yield batch
                        if max_rows is not None and sent >= max_rows:
                            return
        except TgConnectError:
            raise
        except TimeoutError:  # before ClientError: aiohttp's ServerTimeoutError is both
            raise GatewayTimeoutError(f"knowledge core {core_id!r}: nothing from {endpoint} within"
                                      f" {target.timeout} s (after {decoder.items} items)") from None
        except aiohttp.ClientError as exc:
            raise GatewayConnectionError(f"cannot read knowledge core {core_id!r} from {endpoint}: {exc}"
                                         f" (after {decoder.items} items)") from None
    error = core_error(core_id, endpoint, decoder, f"{sent} {kind} rows")
    if error is not None:
        raise error


async def _tail(target: Target, kind: schemas.Kind, flow: str, max_rows: int | None,
                idle_timeout: float | None) -> AsyncIterator[pa.RecordBatch]:
    """Batches from the live export socket, decoded a block of frames at a time.

    A reader task queues raw frames (a bounded queue: a slow consumer stops the socket being
    read); each step takes the frames already waiting, up to a few MB, and decodes them with
    one vectorised pass.

    The tap has no end of its own, so the tail ends normally only by ``max_rows`` or after
    ``idle_timeout`` seconds without data (and a pong proving the gateway is still there).
    Anything else raises with the rows read so far: the socket closing, even cleanly (a 2.11
    gateway closes an export socket on an unknown flow at once with code 1000, no frame:
    docs/real-gateway.md), raises :class:`GatewayConnectionError`; a gateway that stops
    answering pings raises :class:`GatewayTimeoutError` within about ``timeout``. The pings are
    sent only while the tail waits for data (every ``timeout / 2`` without a frame), so a slow
    consumer never looks like a stalled gateway.
    """
    url = bulk_url(target.url, "export", flow, kind, target.token, target.workspace)
    what = f"{kind} export on flow {flow!r} ({redact(url)})"
    ws = await open_websocket(url, verify=target.verify, timeout=target.timeout,
                              ping_interval=None, close_timeout=quick_close(target.timeout))
    frames: asyncio.Queue[bytes | ConnectionClosed] = asyncio.Queue(_TAIL_QUEUE)

    async def reader() -> None:
        try:
            while True:
                await frames.put(await ws.recv(decode=False))
        except ConnectionClosed as exc:
            await frames.put(exc)

    loop = asyncio.get_running_loop()
    task = loop.create_task(reader())
    probe = keepalive(target.timeout)
    idle_at = loop.time() + idle_timeout if idle_timeout else math.inf
    sent = received = 0
    healthy = False
    try:
        while max_rows is None or sent < max_rows:
            if frames.empty():
                try:
                    first = await asyncio.wait_for(frames.get(), max(min(probe, idle_at - loop.time()), 0.0))
                except TimeoutError:
                    # No data for a while: idle is fine, a stalled gateway is not.
                    if not await is_alive(ws, probe):
                        raise GatewayTimeoutError(
                            f"{what}: the gateway stopped answering pings (timeout {target.timeout} s)"
                            f" after {sent} rows") from None
                    if loop.time() >= idle_at and frames.empty():
                        healthy = True
                        return  # idle: the tap has nothing more for now
                    continue
            else:
                first = frames.get_nowait()
            if isinstance(first, ConnectionClosed):
                raise _tail_closed(first, what, target.timeout, sent, received)
            block, size, closed = [first], len(first), None
            while size < _TAIL_BLOCK_BYTES and not frames.empty():
                more = frames.get_nowait()
                if isinstance(more, ConnectionClosed):
                    closed = more
                    break
                block.append(more)
                size += len(more)
            received += len(block)
            # Decoded on a worker thread (Arrow's parser releases the GIL): the socket keeps
            # being read meanwhile, so receiving and decoding overlap.
            batch = await loop.run_in_executor(None, decode_frames, kind, block)
            if max_rows is not None:
                batch = batch.slice(0, max_rows - sent)
            sent += batch.num_rows
            if batch.num_rows:
                yield batch
            if closed is not None and (max_rows is None or sent < max_rows):
                raise _tail_closed(closed, what, target.timeout, sent, received)
            if idle_timeout:
                idle_at = loop.time() + idle_timeout
        healthy = True
    finally:
        task.cancel()
        if healthy:
            await ws.close()  # bounded by close_timeout
        else:
            await abort_websocket(ws)  # failed, stalled or abandoned: no handshake to wait for


def _tail_closed(exc: ConnectionClosed, what: str, timeout: float, rows: int, frames: int) -> TgConnectError:
    """The error for a tail whose socket closed before its end condition."""
    if frames == 0 and exc.rcvd is not None and exc.rcvd.code == 1000:
        return GatewayConnectionError(
            f"{what}: the gateway closed the export socket with code 1000 before sending anything; a"
            " 2.11 gateway does this when the flow does not exist or has no export of this kind")
    error = closed_error(exc, what, timeout)
    return type(error)(f"{error} after {rows} rows")
