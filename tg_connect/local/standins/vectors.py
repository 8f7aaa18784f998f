"""Nearest-neighbour queries over imported embeddings (graph-embeddings, document-embeddings).

Vectors are read batch by batch from the workspace+collection's Arrow log; only vectors of
the query's dimension take part. Scores are cosine similarities (what Qdrant's cosine
distance reports; an all-zero vector scores 0). An entity or chunk imported more than once
counts once, with its best score. Results are best first, ties in import order.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..front import wire
from .flowctx import Ctx, Stream
from .model import cosine
from .registration import handles


def nearest(
    ctx: Ctx, kind: str, collection: str, vector: Any, limit: int, key: str, extra: str | None = None
) -> list[tuple[str, float, str | None]]:
    """``(key value, score, extra column value)`` of the ``limit`` best matches."""
    ws = ctx.backend.workspace(ctx.workspace)
    log = ws.logs.get((kind, collection, ""))
    if log is None or limit <= 0 or not isinstance(vector, list) or not vector:
        return []
    try:
        query = np.asarray(vector, dtype=np.float64)
    except (TypeError, ValueError):
        return []
    if query.ndim != 1:
        return []
    dim = query.shape[0]
    best: dict[str, tuple[float, int, str | None]] = {}
    order = 0
    for batch in log.batches():
        column = batch.column("vector")
        lengths = pc.list_value_length(column)
        mask = pc.fill_null(pc.equal(lengths, pa.scalar(dim, lengths.type)), False)
        if not pc.any(mask).as_py():
            order += batch.num_rows
            continue
        subset = batch.filter(mask)
        values = subset.column("vector").flatten().to_numpy(zero_copy_only=False)
        matrix = np.asarray(values, dtype=np.float64).reshape(-1, dim)
        scores = cosine(matrix, query)
        keys = subset.column(key).to_pylist()
        extras = subset.column(extra).to_pylist() if extra else [None] * subset.num_rows
        taken: set[str] = set()
        for index in np.argsort(-scores, kind="stable"):
            name = keys[index]
            if name is None or name in taken:
                continue
            taken.add(name)
            score = float(scores[index])
            seen = best.get(name)
            if seen is None or score > seen[0]:
                first = order + int(index) if seen is None else seen[1]
                best[name] = (score, first, extras[index])
            if len(taken) >= limit:  # nothing else in this batch can reach the overall top
                break
        order += batch.num_rows
    ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[1][1]))[:limit]
    return [(name, score, extra_value) for name, (score, _o, extra_value) in ranked]


def _matches_attributes(stored: Any, wanted: dict[str, Any]) -> bool:
    for name, value in wanted.items():
        have = stored.get(name) if isinstance(stored, dict) else None
        have_list = have if isinstance(have, list) else [have]
        for item in value if isinstance(value, list) else [value]:
            if item not in have_list:
                return False
    return True


@handles("graph-embeddings")
async def graph_embeddings_query(ctx: Ctx, request: Any) -> Stream:
    """``{"entities": [{"entity": Term, "score"}]}``: entities nearest to ``vector`` in the
    collection. Entities come back exactly as imported (the real Qdrant store turns every
    entity that is not an ``http(s)`` IRI into a literal). Imports carry no ``rdf_type`` or
    ``attributes`` (the gateway drops them), so a query filtering on either finds nothing."""
    vector = request["vector"]
    limit = int(request.get("limit", 10))
    collection = str(request.get("collection", "default"))
    rdf_type = request.get("rdf_type", "")
    attributes = request.get("attributes", {})
    await ctx.backend.settle()
    if rdf_type or attributes:
        yield {"entities": []}, True
        return
    found = nearest(ctx, "graph-embeddings", collection, vector, limit, "entity")
    yield {"entities": [{"entity": wire.term(json.loads(e)), "score": s} for e, s, _x in found]}, True


@handles("document-embeddings")
async def document_embeddings_query(ctx: Ctx, request: Any) -> Stream:
    """``{"chunks": [{"chunk_id", "score", "attributes"?}]}``: chunks nearest to ``vector``;
    ``attributes`` filters on the chunk attributes given at import (every value must match)."""
    vector = request["vector"]
    limit = int(request.get("limit", 10))
    collection = str(request.get("collection", "default"))
    attributes = request.get("attributes", {})
    await ctx.backend.settle()
    yield {"chunks": document_matches(ctx, collection, vector, limit, attributes)}, True


def document_matches(
    ctx: Ctx, collection: str, vector: Any, limit: int, attributes: Any = None
) -> list[dict[str, Any]]:
    wanted = attributes if isinstance(attributes, dict) and attributes else None
    # With a filter, rank everything and filter after (local stores are small).
    found = nearest(
        ctx, "document-embeddings", collection, vector, limit if wanted is None else 1 << 30, "chunk_id", "attributes"
    )
    out = []
    for chunk_id, score, attrs_text in found:
        attrs = json.loads(attrs_text) if attrs_text else {}
        if wanted is not None and not _matches_attributes(attrs, wanted):
            continue
        row: dict[str, Any] = {"chunk_id": chunk_id, "score": score}
        if attrs:
            row["attributes"] = attrs
        out.append(row)
        if len(out) >= limit:
            break
    return out
