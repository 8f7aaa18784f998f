"""Reading: stored triples (streaming query), knowledge cores (snapshots), export taps (live).

The read paths (``source=``) and the kinds each can read:

* ``"query"``: the stored graph through the streaming triples query (triples);
* ``"core"``: one knowledge core, named by ``core_id`` (a load's document id): triples or
  graph embeddings;
* ``"cores"``: every knowledge core of the workspace noted for ``collection`` (each load of
  those kinds notes its core; :mod:`.cores`), read one after another: triples or graph
  embeddings. This is how graph embeddings are read by collection: the gateway has no query
  that lists stored vectors;
* ``"tail"``: the live export socket (every kind with one: triples, graph embeddings,
  document embeddings, entity contexts), showing rows as they are loaded, not what is stored.

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
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import aiohttp
import pyarrow as pa
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from .. import wording
from ..errors import (
    AuthenticationError,
    GatewayConnectionError,
    GatewayTimeoutError,
    InputError,
    NotFoundError,
    ProtocolError,
    TgConnectError,
)
from ..protocol import messages, mux, schemas, services
from ..protocol.arrow_decode import decode_frames, decode_query_frames
from ..protocol.cores import CoreDecoder
from ..protocol.endpoints import SOCKET_PATH, bulk_url, http_base, redact, ws_base
from ..protocol.terms import Term
from ..target import Target
from ..transport.connect import abort_websocket, closed_error, http_session, is_alive, keepalive, open_websocket
from ..transport.mux_client import open_authenticated, quick_close
from .cores import CORE_KINDS, bearer, core_error, cores_of, raise_for_status
from .progress import ProgressArg, ProgressSink

log = logging.getLogger(__name__)
ReadSource = Literal["query", "core", "cores", "tail"]
SOURCES: tuple[ReadSource, ...] = ("query", "core", "cores", "tail")
# "No limit" for the triples query: the gateway needs a positive integer, and the real
# 2.11 store silently returns nothing for very large ones (2**62), so stay at int32 max.
UNLIMITED = 2**31 - 1
DEFAULT_READ_BATCH = 1000
_TAIL_QUEUE = 64  # frames waiting to be decoded
_TAIL_BLOCK_BYTES = 4 * 1024 * 1024  # decode at most this much text at once


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
    progress: ProgressArg = False,
) -> AsyncIterator[pa.RecordBatch]:
    """Yield canonical batches of ``kind``; see :func:`tg_connect.read_batches`."""
    kind_name = schemas.normalise_kind(kind)
    source = default_source(kind_name, source, core_id)
    if source == "query":
        gen = _query_triples(target, flow, query_request(kind_name, collection, s, p, o, g, limit, batch_size))
    elif source == "core":
        gen = _read_core(target, kind_name, _core_id(kind_name, core_id), max_rows)
    elif source == "cores":
        gen = _read_cores(target, kind_name, collection, max_rows)
    elif source == "tail":
        _check_tail(kind_name, max_rows, idle_timeout)
        gen = _tail(target, kind_name, flow, max_rows, idle_timeout)
    else:
        raise InputError(f"{wording.setting('source')} must be one of {', '.join(SOURCES)}, not {source!r}")
    async for batch in _counted(gen, ProgressSink(progress, None, f"read {kind_name}", batches="batches")):
        yield batch


async def _counted(gen: AsyncIterator[pa.RecordBatch], sink: ProgressSink) -> AsyncIterator[pa.RecordBatch]:
    """``gen``'s batches, counted on ``sink``; an error says how many rows had been yielded.

    The progress ends as done only when ``gen`` is exhausted; an error, or a caller that
    stops reading early, ends it as stopped.
    """
    finished = False
    try:
        async for batch in gen:
            sink.update(batch.num_rows, batch.nbytes)
            yield batch
        finished = True
    except TgConnectError as exc:
        if exc.rows_read is None:
            exc.rows_read = sink.rows  # what the caller already has (see TgConnectError)
        raise
    finally:
        sink.close(failed=not finished)


def read_paths(kind: schemas.Kind) -> str:
    """The read paths that exist for ``kind``, in the caller's terms (a sentence)."""
    tail = (
        f"{wording.setting('source', 'tail')} with {wording.setting('max_rows')} or"
        f" {wording.setting('idle_timeout')} (the live export socket: rows as they are loaded,"
        " not what is stored)"
    )
    if kind == "triples":
        return (
            f"{wording.setting('source', 'query')} (the stored graph), {wording.setting('source', 'cores')}"
            f" (the knowledge cores of a collection), {wording.setting('source', 'core')} with"
            f" {wording.setting('core_id')}, or {tail}"
        )
    if kind == "graph-embeddings":
        return (
            f"{wording.setting('source', 'cores')} (the knowledge cores of a collection),"
            f" {wording.setting('source', 'core')} with {wording.setting('core_id')}, or {tail}"
        )
    if kind in schemas.EXPORTABLE_KINDS:
        return (
            f"no knowledge core holds {kind} (a 2.11 core keeps triples and graph embeddings) and the"
            f" gateway has no query that lists them: the one read path is {tail}"
        )
    return f"the gateway has no read path for {kind}: no query, knowledge core or export socket holds them"


def default_source(kind: schemas.Kind, source: ReadSource | None, core_id: str | None) -> ReadSource:
    """``source``, or the read path for ``kind`` when none is given: the query for triples,
    the core named by ``core_id`` or else the collection's cores for graph embeddings. Other
    kinds have no read of what is stored, so they need ``source="tail"`` said."""
    if source is not None:
        if source in ("core", "cores") and kind not in CORE_KINDS:
            raise InputError(f"cannot read {kind} with {wording.setting('source', source)}: {read_paths(kind)}")
        return source
    if kind == "triples":
        return "query"
    if kind == "graph-embeddings":
        return "core" if core_id else "cores"
    raise InputError(f"cannot read stored {kind}: {read_paths(kind)}")


def query_request(
    kind: schemas.Kind,
    collection: str,
    s: str | Term | None,
    p: str | Term | None,
    o: str | Term | None,
    g: str | None,
    limit: int | None,
    batch_size: int,
) -> dict[str, Any]:
    """The body of the streaming triples query that reads ``kind`` (triples only).

    Built by the client's own builder, so a pattern means here what it means to
    ``Api.flow().triples_query``: a bare string is an IRI as subject or predicate, its kind
    guessed as object (:func:`~tg_connect.protocol.calls.term_arg`). Its checks hold here
    too: ``limit`` from 1 to 2**31-1, ``batch_size`` from 1 to 100,000 (a frame that size is
    about 16 MB of short terms already; the socket's frame limit is 50 MiB).
    """
    if kind != "triples":
        raise InputError(f"{wording.setting('source', 'query')} reads triples only; for {kind}: {read_paths(kind)}")
    call = services.triples_query(
        s,
        p,
        o,
        g,
        streaming=True,
        collection=collection,
        limit=UNLIMITED if limit is None else limit,
        batch_size=batch_size,
    )
    return call.wire_body(every_frame=True)


def _core_id(kind: schemas.Kind, core_id: str | None) -> str:
    """``core_id``, checked to be given (the kind was checked by :func:`default_source`)."""
    if not core_id:
        raise InputError(
            f"{wording.setting('source', 'core')} needs {wording.setting('core_id')} (a load's document id"
            f" names its core); to read every core of a collection use {wording.setting('source', 'cores')}"
        )
    return core_id


def _check_tail(kind: schemas.Kind, max_rows: int | None, idle_timeout: float | None) -> None:
    if kind not in schemas.EXPORTABLE_KINDS:
        raise InputError(f"the gateway has no export socket for {kind}; {read_paths(kind)}")
    if max_rows is None and idle_timeout is None:
        raise InputError(
            f"{wording.setting('source', 'tail')} never ends by itself: pass {wording.setting('max_rows')}"
            f" or {wording.setting('idle_timeout')}"
        )


def _capped(batch: pa.RecordBatch, max_rows: int | None, sent: int) -> pa.RecordBatch:
    """``batch`` cut to the rows still wanted after ``sent``."""
    return batch if max_rows is None else batch.slice(0, max_rows - sent)


def _wanting(max_rows: int | None, sent: int) -> bool:
    """Whether a read capped at ``max_rows`` still wants rows after ``sent``."""
    return max_rows is None or sent < max_rows


# -- the socket's frames, queued by a reader task and taken a block at a time ---------------

Frames = asyncio.Queue[bytes | ConnectionClosed]


async def _pump(ws: ClientConnection, frames: Frames) -> None:
    """Queue every frame of ``ws``, then the close that ended them."""
    try:
        while True:
            await frames.put(await ws.recv(decode=False))
    except ConnectionClosed as exc:
        await frames.put(exc)


def _block(frames: Frames, first: bytes) -> tuple[list[bytes], ConnectionClosed | None]:
    """``first`` and the frames already waiting after it, up to a few MB (decoded together);
    and the close, if the queue reached it."""
    block, size = [first], len(first)
    while size < _TAIL_BLOCK_BYTES and not frames.empty():
        more = frames.get_nowait()
        if isinstance(more, ConnectionClosed):
            return block, more
        block.append(more)
        size += len(more)
    return block, None


# -- the streaming triples query ------------------------------------------------------------

# A 2.11 gateway whose IAM service times out while authorising a request refuses it even
# though the socket's token was accepted; the same request usually passes moments later.
_TRANSIENT_AUTH_RETRY_DELAYS = (1.0, 4.0)


async def _query_triples(target: Target, flow: str, request: dict[str, Any]) -> AsyncIterator[pa.RecordBatch]:
    """The triples query, asked again (up to twice) when the gateway refuses it for a reason
    that passes (:attr:`AuthenticationError.transient`) before any triple arrived."""
    for delay in (*_TRANSIENT_AUTH_RETRY_DELAYS, None):
        started = False
        try:
            async for batch in _query_once(target, flow, request):
                started = True
                yield batch
            return
        except AuthenticationError as exc:
            if not exc.transient or started or delay is None:
                raise
            log.warning("%s; asking again in %.0f s", exc, delay)
            await asyncio.sleep(delay)


async def _query_once(target: Target, flow: str, request: dict[str, Any]) -> AsyncIterator[pa.RecordBatch]:
    """The streaming triples query on a socket of its own, decoded a block of frames at a time.

    With no other request sharing the socket, frames need no routing by id, so they are not
    parsed one by one: each step takes the frames already waiting and decodes them together
    (:func:`~tg_connect.protocol.arrow_decode.decode_query_frames`). The timeout restarts at
    every frame, so a gateway that stops sending raises within ``timeout`` (the handshake and
    the auth reply share one ``timeout`` too). No keepalive pings: the per-frame timeout
    notices a stall, and counts only while the caller waits, so a slow consumer (whose full
    queue stops the socket being read, pongs included) is never mistaken for a stall.
    """
    url = ws_base(target.url) + SOCKET_PATH
    ws, _auth = await open_authenticated(
        url,
        target.token,
        verify=target.verify,
        timeout=target.timeout,
        ping_interval=None,
        close_timeout=quick_close(target.timeout),
    )
    frames: Frames = asyncio.Queue(_TAIL_QUEUE)
    loop = asyncio.get_running_loop()
    task = loop.create_task(_pump(ws, frames))
    complete = False
    try:
        await _send_query(
            ws, mux.request_frame("q", "triples", request, flow=flow, workspace=target.workspace), url, target.timeout
        )
        while not complete:
            block, closed = _block(frames, await _next_query_frame(frames, url, target.timeout))
            if closed is not None:
                frames.put_nowait(closed)  # seen again (and reported) if the stream is not complete
            decoded = await loop.run_in_executor(None, decode_query_frames, block)
            # None: frame by frame, which raises the gateway's error if there is one
            for batch, complete in _frame_by_frame(block, url) if decoded is None else (decoded,):
                if batch.num_rows:
                    yield batch
                if complete:
                    break
    finally:
        task.cancel()
        if complete:
            await ws.close()  # bounded by close_timeout
        else:
            await abort_websocket(ws)  # failed, stalled or abandoned: no handshake to wait for


async def _send_query(ws: ClientConnection, frame: str, url: str, timeout: float) -> None:
    try:
        await asyncio.wait_for(ws.send(frame), timeout)
    except TimeoutError:
        raise GatewayTimeoutError(f"triples query: {url} did not take the request within {timeout} s") from None
    except ConnectionClosed as exc:
        raise closed_error(exc, f"triples query to {url} not sent", timeout) from None


async def _next_query_frame(frames: Frames, url: str, timeout: float) -> bytes:
    """The next frame of the query, waiting up to ``timeout``; a close raises."""
    try:
        first = frames.get_nowait() if not frames.empty() else await asyncio.wait_for(frames.get(), timeout)
    except TimeoutError:
        raise GatewayTimeoutError(f"triples query: no frame from {url} within {timeout} s") from None
    if isinstance(first, ConnectionClosed):
        raise closed_error(first, f"triples query from {url} lost", timeout)
    return first


def _frame_by_frame(block: list[bytes], url: str) -> Iterator[tuple[pa.RecordBatch, bool]]:
    """Each frame's triples and whether it ends the stream; the gateway's error raises at
    its frame (after the frames before it were taken)."""
    for raw in block:
        frame = mux.parse_response_frame(json.loads(raw))
        mux.raise_for_frame("triples", frame, url)
        try:
            batch = messages.triples_from_wire((frame.response or {}).get("response") or [])
        except ValueError as exc:
            raise ProtocolError(f"triples query: {exc}") from None
        yield batch, frame.final


# -- knowledge cores --------------------------------------------------------------------------


async def _read_cores(
    target: Target, kind: schemas.Kind, collection: str, max_rows: int | None
) -> AsyncIterator[pa.RecordBatch]:
    """The ``kind`` rows of every core noted for ``collection``, core after core (by id).

    A core noted for this and other collections raises before anything is read: the store
    keeps no collection per row, so its rows cannot be told apart. Graph embeddings come only
    from the cores the knowledge service lists (it lists the cores that have them); for
    triples, a noted core that is not listed and sends an empty body has none (a load that
    failed before delivering, or a core since deleted).
    """
    found = await cores_of(target, collection)
    listed = set(found.listed)
    mixed = {core: other for core, other in found.mixed.items() if kind == "triples" or core in listed}
    if mixed:
        named = "; ".join(f"{core!r} also holds {', '.join(map(repr, other))}" for core, other in mixed.items())
        raise InputError(
            f"cannot read {kind} of collection {collection!r} from knowledge cores: {named} (the same document id"
            " was loaded into several collections, and a core keeps no collection per row); read such a core"
            f" whole with {wording.setting('source', 'core')} {wording.setting('core_id')}"
        )
    sent = 0
    for core_id in found.cores:
        if kind == "graph-embeddings" and core_id not in listed:
            continue  # no graph embeddings in it (or deleted)
        try:
            async for batch in _read_core(
                target, kind, core_id, _left(max_rows, sent), missing_ok=core_id not in listed
            ):
                sent += batch.num_rows
                yield batch
        except NotFoundError as exc:  # listed, yet exported as nothing
            raise NotFoundError(f"{exc}; it is listed by the knowledge service, {_UNPATCHED}") from None
        if not _wanting(max_rows, sent):
            return


# docs/protocol.md 9.5: the 2.11.1 core routes' bug
_UNPATCHED = (
    "which an unpatched 2.11.1 gateway does for every core (its export-core route waits on a queue the"
    " knowledge service does not read) unless the core was deleted meanwhile"
)


def _left(max_rows: int | None, sent: int) -> int | None:
    return None if max_rows is None else max_rows - sent


async def _read_core(
    target: Target, kind: schemas.Kind, core_id: str, max_rows: int | None, *, missing_ok: bool = False
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
            async with session.get(
                url, params={"id": core_id, "workspace": target.workspace}, headers=bearer(target)
            ) as resp:
                await raise_for_status(resp, url)
                async for chunk in resp.content.iter_chunked(1 << 16):
                    for batch in _core_batches(decoder, chunk, tag, f"knowledge core {core_id!r} from {endpoint}"):
                        batch = _capped(batch, max_rows, sent)
                        sent += batch.num_rows
                        yield batch
                        if not _wanting(max_rows, sent):
                            return
        except TgConnectError:
            raise
        except TimeoutError:  # before ClientError: aiohttp's ServerTimeoutError is both
            raise GatewayTimeoutError(
                f"knowledge core {core_id!r}: nothing from {endpoint} within"
                f" {target.timeout} s (after {decoder.items} items)"
            ) from None
        except aiohttp.ClientError as exc:
            raise GatewayConnectionError(
                f"cannot read knowledge core {core_id!r} from {endpoint}: {exc} (after {decoder.items} items)"
            ) from None
    error = core_error(core_id, endpoint, decoder, f"{sent} {kind} rows")
    if error is not None and not (missing_ok and isinstance(error, NotFoundError)):
        raise error


def _core_batches(decoder: CoreDecoder, chunk: bytes, tag: str, what: str) -> list[pa.RecordBatch]:
    """The non-empty batches of the items tagged ``tag`` that ``chunk`` completes."""
    try:
        items = list(decoder.feed(chunk))
    except ValueError as exc:
        raise ProtocolError(f"{what}: {exc}") from None
    return [item.batch for item in items if item.tag == tag and item.batch is not None and item.batch.num_rows]


# -- export taps ------------------------------------------------------------------------------


async def _tail(
    target: Target, kind: schemas.Kind, flow: str, max_rows: int | None, idle_timeout: float | None
) -> AsyncIterator[pa.RecordBatch]:
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
    ws = await open_websocket(
        url, verify=target.verify, timeout=target.timeout, ping_interval=None, close_timeout=quick_close(target.timeout)
    )
    frames: Frames = asyncio.Queue(_TAIL_QUEUE)
    loop = asyncio.get_running_loop()
    task = loop.create_task(_pump(ws, frames))
    probe = keepalive(target.timeout)
    idle_at = loop.time() + idle_timeout if idle_timeout else math.inf
    sent = received = 0
    healthy = False
    try:
        while _wanting(max_rows, sent):
            first = frames.get_nowait() if not frames.empty() else await _await_tap(frames, probe, idle_at)
            if first is None:  # no data for a while: idle is fine, a stalled gateway is not
                if not await is_alive(ws, probe):
                    raise GatewayTimeoutError(
                        f"{what}: the gateway stopped answering pings (timeout {target.timeout} s) after {sent} rows"
                    ) from None
                if loop.time() >= idle_at and frames.empty():
                    healthy = True
                    return  # idle: the tap has nothing more for now
                continue
            if isinstance(first, ConnectionClosed):
                raise _tail_closed(first, what, target.timeout, sent, received)
            block, closed = _block(frames, first)
            received += len(block)
            # Decoded on a worker thread (Arrow's parser releases the GIL): the socket keeps
            # being read meanwhile, so receiving and decoding overlap.
            batch = _capped(await loop.run_in_executor(None, decode_frames, kind, block), max_rows, sent)
            sent += batch.num_rows
            if batch.num_rows:
                yield batch
            if closed is not None and _wanting(max_rows, sent):
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


async def _await_tap(frames: Frames, probe: float, idle_at: float) -> bytes | ConnectionClosed | None:
    """The next frame, waiting up to ``probe`` s (less if ``idle_at`` comes first); ``None`` if none came."""
    try:
        return await asyncio.wait_for(frames.get(), max(min(probe, idle_at - asyncio.get_running_loop().time()), 0.0))
    except TimeoutError:
        return None


def _tail_closed(exc: ConnectionClosed, what: str, timeout: float, rows: int, frames: int) -> TgConnectError:
    """The error for a tail whose socket closed before its end condition."""
    if frames == 0 and exc.rcvd is not None and exc.rcvd.code == 1000:
        return GatewayConnectionError(
            f"{what}: the gateway closed the export socket with code 1000 before sending anything; a"
            " 2.11 gateway does this when the flow does not exist or has no export of this kind"
        )
    error = closed_error(exc, what, timeout)
    return type(error)(f"{error} after {rows} rows")
