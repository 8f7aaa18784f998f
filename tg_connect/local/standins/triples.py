"""The triples query service (flow service ``triples``) on the workspace's triple stores."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
from typing import Any

from .flowctx import Ctx, Stream
from .registration import handles


class JsonBatch:
    """A ``{"response": [triples]}`` reply whose triples are already JSON text.

    Streaming a large query builds no dict per triple: the mux splices the texts into the
    frame, giving the same bytes ``json.dumps`` would.
    """

    __slots__ = ("items",)

    def __init__(self, items: list[str]) -> None:
        self.items = items

    def text(self) -> str:
        return '{"response": [' + ", ".join(self.items) + "]}"

    def value(self) -> dict[str, Any]:
        return json.loads(self.text())  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return len(self.items)


LIMIT_ERROR = "LIMIT specified value of invalid type, must be a positive integer"


@handles("triples", object_request=False)  # the translator reads the terms first: its own errors
async def triples_query(ctx: Ctx, request: Any) -> Stream:
    """The triples query service: ``{"response": [triples]}``, batched when streaming.

    Streaming reads the store lazily, one batch ahead, so a million-triple result never sits
    in memory; each batch is a frame, the last one ``final`` (an empty result is one empty
    final frame, and there is no trailing empty frame), as the real service sends them.
    """
    pattern = {}
    for pos in ("s", "p", "o"):
        if pos in request:
            term = request[pos]
            term.get("t")  # a plain string raises "'str' object has no attribute 'get'"
            pattern[pos] = term
    g = request.get("g")
    limit = int(request.get("limit", 10000))
    collection = request.get("collection", "default")
    streaming = request.get("streaming", False)
    batch_size = int(request.get("batch-size", 20))
    if batch_size <= 0:
        batch_size = 20
    if limit < 0:
        yield {"response": [], "error": {"type": "triples-query-error", "message": LIMIT_ERROR}}, True
        return
    await ctx.backend.settle()  # triples still queued for the store are visible to the query
    store = ctx.backend.workspace(ctx.workspace).triple_store(str(collection), create=False)
    if store is None or limit == 0:
        yield {"response": []}, True
        return
    s, p, o = pattern.get("s"), pattern.get("p"), pattern.get("o")
    limit = min(limit, sys.maxsize)
    if not streaming:
        yield {"response": list(itertools.islice(store.match(s, p, o, g), limit))}, True
        return
    matches = itertools.islice(store.match_json(s, p, o, g), limit)
    batch = list(itertools.islice(matches, batch_size))
    while True:
        upcoming = list(itertools.islice(matches, batch_size))
        if not upcoming:
            yield JsonBatch(batch), True
            return
        yield JsonBatch(batch), False
        batch = upcoming
        await asyncio.sleep(0)  # let other requests run between batches
