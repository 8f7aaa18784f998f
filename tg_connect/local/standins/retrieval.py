"""graph-rag and document-rag: retrieval plus synthesis, with the real services' frames.

graph-rag (as ``trustgraph/retrieval/graph_rag``, with the local stores):

1. concepts: the ``extract-concepts`` prompt (one concept per line; ``grounding-seeds``
   replace it);
2. seed entities: entities whose label (``rdfs:label``, ``skos:prefLabel``, ``schema:name``,
   ``foaf:name``, ``dc:title``) or IRI local name shares a word with the question, then the
   graph-embeddings neighbours of each concept's built-in embedding that score above 0, up
   to ``entity-limit`` (``graph-seeds`` replace both);
3. exploration: up to ``max-path-length`` hops over the collection's default graph, at most
   ``triple-limit`` triples per entity and position and ``max-subgraph-size`` in all, with the
   RDF/RDFS/OWL schema predicates left out (``rdf:type`` is kept); each hop keeps the
   ``edge-limit`` edges that score best with the word-overlap reranker against a concept;
4. sources: source documents reached through ``tg:contains`` and ``prov:wasDerivedFrom`` in
   ``urn:graph:source``, as the real service traces them;
5. synthesis: the ``kg-synthesis`` prompt over the selected edges, labelled (a label, else the
   IRI or literal value). The seeded template echoes them, so the answer is built from them.

document-rag: ``extract-concepts``, the document-embeddings neighbours of each concept, the
chunk texts from the librarian (a chunk id is a librarian document id; chunks without one
are dropped, as in the real service), word-overlap reranking to ``doc-limit``, then the
``document-prompt`` template.

Both send explain frames as they go, publish the explainability triples on the flow's
``triples-store`` topic (collection of the request, graph ``urn:graph:retrieval``) and save
the answer to the librarian (``document-type: answer``), like the real services.
``languages``, ``traversal-instructions`` and ``graph`` are accepted and ignored.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from ..storage.triple_store import TripleStore
from . import explain
from .flowctx import Ctx, Emit, PromptError, Stream, pump
from .model import embed, overlap_score, words
from .registration import handles
from .vectors import document_matches, nearest

LABEL_PREDICATES = (
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "https://schema.org/name",
    "http://schema.org/name",
    "http://xmlns.com/foaf/0.1/name",
    "http://purl.org/dc/elements/1.1/title",
)
LABEL = LABEL_PREDICATES[0]
_SCHEMA_NAMESPACES = (
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://www.w3.org/2000/01/rdf-schema#",
    "http://www.w3.org/2002/07/owl#",
)
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SCAN_LIMIT = 200_000  # triples scanned for IRI local names matching the question
_STOP = frozenset(
    """a an and are as at be but by can did do does for from had has have how i in is it its me
    my of on or our she so than that the their them then there these they this to was we were what when where
    which who whom whose why will with would you your about tell know known give list show find""".split()
)


class RagError(RuntimeError):
    pass


def content_words(*texts: str) -> set[str]:
    out: set[str] = set()
    for text in texts:
        out |= {w for w in words(text) if len(w) >= 3 and w not in _STOP}
    return out


def local_name(value: str) -> str:
    return re.split(r"[/#:]", value.rstrip("/#"))[-1]


def _key(term: Any) -> str:
    return json.dumps(term, sort_keys=True)


class Graph:
    """Read access to one collection's triples for a retrieval request (labels cached)."""

    def __init__(self, store: TripleStore | None) -> None:
        self.store = store
        self._labels: dict[str, str] = {}

    def match(self, s: Any = None, p: Any = None, o: Any = None, g: Any = None, limit: int = 10000) -> list[Any]:
        if self.store is None:
            return []
        return list(itertools.islice(self.store.match(s, p, o, g), limit))

    def label(self, term: Any) -> str:
        if not isinstance(term, dict):
            return ""
        kind = term.get("t")
        if kind == "l":
            return str(term.get("v", ""))
        key = _key(term)
        if key not in self._labels:
            text = ""
            if kind in ("i", "b"):
                for found in self.match(term, explain.iri(LABEL), None, None, limit=1):
                    o = found.get("o", {})
                    if o.get("t") == "l":
                        text = str(o.get("v", ""))
            if not text:
                text = str(term.get("i") or term.get("d") or "") if kind in ("i", "b") else json.dumps(term)
            self._labels[key] = text
        return self._labels[key]

    def lexical_entities(self, wanted: set[str], limit: int) -> list[Any]:
        """Entities whose label or IRI local name shares a word with ``wanted``, best first."""
        if self.store is None or not wanted or limit <= 0:
            return []
        matches = _WordMatches(wanted)
        for term, text in _labelled(self.store):
            matches.consider(term, text)
        for term, text in _local_names(self.store):
            matches.consider(term, text)
        return matches.best(limit)


def _labelled(store: TripleStore) -> Iterator[tuple[Any, str]]:
    """``(subject, label)`` for every label triple (any of :data:`LABEL_PREDICATES`)."""
    for predicate in LABEL_PREDICATES:
        for found in store.match(None, explain.iri(predicate), None, None):
            o = found.get("o", {})
            if o.get("t") == "l" and "s" in found:
                yield found["s"], str(o.get("v", ""))


def _local_names(store: TripleStore) -> Iterator[tuple[Any, str]]:
    """``(iri, words of its local name)`` for the IRI subjects and objects of the first
    :data:`SCAN_LIMIT` triples (``camelCase`` split into words)."""
    for found in itertools.islice(store.match(None, None, None, None), SCAN_LIMIT):
        for pos in ("s", "o"):
            term = found.get(pos)
            if isinstance(term, dict) and term.get("t") == "i":
                yield term, re.sub(r"([a-z])([A-Z])", r"\1 \2", local_name(str(term.get("i", ""))))


class _WordMatches:
    """Terms scored by how many words their text shares with the wanted ones (best text wins;
    ties keep the order terms were first seen in)."""

    def __init__(self, wanted: set[str]) -> None:
        self.wanted = wanted
        self.scored: dict[str, tuple[int, int, Any]] = {}
        self.order = itertools.count()

    def consider(self, term: Any, text: str) -> None:
        overlap = len(words(text) & self.wanted)
        if overlap:
            key = _key(term)
            seen = self.scored.get(key)
            if seen is None or overlap > seen[0]:
                self.scored[key] = (overlap, seen[1] if seen else next(self.order), term)

    def best(self, limit: int) -> list[Any]:
        ranked = sorted(self.scored.values(), key=lambda item: (-item[0], item[1]))
        return [term for _overlap, _order, term in ranked[:limit]]


async def _concepts(ctx: Ctx, query: str, seeds: list[str], usage: dict[str, Any]) -> tuple[list[str], Any]:
    if seeds:
        return [str(s) for s in seeds], None
    result = await ctx.prompt("extract-concepts", {"query": query})
    _track(usage, result)
    concepts = [line.strip() for line in (result.text or "").strip().split("\n") if line.strip()]
    return concepts or [query], result


def _track(usage: dict[str, Any], result: Any) -> None:
    if result is None:
        return
    if result.in_token is not None:
        usage["in"] = usage.get("in", 0) + result.in_token
    if result.out_token is not None:
        usage["out"] = usage.get("out", 0) + result.out_token
    if result.model is not None:
        usage["model"] = result.model


def _usage_fields(usage: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if usage.get("in"):
        out["in_token"] = usage["in"]
    if usage.get("out"):
        out["out_token"] = usage["out"]
    if usage.get("model") is not None:
        out["model"] = usage["model"]
    return out


def _int(request: Any, key: str, default: int) -> int:
    value = int(request.get(key, default))
    return value if value else default


# -- graph-rag ---------------------------------------------------------------------------------


@handles("graph-rag")
async def graph_rag(ctx: Ctx, request: Any) -> Stream:
    """Frames as the 2.11 graph-rag service sends them (see the module docstring)."""
    query = request["query"]
    collection = str(request.get("collection", "default"))
    limits = {
        k: _int(request, k, d)
        for k, d in (
            ("entity-limit", 50),
            ("triple-limit", 30),
            ("max-subgraph-size", 1000),
            ("max-path-length", 2),
            ("edge-limit", 25),
        )
    }
    streaming = bool(request.get("streaming", False))
    grounding_seeds = list(request.get("grounding-seeds", []) or [])
    graph_seeds = list(request.get("graph-seeds", []) or [])

    async def work(emit: Emit) -> None:
        try:
            await _graph_rag(ctx, emit, str(query), collection, limits, streaming, grounding_seeds, graph_seeds)
        except Exception as exc:  # the service's error reply (visible, closes the session)
            await emit(
                {
                    "message_type": "chunk",
                    "response": "",
                    "end_of_stream": True,
                    "end_of_session": True,
                    "error": {"message": str(exc), "type": "graph-rag-error"},
                },
                True,
            )

    async for item in pump(work):
        yield item


async def _graph_rag(
    ctx: Ctx,
    emit: Emit,
    query: str,
    collection: str,
    limits: dict[str, int],
    streaming: bool,
    grounding_seeds: list[Any],
    graph_seeds: list[Any],
) -> None:
    if grounding_seeds and graph_seeds:
        raise ValueError("grounding_seeds and graph_seeds are mutually exclusive")
    session = str(uuid.uuid4())
    q_uri = f"urn:trustgraph:question:{session}"
    gnd_uri = f"urn:trustgraph:prov:grounding:{session}"
    exp_uri = f"urn:trustgraph:prov:exploration:{session}"
    foc_uri = f"urn:trustgraph:prov:focus:{session}"
    syn_uri = f"urn:trustgraph:prov:synthesis:{session}"

    async def send_explain(explain_id: str, triples: list[Any]) -> None:
        await ctx.explain(collection, explain_id, triples)
        await emit(
            {
                "message_type": "explain",
                "response": "",
                "explain_id": explain_id,
                "explain_graph": explain.GRAPH_RETRIEVAL,
                "explain_triples": triples,
                "end_of_stream": False,
                "end_of_session": False,
            },
            False,
        )

    usage: dict[str, Any] = {}
    await send_explain(q_uri, explain.question(q_uri, query, "GraphRagQuestion", "GraphRAG Question"))
    concepts, concept_result = await _concepts(ctx, query, grounding_seeds, usage)
    await ctx.backend.settle()
    graph = Graph(ctx.backend.workspace(ctx.workspace).triple_store(collection, create=False))

    def retrieve() -> tuple[
        list[Any], list[tuple[Any, str, float]], int, list[dict[str, str]], list[dict[str, str]], list[dict[str, str]]
    ]:
        # Store scans and label lookups run on a worker thread, off the event loop.
        seeds = _seed_entities(ctx, graph, query, concepts, collection, graph_seeds, limits["entity-limit"])
        selected, explored = _explore(graph, seeds, concepts, limits)
        doc_edges, sources = _trace_sources(graph, [edge for edge, _c, _s in selected])
        knowledge = [
            {"s": graph.label(e["s"]), "p": graph.label(e["p"]), "o": graph.label(e["o"])} for e, _c, _s in selected
        ] + doc_edges
        return seeds, selected, explored, doc_edges, sources, knowledge

    seeds, selected, explored, doc_edges, sources, knowledge = await asyncio.to_thread(retrieve)
    cu = concept_result
    await send_explain(
        gnd_uri,
        explain.grounding(
            gnd_uri,
            q_uri,
            concepts,
            cu.in_token if cu else None,
            cu.out_token if cu else None,
            cu.model if cu else None,
        ),
    )
    seed_iris = [str(e["i"]) for e in seeds if e.get("t") == "i"]
    await send_explain(exp_uri, explain.exploration(exp_uri, gnd_uri, explored, seed_iris))
    edges = [{"edge": (e["s"], e["p"], e["o"]), "concept": c, "score": s} for e, c, s in selected]
    await send_explain(foc_uri, explain.focus(foc_uri, exp_uri, session, edges))
    variables = {"query": query, "knowledge": knowledge}

    result = await ctx.prompt("kg-synthesis", variables, _chunk_sender(emit) if streaming else None)
    _track(usage, result)
    answer = result.text or ""
    doc_id = f"urn:trustgraph:synthesis:{session}" if answer else None
    if doc_id:
        ctx.save_answer(doc_id, answer, f"GraphRAG Answer: {query[:50]}...")
    await send_explain(
        syn_uri, explain.synthesis(syn_uri, foc_uri, doc_id, result.in_token, result.out_token, result.model)
    )
    final: dict[str, Any] = {"message_type": "chunk", "response": "" if streaming else answer}
    if sources:
        final["sources"] = sources
    final["end_of_stream"] = not streaming
    final["end_of_session"] = True
    final.update(_usage_fields(usage))
    await emit(final, True)


def _seed_entities(
    ctx: Ctx, graph: Graph, query: str, concepts: list[str], collection: str, graph_seeds: list[Any], limit: int
) -> list[Any]:
    if graph_seeds:
        return [{"t": "i", "i": str(s)} for s in graph_seeds][:limit]
    seeds: dict[str, Any] = {}
    for term in graph.lexical_entities(content_words(query, *concepts), limit):
        seeds.setdefault(_key(term), term)
    for concept in concepts:
        for entity, score, _x in nearest(ctx, "graph-embeddings", collection, embed(concept), limit, "entity"):
            if score > 0 and len(seeds) < limit:
                term = json.loads(entity)
                seeds.setdefault(_key(term), term)
    return list(seeds.values())[:limit]


def _is_schema_predicate(term: Any) -> bool:
    value = term.get("i", "") if isinstance(term, dict) and term.get("t") == "i" else ""
    return value != RDF_TYPE and value.startswith(_SCHEMA_NAMESPACES)


def _explore(
    graph: Graph, seeds: list[Any], concepts: list[str], limits: dict[str, int]
) -> tuple[list[tuple[Any, str, float]], int]:
    """Selected ``(edge, concept, score)`` over all hops, and how many edges were explored."""
    visited: set[str] = set()
    frontier = list(seeds)
    selected: list[tuple[Any, str, float]] = []
    seen_edges: set[str] = set()
    explored = 0
    for _hop in range(max(limits["max-path-length"], 1)):
        candidates = _new_edges(
            graph, frontier, visited, seen_edges, limits["triple-limit"], limits["max-subgraph-size"] - explored
        )
        explored += len(candidates)
        if not candidates:
            break
        picked = _rank_edges(graph, candidates, concepts)[: limits["edge-limit"]]
        selected.extend(picked)
        frontier = _next_frontier(picked, visited)
        if not frontier:
            break
    return selected, explored


def _new_edges(
    graph: Graph, frontier: list[Any], visited: set[str], seen_edges: set[str], triple_limit: int, budget: int
) -> list[Any]:
    """One hop's unseen, non-schema edges around ``frontier`` (at most ``budget`` of them);
    marks the frontier visited and the edges seen."""
    candidates: list[Any] = []
    for entity in frontier:
        visited.add(_key(entity))
        for pattern in ({"s": entity}, {"o": entity}):
            for edge in graph.match(pattern.get("s"), None, pattern.get("o"), None, triple_limit):
                key = _key(edge)
                if key in seen_edges or _is_schema_predicate(edge.get("p")) or len(edge) < 3:
                    continue
                if len(candidates) >= budget:
                    break
                seen_edges.add(key)
                candidates.append(edge)
    return candidates


def _rank_edges(graph: Graph, candidates: list[Any], concepts: list[str]) -> list[tuple[Any, str, float]]:
    """``(edge, concept, score)`` with each edge's best concept, best score first (ties in order)."""
    scored = []
    for index, edge in enumerate(candidates):
        text = f"{graph.label(edge['s'])} {graph.label(edge['p'])} {graph.label(edge['o'])}"
        best_concept, best = _best_concept(concepts, text)
        scored.append((-best, index, edge, best_concept, best))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [(edge, concept, score) for _neg, _index, edge, concept, score in scored]


def _best_concept(concepts: list[str], text: str) -> tuple[str, float]:
    """The concept that scores best against ``text`` (the first of equals) and its score."""
    best_concept, best = "", -1.0
    for concept in concepts:
        score = overlap_score(concept, text)
        if score > best:
            best_concept, best = concept, score
    return best_concept, best


def _next_frontier(picked: list[tuple[Any, str, float]], visited: set[str]) -> list[Any]:
    """The unvisited entities (IRIs and blank nodes) at either end of the picked edges."""
    next_frontier: dict[str, Any] = {}
    for edge, _concept, _score in picked:
        for pos in ("s", "o"):
            term = edge[pos]
            if isinstance(term, dict) and term.get("t") in ("i", "b") and _key(term) not in visited:
                next_frontier.setdefault(_key(term), term)
    return list(next_frontier.values())


def _trace_sources(graph: Graph, edges: list[Any]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Source documents of the selected edges via ``urn:graph:source`` provenance."""
    subgraphs = _source_subgraphs(graph, edges)
    if not subgraphs:
        return [], []
    doc_edges: list[dict[str, str]] = []
    sources: list[dict[str, str]] = []
    for uri in sorted(_source_documents(graph, subgraphs)):
        edges_of_doc, title = _document_edges(graph, uri)
        doc_edges.extend(edges_of_doc)
        sources.append({"uri": uri, "title": title})
    return doc_edges, sources


def _source_subgraphs(graph: Graph, edges: list[Any]) -> set[str]:
    """The extraction subgraphs that ``tg:contains`` one of the (quoted) edges."""
    subgraphs: set[str] = set()
    contains = explain.iri(explain.TG + "contains")
    for edge in edges:
        quoted = {"t": "t", "tr": {"s": edge["s"], "p": edge["p"], "o": edge["o"]}}
        for found in graph.match(None, contains, quoted, explain.GRAPH_SOURCE, limit=1):
            if found.get("s", {}).get("t") == "i":
                subgraphs.add(str(found["s"]["i"]))
    return subgraphs


def _source_documents(graph: Graph, subgraphs: set[str]) -> set[str]:
    """Where ``prov:wasDerivedFrom`` chains from the subgraphs end (at most 4 steps)."""
    current: set[str] = subgraphs
    documents: set[str] = set()
    derived = explain.iri(explain.PROV_WAS_DERIVED_FROM)
    for _depth in range(4):
        if not current:
            break
        following: set[str] = set()
        for uri in current:
            found = graph.match(explain.iri(uri), derived, None, explain.GRAPH_SOURCE, limit=5)
            if not found:
                documents.add(uri)
            for t in found:
                if t.get("o", {}).get("t") == "i":
                    following.add(str(t["o"]["i"]))
        current = following - documents
    return documents


def _document_edges(graph: Graph, uri: str) -> tuple[list[dict[str, str]], str]:
    """A source document's labelled edges (provenance and type left out) and its title."""
    doc_edges: list[dict[str, str]] = []
    title = ""
    for t in graph.match(explain.iri(uri), None, None, None, limit=50):
        p = str(t.get("p", {}).get("i", ""))
        if p in (explain.PROV_WAS_DERIVED_FROM, RDF_TYPE):
            continue
        o = graph.label(t.get("o"))
        doc_edges.append({"s": uri, "p": p, "o": o})
        if p == explain.DC_TITLE or (p == LABEL and not title):
            title = o
    return doc_edges, title


def _chunk_sender(emit: Emit) -> Callable[[str, bool], Awaitable[None]]:
    """The synthesis prompt's streaming callback: a chunk frame per text piece, then the end of stream."""

    async def on_chunk(text: str, final: bool) -> None:
        if final:
            await emit({"message_type": "chunk", "response": "", "end_of_stream": True, "end_of_session": False}, False)
        elif text:
            await emit(
                {"message_type": "chunk", "response": text, "end_of_stream": False, "end_of_session": False}, False
            )

    return on_chunk


# -- document-rag ------------------------------------------------------------------------------


@handles("document-rag")
async def document_rag(ctx: Ctx, request: Any) -> Stream:
    """Frames as the 2.11 document-rag service sends them: explain frames without ``response``,
    chunk frames, then (streaming) ``{"message_type": "end", ...}`` or (not streaming) one
    frame with the answer and no ``message_type``. A failure is a visible ``document-rag-error``
    that does not close the session (``complete: false``), as in 2.11."""
    query = request["query"]
    collection = str(request.get("collection", "default"))
    doc_limit = int(request.get("doc-limit", 20)) or 20
    fetch_limit = int(request.get("fetch-limit", 0))
    streaming = bool(request.get("streaming", False))

    async def work(emit: Emit) -> None:
        try:
            await _document_rag(ctx, emit, str(query), collection, doc_limit, fetch_limit, streaming)
        except Exception as exc:
            await emit(
                {
                    "end_of_stream": streaming,
                    "end_of_session": False,
                    "error": {"message": str(exc), "type": "document-rag-error"},
                },
                False,
            )

    async for item in pump(work):
        yield item


async def _document_rag(
    ctx: Ctx, emit: Emit, query: str, collection: str, doc_limit: int, fetch_limit: int, streaming: bool
) -> None:
    session = str(uuid.uuid4())
    base = f"urn:trustgraph:docrag:{session}"
    q_uri, gnd_uri, exp_uri = base, f"{base}/grounding", f"{base}/exploration"
    foc_uri, syn_uri = f"{base}/focus", f"{base}/synthesis"

    async def send_explain(explain_id: str, triples: list[Any]) -> None:
        await ctx.explain(collection, explain_id, triples)
        await emit(
            {
                "message_type": "explain",
                "explain_id": explain_id,
                "explain_graph": explain.GRAPH_RETRIEVAL,
                "explain_triples": triples,
                "end_of_stream": False,
                "end_of_session": False,
            },
            False,
        )

    usage: dict[str, Any] = {}
    await send_explain(q_uri, explain.question(q_uri, query, "DocRagQuestion", "DocumentRAG Question"))
    concepts, cu = await _concepts(ctx, query, [], usage)
    await send_explain(
        gnd_uri,
        explain.grounding(
            gnd_uri,
            q_uri,
            concepts,
            cu.in_token if cu else None,
            cu.out_token if cu else None,
            cu.model if cu else None,
        ),
    )
    fetch_count = max(fetch_limit or 3 * doc_limit, doc_limit)
    per_concept = max(1, fetch_count // len(concepts))
    await ctx.backend.settle()
    docs, fetched = _fetch_chunks(ctx, collection, concepts, per_concept)
    await send_explain(exp_uri, explain.docrag_exploration(exp_uri, gnd_uri, fetched))
    parent = exp_uri
    if docs:
        docs, chosen = _rank_chunks(query, docs, fetched, doc_limit)
        await send_explain(foc_uri, explain.docrag_focus(foc_uri, exp_uri, session, chosen))
        parent = foc_uri
    result = await ctx.prompt(
        "document-prompt", {"query": query, "documents": docs}, _chunk_sender(emit) if streaming else None
    )
    _track(usage, result)
    answer = result.text or ""
    doc_id = f"{base}/answer" if answer else None
    if doc_id:
        ctx.save_answer(doc_id, answer, f"DocumentRAG Answer: {query[:50]}...")
    await send_explain(
        syn_uri, explain.synthesis(syn_uri, parent, doc_id, result.in_token, result.out_token, result.model)
    )
    if streaming:
        await emit(
            {"message_type": "end", "end_of_stream": False, "end_of_session": True, **_usage_fields(usage)}, True
        )
    else:
        await emit({"response": answer, "end_of_stream": True, "end_of_session": True, **_usage_fields(usage)}, True)


def _fetch_chunks(ctx: Ctx, collection: str, concepts: list[str], per_concept: int) -> tuple[list[str], list[str]]:
    """The texts of each concept's nearest chunks, and their chunk ids, in the order found."""
    chunk_ids: list[str] = []
    for concept in concepts:
        for match in document_matches(ctx, collection, embed(concept), per_concept):
            if match["chunk_id"] not in chunk_ids:
                chunk_ids.append(match["chunk_id"])
    docs: list[str] = []
    fetched: list[str] = []
    for chunk_id in chunk_ids:
        try:
            docs.append(ctx.fetch_text(chunk_id))
            fetched.append(chunk_id)
        except Exception:
            continue  # the real service drops a chunk the librarian cannot return
    return docs, fetched


def _rank_chunks(
    query: str, docs: list[str], fetched: list[str], doc_limit: int
) -> tuple[list[str], list[tuple[str, float]]]:
    """The ``doc_limit`` texts that share most words with the query (ties in order), and
    ``(chunk id, score)`` for each."""
    ranked = sorted(((overlap_score(query, d), i) for i, d in enumerate(docs)), key=lambda x: (-x[0], x[1]))
    ranked = ranked[:doc_limit]
    return [docs[i] for _s, i in ranked], [(fetched[i], s) for s, i in ranked]


__all__ = ["graph_rag", "document_rag", "PromptError", "RagError"]
