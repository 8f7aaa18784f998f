"""The real gateway's message translation, reproduced for the local gateway.

The TrustGraph 2.11 gateway decodes every incoming JSON message into schema dataclasses
(``trustgraph-base`` ``messaging/translators``, ``gateway/dispatch/*_import.py``) and
encodes what it sends back. That round trip is *lenient* (an unknown term type is kept, a
missing IRI becomes ``""``, extra keys vanish) and *lossy* in specific ways (graph
embeddings lose ``metadata.root``, entity contexts lose ``rdf_type`` on export). Clients
observe exactly those effects, so the local gateway applies the same rules here.

This is deliberately not :mod:`tg_connect.protocol.terms`: that module is the client's strict
view (it rejects what a careful client must never send); this one is what the server
accepts. Functions raise the same Python exceptions the real translators raise on malformed
input (``KeyError``, ``AttributeError``), because the gateway surfaces their text verbatim
(``{"error": {"type": "gateway-error", "message": "'id'"}}``).
"""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]


def term(data: Any) -> JsonDict:
    """``TermTranslator.encode(TermTranslator.decode(data))``; ``data`` must be a mapping."""
    kind = data.get("t", "")
    if kind == "i":
        return {"t": "i", "i": data.get("i", "")}
    if kind == "b":
        return {"t": "b", "d": data.get("d", "")}
    if kind == "l":
        out: JsonDict = {"t": "l", "v": data.get("v", "")}
        datatype = data.get("dt", "")
        language = data.get("ln", "")
        if datatype:
            out["dt"] = datatype
        if language:
            out["ln"] = language
        return out
    if kind == "t":
        out = {"t": "t"}
        inner = data.get("tr")
        if inner:
            out["tr"] = triple(inner)
        return out
    return {"t": kind}


def triple(data: Any) -> JsonDict:
    """``TripleTranslator`` round trip: falsy positions are dropped, ``g`` kept if truthy."""
    out: JsonDict = {}
    for pos in ("s", "p", "o"):
        value = data.get(pos)
        if value:
            out[pos] = term(value)
    graph = data.get("g")
    if graph:
        out["g"] = graph
    return out


def triples(items: Any) -> list[JsonDict]:
    return [triple(t) for t in items]


# -- bulk messages: import decoding == the broker message == the export frame ----------------
#
# Each function takes a parsed import frame and returns the message as the real import
# dispatcher puts it on the broker, serialised the way the matching export dispatcher sends
# it (``gateway/dispatch/serialize.py``). Malformed input raises, which closes the socket.


def triples_message(data: Any) -> JsonDict:
    meta = data["metadata"]
    return {
        "metadata": {"id": meta["id"], "root": meta.get("root", ""), "collection": meta["collection"]},
        "triples": triples(data["triples"]),
    }


def graph_embeddings_message(data: Any) -> JsonDict:
    """Import keeps only entity and vector per entity and drops ``metadata.root``."""
    meta = data["metadata"]
    return {
        "metadata": {"id": meta["id"], "root": "", "collection": meta["collection"]},
        "entities": [{"vector": e["vector"], "entity": term(e["entity"])} for e in data["entities"]],
    }


def document_embeddings_message(data: Any) -> JsonDict:
    """The real decoder is lenient here: metadata and its fields are optional."""
    meta = data.get("metadata", {})
    chunks = [(c["chunk_id"], c["vector"], c.get("attributes", {})) for c in data.get("chunks", [])]
    return {
        "metadata": {
            "id": meta.get("id"),
            "root": meta.get("root", ""),
            "collection": meta.get("collection", "default"),
        },
        "chunks": [{"vector": vector, "chunk_id": chunk_id} for chunk_id, vector, _attrs in chunks],
    }


def document_embeddings_attributes(data: Any) -> list[Any]:
    """Per-chunk ``attributes`` (kept on the broker message, not sent on export)."""
    return [c.get("attributes", {}) for c in data.get("chunks", [])]


def entity_contexts_message(data: Any) -> JsonDict:
    """Import drops ``metadata.root``; export drops ``rdf_type`` (kept by :func:`entity_types`)."""
    meta = data["metadata"]
    entities = [(term(e["entity"]), e["context"]) for e in data["entities"]]
    return {
        "metadata": {"id": meta["id"], "root": "", "collection": meta["collection"]},
        "entities": [{"context": context, "entity": entity} for entity, context in entities],
    }


def entity_types(data: Any) -> list[Any]:
    return [e.get("rdf_type", []) for e in data["entities"]]


def rows_message(data: Any) -> JsonDict:
    """An ``ExtractedObject``: ``values`` always a list, root empty, defaults filled in."""
    values = data["values"]
    if not isinstance(values, list):
        values = [values]
    meta = data["metadata"]
    return {
        "metadata": {"id": meta["id"], "root": "", "collection": meta["collection"]},
        "schema_name": data["schema_name"],
        "values": values,
        "confidence": data.get("confidence", 1.0),
        "source_span": data.get("source_span", ""),
    }


def attribute_error_text(value: Any) -> str:
    """The message Python gives for ``value.get`` on a non-mapping (the real gateway's text)."""
    return f"'{type(value).__name__}' object has no attribute 'get'"
