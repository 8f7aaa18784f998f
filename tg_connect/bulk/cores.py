"""Knowledge cores as files: ``export_core`` streams a core to a msgpack file and
``import_core`` streams one back (or builds one from Arrow tables of triples and graph
embeddings). A core is the gateway's snapshot of triples and graph embeddings together; read
its rows with ``read_trustgraph(kind, source="core", core_id=...)``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, AsyncIterator, Iterable

import aiohttp
import pyarrow as pa

from ..errors import GatewayConnectionError, InputError
from ..protocol import cores, messages, schemas
from ..protocol.conform import Conformer
from ..protocol.endpoints import http_base, redact
from ..protocol.replies import raise_for_http
from ..target import Target
from ..transport.connect import http_session

_CHUNK = 1 << 16


@dataclass(frozen=True)
class CoreTransfer:
    """What an export or import moved: the core id, items, rows by kind, and bytes."""

    core_id: str
    items: int
    triples: int
    graph_embeddings: int
    bytes: int


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


async def aexport_core(target: Target, core_id: str, path: str | os.PathLike[str]) -> CoreTransfer:
    """Stream core ``core_id`` into the msgpack file ``path``; counts what it holds."""
    url = f"{http_base(target.url)}/api/v1/export-core"
    decoder = cores.CoreDecoder()
    items = triples = embeddings = size = 0
    try:
        async with http_session(target.url, verify=target.verify, timeout=target.timeout) as session:
            async with session.get(url, params={"id": core_id, "workspace": target.workspace},
                                   headers=bearer(target)) as resp:
                await raise_for_status(resp, url)
                with open(os.fspath(path), "wb") as out:
                    async for data in resp.content.iter_chunked(_CHUNK):
                        out.write(data)
                        size += len(data)
                        for item in decoder.feed(data):
                            items += 1
                            rows = item.batch.num_rows if item.batch is not None else 0
                            if item.tag == cores.TRIPLES_TAG:
                                triples += rows
                            elif item.tag == cores.GRAPH_EMBEDDINGS_TAG:
                                embeddings += rows
    except aiohttp.ClientError as exc:
        raise GatewayConnectionError(f"cannot export core from {redact(url)}: {exc}") from None
    return CoreTransfer(core_id, items, triples, embeddings, size)


def core_items_from_tables(core_id: str, triples: Any = None, graph_embeddings: Any = None,
                           batch_size: int = 1000) -> Iterable[tuple[str, int, bytes]]:
    """``(tag, rows, msgpack item)`` built from Arrow/pandas tables of the two kinds' schemas."""
    pairs: tuple[tuple[schemas.Kind, Any], ...] = (("triples", triples), ("graph-embeddings", graph_embeddings))
    for kind, data in pairs:
        if data is None:
            continue
        table = data if isinstance(data, pa.Table) else pa.table(data) if isinstance(data, dict) else pa.Table.from_pandas(data, preserve_index=False)
        conformer = Conformer(kind)
        for batch in table.to_batches(max_chunksize=batch_size):
            conformed = conformer.conform(batch)
            conformed.raise_error()
            frame = json.loads(messages.encode_message(kind, conformed.batch, messages.Metadata(core_id, "default")))
            rows = conformed.batch.num_rows
            if kind == "triples":
                yield cores.TRIPLES_TAG, rows, cores.triples_item(core_id, "default", frame["triples"])
            else:
                yield cores.GRAPH_EMBEDDINGS_TAG, rows, cores.graph_embeddings_item(core_id, "default", frame["entities"])


async def aimport_core(target: Target, core_id: str, source: Any = None, *, triples: Any = None,
                       graph_embeddings: Any = None) -> CoreTransfer:
    """Upload a core: from a msgpack file ``source``, or built from ``triples`` and
    ``graph_embeddings`` tables. The body is streamed; the file is never read whole."""
    url = f"{http_base(target.url)}/api/v1/import-core"
    counted = {"items": 0, "t": 0, "ge": 0, "bytes": 0}

    async def body() -> AsyncIterator[bytes]:
        if source is not None:
            decoder = cores.CoreDecoder()
            with open(os.fspath(source), "rb") as f:
                while data := f.read(_CHUNK):
                    try:
                        for decoded in decoder.feed(data):
                            counted["items"] += 1
                            rows = decoded.batch.num_rows if decoded.batch is not None else 0
                            counted[decoded.tag] = counted.get(decoded.tag, 0) + rows
                    except ValueError as exc:
                        raise InputError(f"not a knowledge-core file: {exc}", source=os.fspath(source)) from None
                    counted["bytes"] += len(data)
                    yield data
        else:
            for tag, rows, item in core_items_from_tables(core_id, triples, graph_embeddings):
                counted["items"] += 1
                counted[tag] += rows
                counted["bytes"] += len(item)
                yield item

    if source is None and triples is None and graph_embeddings is None:
        raise ValueError("import_core needs a core file or triples= / graph_embeddings= tables")
    try:
        async with http_session(target.url, verify=target.verify, timeout=target.timeout) as session:
            async with session.post(url, params={"id": core_id, "workspace": target.workspace},
                                    data=body(), headers=bearer(target)) as resp:
                await raise_for_status(resp, url)
    except aiohttp.ClientError as exc:
        raise GatewayConnectionError(f"cannot import core to {redact(url)}: {exc}") from None
    return CoreTransfer(core_id, counted["items"], counted["t"], counted["ge"], counted["bytes"])
