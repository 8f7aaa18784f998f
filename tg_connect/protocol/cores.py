"""Knowledge-core msgpack streams (``/api/v1/export-core``, ``/api/v1/import-core``; docs/protocol.md 9).

A core is a concatenation of msgpack 2-arrays ``[tag, body]``: ``"t"`` triples
``{"m":{"i","c"},"t":[Triple]}``, ``"ge"`` graph embeddings ``{"m":..,"e":[{"e":Term,"v":[..]}]}``,
``"lm"`` library metadata and ``"lb"`` library blobs. Decoding is incremental (feed bytes as
they arrive) so a large core never has to be held whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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
    batch: pa.RecordBatch | None  # triples or graph embeddings; None for library items (or not decoded)
    raw: Any

    @property
    def rows(self) -> int:
        """Triples or graph embeddings in the item (0 for library items), counted without Arrow."""
        if self.batch is not None:
            return int(self.batch.num_rows)
        body = self.raw if isinstance(self.raw, dict) else {}
        items = (
            body.get("t") if self.tag == TRIPLES_TAG else body.get("e") if self.tag == GRAPH_EMBEDDINGS_TAG else None
        )
        return len(items) if isinstance(items, list) else 0


class CoreDecoder:
    """Incremental decoder: ``feed(bytes)`` then iterate the items completed so far.

    ``items`` counts the items decoded and ``bytes`` the bytes fed; :attr:`at_boundary` says
    whether everything fed so far ended exactly at the end of an item, which is how a stream
    that ends cleanly but early (inside an item) is told from a complete one.
    """

    def __init__(self, *, arrow: bool = True) -> None:
        self._unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
        self._arrow = arrow  # False: items are checked and counted, their rows not decoded
        self.items = 0
        self.bytes = 0
        self._complete_upto = 0  # stream offset just after the last complete item

    def feed(self, data: bytes) -> Iterator[CoreItem]:
        self._unpacker.feed(data)
        self.bytes += len(data)
        for obj in self._unpacker:
            # tell() is exact right after an object completes (a partial one advances it too,
            # so it is read here, not after the loop).
            self._complete_upto = self._unpacker.tell()
            self.items += 1
            yield decode_item(obj, arrow=self._arrow)

    @property
    def at_boundary(self) -> bool:
        """True when the bytes fed end exactly after a complete item (or none were fed)."""
        return self._complete_upto == self.bytes


def decode_item(obj: Any, *, arrow: bool = True) -> CoreItem:
    """One ``[tag, body]`` item; its rows as an Arrow batch unless ``arrow`` is False (for
    callers that only count them: a file copied to or from the gateway)."""
    if not (isinstance(obj, (list, tuple)) and len(obj) == 2 and isinstance(obj[0], str)):
        raise ValueError(f"knowledge-core item is not a [tag, body] pair: {str(obj)[:80]}")
    tag, body = obj
    meta = body.get("m") or {} if isinstance(body, dict) else {}
    if not arrow:
        batch = None
    elif tag == TRIPLES_TAG:
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
