"""Knowledge-core msgpack streams (``/api/v1/export-core``, ``/api/v1/import-core``; protocol.md 11).

A core is a concatenation of msgpack 2-arrays ``[tag, body]``: ``"t"`` triples
``{"m":{"i","c"},"t":[Triple]}``, ``"ge"`` graph embeddings ``{"m":..,"e":[{"e":Term,"v":[..]}]}``,
``"lm"`` library metadata and ``"lb"`` library blobs. Decoding is incremental (feed bytes as
they arrive) so a large core never has to be held whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import msgpack
import pyarrow as pa

from . import arrow_decode

TRIPLES_TAG = "t"
GRAPH_EMBEDDINGS_TAG = "ge"


@dataclass(frozen=True)
class CoreItem:
    """One decoded core item: its tag, its metadata (id, collection) and its rows."""

    tag: str
    id: str | None
    collection: str | None
    batch: pa.RecordBatch | None  # triples or graph embeddings; None for library items
    raw: Any


class CoreDecoder:
    """Incremental decoder: ``feed(bytes)`` then iterate the items completed so far."""

    def __init__(self) -> None:
        self._unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)

    def feed(self, data: bytes) -> Iterator[CoreItem]:
        self._unpacker.feed(data)
        for obj in self._unpacker:
            yield decode_item(obj)


def decode_item(obj: Any) -> CoreItem:
    if not (isinstance(obj, (list, tuple)) and len(obj) == 2 and isinstance(obj[0], str)):
        raise ValueError(f"knowledge-core item is not a [tag, body] pair: {str(obj)[:80]}")
    tag, body = obj
    meta = body.get("m") or {} if isinstance(body, dict) else {}
    if tag == TRIPLES_TAG:
        batch = arrow_decode.decode_wire_triples(body.get("t") or [])
    elif tag == GRAPH_EMBEDDINGS_TAG:
        items = body.get("e") or []
        batch = arrow_decode.decode_wire_entities(items, "e", "v") if items else None
    else:
        batch = None
    return CoreItem(tag, meta.get("i"), meta.get("c"), batch, body)


def encode_item(tag: str, body: Any) -> bytes:
    packed: bytes = msgpack.packb([tag, body], use_bin_type=True)
    return packed


def triples_item(core_id: str, collection: str, wire_triples: list[dict[str, Any]]) -> bytes:
    return encode_item(TRIPLES_TAG, {"m": {"i": core_id, "c": collection}, "t": wire_triples})


def graph_embeddings_item(core_id: str, collection: str, entities: list[dict[str, Any]]) -> bytes:
    """``entities`` in import-socket form (``entity``/``vector``) are renamed to ``e``/``v``."""
    items = [{"e": e["entity"], "v": e["vector"]} for e in entities]
    return encode_item(GRAPH_EMBEDDINGS_TAG, {"m": {"i": core_id, "c": collection}, "e": items})
