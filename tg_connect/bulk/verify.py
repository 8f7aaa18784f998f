"""``verify=True``: read back what the gateway stored and count the loaded rows it holds.

Each sent row is remembered as a 64-bit hash of its canonical form (8 bytes a row, plus its
input row number), never as the row itself. After the load, only what the load wrote is read
back: for triples, the streaming query once per predicate the load used (so the cost grows
with the load, not with the store; past :data:`MAX_PREDICATES` predicates the collection is
read whole); for graph embeddings, the load's own knowledge core. The real gateway stores
asynchronously, so reading back repeats, for the predicates still missing rows, until every
row is seen or ``timeout`` passes. Rows still missing are reported, and make the report not
ok: some stores change what they keep (docs/real-gateway.md).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._lazy import lazy_module
from ..protocol import schemas
from ..protocol.terms import Term
from ..target import Target
from .read import aread_batches

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use: a load from the command line never needs pandas
    pd = lazy_module("pandas")

VERIFIABLE = ("triples", "graph-embeddings")
MAX_PREDICATES = 64
_MAX_LISTED = 1000


def row_hashes(batch: pa.RecordBatch) -> np.ndarray:
    """A uint64 hash per row of a canonical batch (vectors hashed by their float32 bits)."""
    plain = [n for n in batch.schema.names if n != "vector"]
    frame = batch.select(plain).to_pandas()
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    if "vector" in batch.schema.names and batch.num_rows:
        vectors = batch.column("vector")
        dim = vectors.type.list_size
        bits = np.asarray(vectors.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).view(np.uint32)
        bits = bits.reshape(batch.num_rows, dim).astype(np.uint64)
        weights = np.power(np.uint64(1099511628211), np.arange(dim, dtype=np.uint64))  # wraps mod 2**64
        hashes = hashes ^ (bits * weights).sum(axis=1, dtype=np.uint64)
    return hashes


class SentRows:
    """Hashes, input row numbers and (for triples) predicates of the rows a load sent."""

    def __init__(self) -> None:
        self._hashes: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []
        self._predicates: list[np.ndarray] = []

    def add(self, batch: pa.RecordBatch, row_index: np.ndarray) -> None:
        self._hashes.append(row_hashes(batch))
        self._rows.append(row_index.astype(np.int64))
        if "p" in batch.schema.names:
            p = batch.column("p")
            if pa.types.is_dictionary(p.type):
                p = p.cast(p.type.value_type)
            self._predicates.append(np.asarray(p.to_numpy(zero_copy_only=False), dtype=object))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._hashes:
            return np.empty(0, np.uint64), np.empty(0, np.int64)
        return np.concatenate(self._hashes), np.concatenate(self._rows)

    def predicates(self) -> np.ndarray | None:
        """Each row's predicate (triples), or ``None``."""
        if not self._predicates:
            return None
        return np.concatenate(self._predicates)


async def _hashes_of(
    target: Target, kind: schemas.Kind, flow: str, collection: str, document_id: str, predicate: str | None
) -> np.ndarray:
    if kind == "triples":
        p = Term(predicate, "iri") if predicate is not None else None
        gen = aread_batches(target, kind, source="query", flow=flow, collection=collection, p=p)
    else:
        gen = aread_batches(target, kind, source="core", core_id=document_id)
    parts = [row_hashes(b) async for b in gen]
    return np.unique(np.concatenate(parts)) if parts else np.empty(0, np.uint64)


async def averify(
    target: Target, kind: schemas.Kind, flow: str, collection: str, document_id: str, sent: SentRows, timeout: float
) -> tuple[int, list[int], int]:
    """(rows read back, the first rows not read back, how many were not) after polling up to
    ``timeout`` seconds."""
    hashes, rows = sent.arrays()
    predicates = sent.predicates() if kind == "triples" else None
    by_predicate = predicates is not None and len(pc.unique(pa.array(predicates))) <= MAX_PREDICATES
    seen = np.zeros(len(hashes), dtype=bool)
    deadline = time.monotonic() + timeout
    while True:
        if by_predicate and predicates is not None:
            for predicate in sorted(set(predicates[~seen].tolist())):
                stored = await _hashes_of(target, kind, flow, collection, document_id, predicate)
                part = predicates == predicate
                seen[part] |= np.isin(hashes[part], stored)
        else:
            seen |= np.isin(hashes, await _hashes_of(target, kind, flow, collection, document_id, None))
        if seen.all() or time.monotonic() >= deadline:
            missing = rows[~seen]
            return int(seen.sum()), [int(r) for r in missing[:_MAX_LISTED]], int(len(missing))
        await asyncio.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
