"""Knowledge cores as files: ``export_core`` streams a core to a msgpack file and
``import_core`` streams one back (or builds one from Arrow tables of triples and graph
embeddings). A core is the gateway's snapshot of triples and graph embeddings together; read
its rows with ``read_trustgraph(kind, source="core", core_id=...)``.

A core does not say which collection its rows were loaded into: the 2.11 knowledge store keeps
rows by document id only and hands every row back with ``collection: "default"`` (the real
Cassandra store and the local gateway alike), and ``load-kg-core`` can put one core into any
collection. So every load of a kind a core holds notes its collection in the workspace's
configuration (type :data:`CORE_INDEX_TYPE`, one entry per core and collection;
:func:`record_core`), and a read by collection (``source="cores"``) reads the
cores noted for it (:func:`cores_of`).

An export is never short in silence: the file is written under a temporary name and renamed
into place only when the stream ended on an item boundary with at least one item (the gateway
answers an unknown core id with an empty 200 body); otherwise it raises, removes the temporary
file and leaves whatever was at the destination untouched. A stalled gateway raises
:class:`~tg_connect.errors.GatewayTimeoutError` within about ``timeout``, uploads included.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncGenerator, Generator, Iterable
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import aiohttp
import pyarrow as pa

from ..errors import (
    AuthenticationError,
    GatewayConnectionError,
    GatewayTimeoutError,
    InputError,
    NotFoundError,
    ProtocolError,
    TgConnectError,
)
from ..flow.core import AsyncConfig, AsyncKnowledge
from ..flow.transports import RestTransport
from ..protocol import cores, messages, schemas
from ..protocol.conform import Conformer
from ..protocol.endpoints import http_base, redact
from ..protocol.replies import raise_for_http
from ..target import Target
from ..transport.connect import deadline, http_session
from ..writers.base import atomic_path
from .preflight import token_advice

_CHUNK = 1 << 16
CORE_INDEX_TYPE = "tg-connect-core"
"""Config type of the note each load leaves: one entry per core and collection, value
``{"core": <core id>, "collection": <collection>}`` (key: the two as a JSON array)."""
CORE_KINDS: tuple[schemas.Kind, ...] = ("triples", "graph-embeddings")
"""The kinds a knowledge core holds (kg-store keeps these two imports, keyed by document id)."""


@dataclass(frozen=True)
class CoreTransfer:
    """What an export or import moved: the core id, items, rows by kind, and bytes."""

    core_id: str
    items: int
    triples: int
    graph_embeddings: int
    bytes: int


@dataclass(frozen=True)
class CollectionCores:
    """The cores noted for one collection: ``cores`` hold its rows alone, ``mixed`` maps a
    core that also holds rows of other collections to those collections (its rows cannot be
    told apart: the store keeps no collection per row), and ``listed`` is every core id the
    knowledge service lists (cores with graph embeddings)."""

    collection: str
    cores: tuple[str, ...]
    mixed: dict[str, tuple[str, ...]]
    listed: tuple[str, ...]


def _noted(value: str | None) -> tuple[str, str] | None:
    """``(core id, collection)`` of a core index value (``None`` for one this cannot read)."""
    try:
        parsed = json.loads(value) if value else None
    except json.JSONDecodeError:
        return None
    if not isinstance(parsed, dict):
        return None
    core, collection = parsed.get("core"), parsed.get("collection")
    return (core, collection) if isinstance(core, str) and isinstance(collection, str) else None


async def record_core(target: Target, kind: schemas.Kind, core_id: str, collection: str) -> None:
    """Note in the workspace's configuration that core ``core_id`` holds rows of ``collection``.

    Called by every load before it sends (so a load cut short is noted too); nothing is
    noted for a kind that no core holds (:data:`CORE_KINDS`). One entry per core and
    collection (one ``put``, idempotent, no read first: on the real gateway each config call
    costs a broker round trip): a core loaded into two collections has two, and a read by
    collection then refuses it (see :func:`cores_of`).
    """
    if kind not in CORE_KINDS:
        return
    key = json.dumps([collection, core_id])
    value = json.dumps({"core": core_id, "collection": collection})
    transport = RestTransport(target)
    try:
        await AsyncConfig(transport).put([(CORE_INDEX_TYPE, key, value)])
    finally:
        await transport.aclose()


async def cores_of(target: Target, collection: str) -> CollectionCores:
    """The cores noted for ``collection`` (see :func:`record_core`), with the cores listed."""
    transport = RestTransport(target)
    try:
        try:
            values = await AsyncConfig(transport).get_values(CORE_INDEX_TYPE)
            listed = await AsyncKnowledge(transport).list_kg_cores()
        except AuthenticationError as exc:
            raise token_advice(target, exc) from None
    finally:
        await transport.aclose()
    noted: dict[str, set[str]] = {}
    for value in values:
        pair = _noted(value.value)
        if pair is not None:
            noted.setdefault(pair[0], set()).add(pair[1])
    mine = sorted(core for core, collections in noted.items() if collection in collections)
    return CollectionCores(
        collection,
        tuple(core for core in mine if noted[core] == {collection}),
        {core: tuple(sorted(noted[core] - {collection})) for core in mine if noted[core] != {collection}},
        tuple(listed),
    )


def bearer(target: Target) -> dict[str, str]:
    """The Authorization header for ``target`` (empty without a token)."""
    return {"Authorization": f"Bearer {target.token}"} if target.token else {}


async def raise_for_status(resp: aiohttp.ClientResponse, url: str) -> None:
    """Raise the gateway's error for a core stream that did not start with HTTP 200."""
    if resp.status != 200:
        body = await resp.text()
        try:
            parsed: Any = json.loads(body)
        except json.JSONDecodeError:
            parsed = body
        raise_for_http(resp.status, parsed, url)


def core_error(core_id: str, endpoint: str, decoder: cores.CoreDecoder, read: str) -> TgConnectError | None:
    """The error for an export-core body that ended, if it ended wrong; ``None`` if it is whole.

    * no item at all: the 2.11 gateway answers an unknown core id (and an export that failed
      on its side) with an empty 200 body, so an empty core is reported as not found
      (:class:`NotFoundError`), never as an empty result;
    * bytes left after the last complete item: the body ended inside an item, so the core was
      cut short (``GatewayConnectionError``, with ``read`` saying what had been read).
    """
    if decoder.items == 0 and decoder.bytes == 0:
        return NotFoundError(
            f"knowledge core {core_id!r} not found: {endpoint} sent no items (the gateway"
            " sends an empty body for a core that does not exist, or that it failed to read)"
        )
    if not decoder.at_boundary:
        return GatewayConnectionError(
            f"knowledge core {core_id!r} from {endpoint} is cut short: the body ended inside an item after"
            f" {decoder.items} complete items ({read}, {decoder.bytes} bytes)"
        )
    return None


async def aexport_core(target: Target, core_id: str, path: str | os.PathLike[str]) -> CoreTransfer:
    """Stream core ``core_id`` into the msgpack file ``path``; counts what it holds.

    Written to a temporary file next to ``path`` and renamed into place once the whole core
    has arrived; on any failure (see :func:`core_error`) the temporary file is removed and an
    existing file at ``path`` is left as it was.
    """
    url = f"{http_base(target.url)}/api/v1/export-core"
    endpoint = redact(url)
    decoder = cores.CoreDecoder(arrow=False)  # only counted: the bytes go to the file as they came
    triples = embeddings = 0
    try:
        with atomic_path(path) as tmp:
            async with http_session(target.url, verify=target.verify, timeout=target.timeout) as session:
                async with session.get(
                    url, params={"id": core_id, "workspace": target.workspace}, headers=bearer(target)
                ) as resp:
                    await raise_for_status(resp, url)
                    with open(tmp, "wb") as out:
                        async for data in resp.content.iter_chunked(_CHUNK):
                            out.write(data)
                            for item in decoder.feed(data):
                                if item.tag == cores.TRIPLES_TAG:
                                    triples += item.rows
                                elif item.tag == cores.GRAPH_EMBEDDINGS_TAG:
                                    embeddings += item.rows
            error = core_error(core_id, endpoint, decoder, f"{triples} triples, {embeddings} graph embeddings")
            if error is not None:
                raise error
    except TgConnectError:
        raise
    except TimeoutError:  # before ClientError: aiohttp's ServerTimeoutError is both
        raise GatewayTimeoutError(
            f"cannot export core {core_id!r}: nothing from {endpoint} within"
            f" {target.timeout} s (after {decoder.items} items)"
        ) from None
    except aiohttp.ClientError as exc:
        raise GatewayConnectionError(
            f"cannot export core {core_id!r} from {endpoint}: {exc} (after {decoder.items} items)"
        ) from None
    except ValueError as exc:  # not msgpack, or not [tag, body] items
        raise ProtocolError(f"knowledge core {core_id!r} from {endpoint}: {exc}") from None
    return CoreTransfer(core_id, decoder.items, triples, embeddings, decoder.bytes)


def core_items_from_tables(
    core_id: str, triples: Any = None, graph_embeddings: Any = None, batch_size: int = 1000
) -> Iterable[tuple[str, int, bytes]]:
    """``(tag, rows, msgpack item)`` built from Arrow/pandas tables of the two kinds' schemas."""
    pairs: tuple[tuple[schemas.Kind, Any], ...] = (("triples", triples), ("graph-embeddings", graph_embeddings))
    for kind, data in pairs:
        if data is None:
            continue
        table = (
            data
            if isinstance(data, pa.Table)
            else pa.table(data)
            if isinstance(data, dict)
            else pa.Table.from_pandas(data, preserve_index=False)
        )
        conformer = Conformer(kind)
        for batch in table.to_batches(max_chunksize=batch_size):
            conformed = conformer.conform(batch)
            conformed.raise_error()
            frame = json.loads(messages.encode_message(kind, conformed.batch, messages.Metadata(core_id, "default")))
            rows = conformed.batch.num_rows
            if kind == "triples":
                yield cores.TRIPLES_TAG, rows, cores.triples_item(core_id, "default", frame["triples"])
            else:
                yield (
                    cores.GRAPH_EMBEDDINGS_TAG,
                    rows,
                    cores.graph_embeddings_item(core_id, "default", frame["entities"]),
                )


def _file_pieces(source: Any, counted: dict[str, int]) -> Generator[bytes, None, None]:
    """The core file ``source`` in chunks, its items checked and counted (into ``counted``) as
    they pass: sent as read, never read whole."""
    decoder = cores.CoreDecoder(arrow=False)
    with open(os.fspath(source), "rb") as f:
        while data := f.read(_CHUNK):
            try:
                for decoded in decoder.feed(data):
                    counted["items"] += 1
                    counted[decoded.tag] = counted.get(decoded.tag, 0) + decoded.rows
            except ValueError as exc:
                raise InputError(f"not a knowledge-core file: {exc}", source=os.fspath(source)) from None
            counted["bytes"] += len(data)
            yield data


def _table_pieces(
    core_id: str, triples: Any, graph_embeddings: Any, counted: dict[str, int]
) -> Generator[bytes, None, None]:
    """The core's items built from the tables, counted (into ``counted``) as they pass."""
    for tag, rows, item in core_items_from_tables(core_id, triples, graph_embeddings):
        counted["items"] += 1
        counted[tag] += rows
        counted["bytes"] += len(item)
        yield item


async def aimport_core(
    target: Target, core_id: str, source: Any = None, *, triples: Any = None, graph_embeddings: Any = None
) -> CoreTransfer:
    """Upload a core: from a msgpack file ``source``, or built from ``triples`` and
    ``graph_embeddings`` tables. The body is streamed; the file is never read whole.

    A gateway that stops reading the body (or never answers) raises
    :class:`GatewayTimeoutError` once ``timeout`` passes without a chunk going out: aiohttp
    bounds reads (``sock_read``), not writes, so a deadline restarted at every chunk does.
    """
    url = f"{http_base(target.url)}/api/v1/import-core"
    counted = {"items": 0, "t": 0, "ge": 0, "bytes": 0}
    progress: list[deadline] = []

    async def body() -> AsyncGenerator[bytes, None]:
        pieces = (
            _file_pieces(source, counted)
            if source is not None
            else _table_pieces(core_id, triples, graph_embeddings, counted)
        )
        with closing(pieces):  # an upload cut short closes its source file now
            for piece in pieces:
                progress[0].touch()  # the previous piece was written
                yield piece
        progress[0].touch()  # the whole body is out: now the reply has timeout to come

    if source is None and triples is None and graph_embeddings is None:
        raise ValueError("import_core needs a core file or triples= / graph_embeddings= tables")
    chunks = body()
    try:
        async with deadline(target.timeout) as watchdog:
            progress.append(watchdog)
            async with http_session(target.url, verify=target.verify, timeout=target.timeout) as session:
                async with session.post(
                    url, params={"id": core_id, "workspace": target.workspace}, data=chunks, headers=bearer(target)
                ) as resp:
                    await raise_for_status(resp, url)
    except TgConnectError:
        raise
    except TimeoutError:  # before ClientError: aiohttp's ServerTimeoutError is both
        raise GatewayTimeoutError(
            f"cannot import core {core_id!r} to {redact(url)}: the gateway took more than"
            f" {target.timeout} s to take a chunk or to answer ({counted['items']} items"
            " sent)"
        ) from None
    except aiohttp.ClientError as exc:
        raise GatewayConnectionError(f"cannot import core {core_id!r} to {redact(url)}: {exc}") from None
    finally:
        await chunks.aclose()  # an upload cut short closes its source file now, not at garbage collection
    return CoreTransfer(core_id, counted["items"], counted["t"], counted["ge"], counted["bytes"])
