"""Explainability triples, as the 2.11 retrieval services and agent build them
(``trustgraph/provenance``): the same URIs, classes, predicates and literal forms, all in
the named graph ``urn:graph:retrieval``, in wire form."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

GRAPH_RETRIEVAL = "urn:graph:retrieval"
GRAPH_SOURCE = "urn:graph:source"

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
PROV = "http://www.w3.org/ns/prov#"
PROV_ENTITY = PROV + "Entity"
PROV_WAS_DERIVED_FROM = PROV + "wasDerivedFrom"
PROV_STARTED_AT_TIME = PROV + "startedAtTime"
DC_TITLE = "http://purl.org/dc/elements/1.1/title"
TG = "https://trustgraph.ai/ns/"

Triple = dict[str, Any]


def iri(value: str) -> dict[str, Any]:
    return {"t": "i", "i": value}


def lit(value: Any) -> dict[str, Any]:
    return {"t": "l", "v": str(value)}


def _t(s: str, p: str, o: dict[str, Any]) -> Triple:
    return {"s": iri(s), "p": iri(p), "o": o, "g": GRAPH_RETRIEVAL}


def timestamp() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _tokens(uri: str, in_token: int | None, out_token: int | None, model: str | None) -> list[Triple]:
    out = []
    if in_token is not None:
        out.append(_t(uri, TG + "inToken", lit(in_token)))
    if out_token is not None:
        out.append(_t(uri, TG + "outToken", lit(out_token)))
    if model is not None:
        out.append(_t(uri, TG + "llmModel", lit(model)))
    return out


def _entity(uri: str, types: list[str], label: str) -> list[Triple]:
    return (
        [_t(uri, RDF_TYPE, iri(PROV_ENTITY))]
        + [_t(uri, RDF_TYPE, iri(TG + t)) for t in types]
        + [_t(uri, RDFS_LABEL, lit(label))]
    )


def question(uri: str, query: str, kind: str, label: str, parent: str | None = None) -> list[Triple]:
    """``kind`` is ``GraphRagQuestion``, ``DocRagQuestion`` or ``AgentQuestion``."""
    out = _entity(uri, ["Question", kind], label)
    out += [_t(uri, PROV_STARTED_AT_TIME, lit(timestamp())), _t(uri, TG + "query", lit(query))]
    if parent:
        out.append(_t(uri, PROV_WAS_DERIVED_FROM, iri(parent)))
    return out


def grounding(
    uri: str, question_uri: str, concepts: list[str], in_token: int | None, out_token: int | None, model: str | None
) -> list[Triple]:
    out = _entity(uri, ["Grounding"], "Grounding") + [_t(uri, PROV_WAS_DERIVED_FROM, iri(question_uri))]
    out += [_t(uri, TG + "concept", lit(c)) for c in concepts]
    return out + _tokens(uri, in_token, out_token, model)


def exploration(uri: str, grounding_uri: str, edge_count: int, entities: list[str]) -> list[Triple]:
    out = _entity(uri, ["Exploration"], "Exploration")
    out += [_t(uri, PROV_WAS_DERIVED_FROM, iri(grounding_uri)), _t(uri, TG + "edgeCount", lit(edge_count))]
    return out + [_t(uri, TG + "entity", iri(e)) for e in entities]


def focus(uri: str, exploration_uri: str, session: str, edges: list[dict[str, Any]]) -> list[Triple]:
    """``edges``: ``{"edge": (s, p, o) terms, "concept", "score"}`` per selected edge."""
    out = _entity(uri, ["Focus"], "Focus") + [_t(uri, PROV_WAS_DERIVED_FROM, iri(exploration_uri))]
    for index, info in enumerate(edges):
        s, p, o = info["edge"]
        selection = f"urn:trustgraph:prov:edge:{session}:{index}"
        out.append(_t(uri, TG + "selectedEdge", iri(selection)))
        out.append(_t(selection, RDF_TYPE, iri(TG + "EdgeSelection")))
        out.append(_t(selection, TG + "edge", {"t": "t", "tr": {"s": s, "p": p, "o": o}}))
        if info.get("concept"):
            out.append(_t(selection, TG + "concept", lit(info["concept"])))
        if info.get("score") is not None:
            out.append(_t(selection, TG + "score", lit(str(info["score"]))))
    return out


def synthesis(
    uri: str, parent_uri: str, document_id: str | None, in_token: int | None, out_token: int | None, model: str | None
) -> list[Triple]:
    out = _entity(uri, ["Synthesis", "Answer"], "Synthesis") + [_t(uri, PROV_WAS_DERIVED_FROM, iri(parent_uri))]
    if document_id:
        out.append(_t(uri, TG + "document", iri(document_id)))
    return out + _tokens(uri, in_token, out_token, model)


def docrag_exploration(uri: str, grounding_uri: str, chunk_ids: list[str]) -> list[Triple]:
    out = _entity(uri, ["Exploration"], "Exploration")
    out += [_t(uri, PROV_WAS_DERIVED_FROM, iri(grounding_uri)), _t(uri, TG + "chunkCount", lit(len(chunk_ids)))]
    return out + [_t(uri, TG + "selectedChunk", iri(c)) for c in chunk_ids]


def docrag_focus(uri: str, exploration_uri: str, session: str, chunks: list[tuple[str, float]]) -> list[Triple]:
    out = _entity(uri, ["Focus"], "Chunk Selection") + [_t(uri, PROV_WAS_DERIVED_FROM, iri(exploration_uri))]
    for index, (chunk_id, score) in enumerate(chunks):
        selection = f"urn:trustgraph:prov:chunk:{session}:{index}"
        out.append(_t(uri, TG + "selectedChunk", iri(selection)))
        out.append(_t(selection, RDF_TYPE, iri(TG + "ChunkSelection")))
        out.append(_t(selection, TG + "document", iri(chunk_id)))
        out.append(_t(selection, TG + "score", lit(str(score))))
    return out


def agent_iteration(uri: str, previous: str, action: str, arguments: Any, thought_uri: str | None) -> list[Triple]:
    out = _entity(uri, ["Analysis", "ToolUse"], f"Analysis: {action}")
    out += [
        _t(uri, TG + "action", lit(action)),
        _t(uri, TG + "arguments", lit(json.dumps(arguments))),
        _t(uri, PROV_WAS_DERIVED_FROM, iri(previous)),
    ]
    if thought_uri:
        out += [
            _t(uri, TG + "thought", iri(thought_uri)),
            _t(thought_uri, RDF_TYPE, iri(TG + "Reflection")),
            _t(thought_uri, RDF_TYPE, iri(TG + "Thought")),
            _t(thought_uri, RDFS_LABEL, lit("Thought")),
            _t(thought_uri, PROV_WAS_DERIVED_FROM, iri(uri)),
            _t(thought_uri, TG + "document", iri(thought_uri)),
        ]
    return out


def agent_observation(uri: str, iteration_uri: str, error: str | None = None) -> list[Triple]:
    out = _entity(uri, ["Observation"], "Observation")
    out += [_t(uri, PROV_WAS_DERIVED_FROM, iri(iteration_uri)), _t(uri, TG + "document", iri(uri))]
    if error:
        out += [_t(uri, TG + "toolError", lit(error)), _t(uri, RDF_TYPE, iri(TG + "Error"))]
    return out


def agent_final(uri: str, previous: str, document_id: str) -> list[Triple]:
    out = _entity(uri, ["Conclusion", "Answer"], "Conclusion")
    return out + [_t(uri, PROV_WAS_DERIVED_FROM, iri(previous)), _t(uri, TG + "document", iri(document_id))]
