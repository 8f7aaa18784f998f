"""``verify=True``: read back what the gateway stored and count the loaded rows it holds.

Each sent row is remembered as a 64-bit hash of its canonical form (8 bytes a row, plus its
input row number), never as the row itself. After the load the stored data is read back
(triples: the streaming query on the collection; graph embeddings: the load's knowledge core),
hashed the same way, and compared. The real gateway stores asynchronously, so reading back
repeats until every row is seen or ``timeout`` passes; rows still missing are reported, not
raised: some stores change what they keep (docs/real-gateway.md).
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from ..protocol import schemas
from ..target import Target
from .read import aread_batches

VERIFIABLE = ("triples", "graph-embeddings")
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
    """Hashes and input row numbers of the rows a load sent."""

    def __init__(self) -> None:
        self._hashes: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []

    def add(self, batch: pa.RecordBatch, row_index: np.ndarray) -> None:
        self._hashes.append(row_hashes(batch))
        self._rows.append(row_index.astype(np.int64))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._hashes:
            return np.empty(0, np.uint64), np.empty(0, np.int64)
        return np.concatenate(self._hashes), np.concatenate(self._rows)


async def stored_hashes(target: Target, kind: schemas.Kind, flow: str, collection: str,
                        document_id: str) -> np.ndarray:
    if kind == "triples":
        gen = aread_batches(target, kind, source="query", flow=flow, collection=collection)
    else:
        gen = aread_batches(target, kind, source="core", core_id=document_id)
    parts = [row_hashes(b) async for b in gen]
    return np.unique(np.concatenate(parts)) if parts else np.empty(0, np.uint64)


async def averify(target: Target, kind: schemas.Kind, flow: str, collection: str, document_id: str,
                  sent: SentRows, timeout: float) -> tuple[int, list[int]]:
    """(rows confirmed, the first unconfirmed input rows) after polling up to ``timeout`` s."""
    hashes, rows = sent.arrays()
    deadline = time.monotonic() + timeout
    while True:
        stored = await stored_hashes(target, kind, flow, collection, document_id)
        seen = np.isin(hashes, stored)
        confirmed = int(seen.sum())
        if confirmed == len(hashes) or time.monotonic() >= deadline:
            missing = rows[~seen][:_MAX_LISTED]
            return confirmed, [int(r) for r in missing]
        await asyncio.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
