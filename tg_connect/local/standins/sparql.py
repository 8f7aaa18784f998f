"""The sparql service: SPARQL 1.1 queries on the collection's pyoxigraph store.

Replies as the 2.11 translator encodes them: ``query-type`` (``select``, ``ask``,
``construct``, ``describe``), then ``variables`` and ``bindings`` (``[{values: [Term or
null]}]``), ``ask-result`` or ``triples``. Streaming select sends a frame per ``batch-size``
bindings and always a final frame, possibly empty, as the real service does; other query
types are one frame. ``limit`` (default 10000) caps the bindings or triples.

Differences from 2.11 (which evaluates queries itself over triples lookups, with rdflib's
parser): the query runs in oxigraph, so the default graph is the collection's default graph
and ``GRAPH`` reaches its named graphs; terms come back exactly as imported; ``DESCRIBE``
returns the description oxigraph computes (2.11 returns no triples); parse errors carry
oxigraph's message (type ``sparql-parse-error``, as in 2.11); update requests are refused as
parse errors. An unknown collection is an empty store.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from typing import Any

import pyoxigraph as ox

from ..storage.triple_store import TermCodec
from .flowctx import Ctx, Stream
from .registration import handles

_NOISE = re.compile(r"<[^>]*>|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|#[^\n]*")
_FORM = re.compile(r"\b(select|ask|construct|describe)\b", re.IGNORECASE)


def query_form(query: str) -> str:
    match = _FORM.search(_NOISE.sub(" ", query))
    return match.group(1).lower() if match else ""


def _term(codec: TermCodec, node: Any) -> Any:
    if node is None:
        return None
    if isinstance(node, ox.Triple):
        return {"t": "t", "tr": _triple(codec, node)}
    return codec.term_of(node)


def _triple(codec: TermCodec, triple: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, node in (("s", triple.subject), ("p", triple.predicate), ("o", triple.object)):
        term = _term(codec, node)
        if term is not None:
            out[key] = term
    return out


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"query-type": "", "error": {"type": kind, "message": message}}


@handles("sparql")
async def sparql_query(ctx: Ctx, request: Any) -> Stream:
    query = request.get("query", "")
    collection = str(request.get("collection", "default"))
    limit = int(request.get("limit", 10000)) or 10000
    streaming = request.get("streaming", False)
    batch_size = int(request.get("batch-size", 20))
    batch_size = batch_size if batch_size > 0 else 20
    await ctx.backend.settle()
    store = ctx.backend.workspace(ctx.workspace).triple_store(collection, create=False)
    oxstore = store.store if store is not None else ox.Store()
    codec = store.codec if store is not None else TermCodec()
    try:
        result = oxstore.query(str(query))
    except SyntaxError as exc:
        yield _error("sparql-parse-error", str(exc)), True
        return
    except (OSError, ValueError, TypeError) as exc:
        yield _error("sparql-evaluation-error", str(exc)), True
        return
    try:
        if isinstance(result, ox.QueryBoolean):
            yield {"query-type": "ask", "ask-result": bool(result)}, True
            return
        if isinstance(result, ox.QueryTriples):
            form = "describe" if query_form(str(query)) == "describe" else "construct"
            triples = [_triple(codec, t) for t in itertools.islice(result, limit)]
            yield {"query-type": form, "triples": triples}, True
            return
        variables = [v.value for v in result.variables]
        solutions = itertools.islice(result, limit)
        if not streaming:
            bindings = [{"values": [_term(codec, s[i]) for i in range(len(variables))]} for s in solutions]
            yield {"query-type": "select", "variables": variables, "bindings": bindings}, True
            return
        batch: list[dict[str, Any]] = []
        for solution in solutions:
            batch.append({"values": [_term(codec, solution[i]) for i in range(len(variables))]})
            if len(batch) >= batch_size:
                yield {"query-type": "select", "variables": variables, "bindings": batch}, False
                batch = []
                await asyncio.sleep(0)
        yield {"query-type": "select", "variables": variables, "bindings": batch}, True
    except (OSError, ValueError, TypeError) as exc:  # evaluation errors surface while iterating
        yield _error("sparql-evaluation-error", str(exc)), True
