"""Builders of the query services: embeddings and the vector queries, triples, SPARQL, rows and
the structured-data services."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import (
    TYPE_CHECKING,
    Any,
)

import pyarrow as pa

from ...errors import InputError, ProtocolError, ServiceError
from ...types import (
    ChunkMatch,
    EntityMatch,
    NlpQueryResult,
    QueryOptions,
    RowMatch,
    RowsResult,
    SparqlResult,
    StructuredDiagResult,
    StructuredQueryResult,
    Table,
    TripleList,
)
from ..terms import Term

if TYPE_CHECKING:
    from typing_extensions import Unpack

from ..calls import (
    Call,
    TermArg,
    call_single,
    check_bool,
    check_int,
    check_json_object,
    check_known,
    check_str,
    check_strs,
    check_vector,
    last_frame,
    missing,
    opt_str,
    put_field,
    term_arg,
)
from ..registry import SERVICES, method

# -- embeddings and their queries -----------------------------------------------------------


@method("flow-instance", example={"texts": ["hello"]})
def embeddings(texts: str | Sequence[str]) -> Call[Mapping[str, Any], list[list[float]]]:
    """One vector per text (a single string gives a one-vector list)."""
    items = [texts] if isinstance(texts, str) else check_strs("texts", texts)
    if not items:
        raise InputError("texts must not be empty")

    def parse(response: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        vectors = response.get("vectors")
        if not isinstance(vectors, list) or len(vectors) != len(items):
            got = "no vectors" if not vectors else f"{len(vectors)} vectors"
            raise ServiceError(
                "embeddings",
                "missing-field",
                f"{got} for {len(items)} texts; the gateway drops this service's errors"
                ", so the request most likely failed in the back end",
            )
        return [response]

    def collect(frames: Sequence[Mapping[str, Any]]) -> list[list[float]]:
        return [[float(x) for x in v] for v in last_frame(frames)["vectors"]]

    return Call(SERVICES["embeddings"], {"texts": items}, parse, collect)


_ENTITY_SCHEMA = pa.schema(
    [
        pa.field("entity", pa.string()),
        pa.field("entity_type", pa.string()),
        pa.field("score", pa.float64()),
        pa.field("rdf_type", pa.string()),
    ]
)
_CHUNK_SCHEMA = pa.schema([pa.field("chunk_id", pa.string()), pa.field("score", pa.float64())])
_ROW_SCHEMA = pa.schema(
    [
        pa.field("index_name", pa.string()),
        pa.field("index_value", pa.list_(pa.string())),
        pa.field("text", pa.string()),
        pa.field("score", pa.float64()),
    ]
)
RERANK_SCHEMA = pa.schema(
    [pa.field("document_id", pa.string()), pa.field("query_id", pa.string()), pa.field("score", pa.float64())]
)


def _query_body(vector: Sequence[float], limit: int, collection: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"vector": check_vector("vector", vector), "limit": check_int("limit", limit)}
    put_field(body, "collection", opt_str("collection", collection))
    return body


@method("flow-instance", generated=False)
def graph_embeddings_query(
    vector: Sequence[float], *, limit: int = 10, collection: str | None = "default"
) -> Call[Mapping[str, Any], Table[EntityMatch]]:
    def convert(r: Mapping[str, Any]) -> Table[EntityMatch]:
        out = []
        for e in r.get("entities") or []:
            try:
                entity = Term.from_wire(e["entity"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ProtocolError(f"graph-embeddings: malformed entity {exc!r}") from None
            rdf_type = e.get("rdf_type")
            out.append(
                EntityMatch(
                    entity,
                    float(e.get("score") or 0.0),
                    rdf_type if isinstance(rdf_type, str) else None,
                    e.get("attributes"),
                )
            )
        return Table(
            out,
            _ENTITY_SCHEMA,
            lambda m: {
                "entity": m.entity.value,
                "entity_type": m.entity.kind,
                "score": m.score,
                "rdf_type": m.rdf_type,
            },
        )

    return call_single("graph-embeddings", _query_body(vector, limit, collection), convert)


@method("flow-instance", generated=False)
def document_embeddings_query(
    vector: Sequence[float], *, limit: int = 10, collection: str | None = "default"
) -> Call[Mapping[str, Any], Table[ChunkMatch]]:
    def convert(r: Mapping[str, Any]) -> Table[ChunkMatch]:
        out = [
            ChunkMatch(str(c.get("chunk_id") or ""), float(c.get("score") or 0.0), c.get("attributes"))
            for c in r.get("chunks") or []
        ]
        return Table(out, _CHUNK_SCHEMA, lambda m: {"chunk_id": m.chunk_id, "score": m.score})

    return call_single("document-embeddings", _query_body(vector, limit, collection), convert)


@method("flow-instance", generated=False)
def row_embeddings_query(
    vector: Sequence[float],
    *,
    schema_name: str,
    index_name: str | None = None,
    limit: int = 10,
    collection: str | None = "default",
) -> Call[Mapping[str, Any], Table[RowMatch]]:
    body = _query_body(vector, limit, collection)
    body["schema_name"] = check_str("schema_name", schema_name)
    put_field(body, "index_name", opt_str("index_name", index_name))

    def convert(r: Mapping[str, Any]) -> Table[RowMatch]:
        out = [
            RowMatch(
                str(m.get("index_name") or ""),
                tuple(str(v) for v in m.get("index_value") or []),
                str(m.get("text") or ""),
                float(m.get("score") or 0.0),
                m.get("attributes"),
            )
            for m in r.get("matches") or []
        ]
        return Table(
            out,
            _ROW_SCHEMA,
            lambda m: {
                "index_name": m.index_name,
                "index_value": list(m.index_value),
                "text": m.text,
                "score": m.score,
            },
        )

    return call_single("row-embeddings", body, convert)


# -- triples and SPARQL -------------------------------------------------------------------------


def _triples_chunks(response: Mapping[str, Any]) -> list[TripleList]:
    items = response.get("response")
    if not isinstance(items, list):
        raise missing("triples", ("response",))
    return [TripleList(items)]


def _collect_triples(chunks: Sequence[TripleList]) -> TripleList:
    if len(chunks) == 1:
        return chunks[0]
    return TripleList(t for c in chunks for t in c.wire)


def _query_options(name: str, body: dict[str, Any], kw: QueryOptions) -> None:
    check_known(name, kw, QueryOptions)
    put_field(body, "collection", opt_str("collection", kw.get("collection", "default")))
    body["limit"] = check_int("limit", kw.get("limit", 10000))
    batch_size = kw.get("batch_size")
    if batch_size is not None:
        body["batch-size"] = check_int("batch_size", batch_size, high=100_000)


@method("flow-instance", example={"limit": 1})
def triples_query(
    s: TermArg = None,
    p: TermArg = None,
    o: TermArg = None,
    g: str | None = None,
    *,
    streaming: bool = False,
    **kw: Unpack[QueryOptions],
) -> Call[TripleList, TripleList]:
    """Triples matching a pattern: a :class:`TripleList` (``.to_arrow()``), or one per batch.

    A string is an IRI as ``s`` or ``p`` (``p`` an absolute one: pass ``Term.iri`` for a relative
    IRI), its kind guessed as ``o``; a ``Term`` says the kind.
    ``g``: ``None`` the default graph, ``"*"`` every graph, or a graph IRI.
    ``collection`` defaults to ``"default"``, ``limit`` to 10000 (at most 2**31-1)."""
    body: dict[str, Any] = {}
    for pos, value in (("s", s), ("p", p), ("o", o)):
        if value is not None:
            body[pos] = term_arg(pos, value)
    put_field(body, "g", opt_str("g", g))
    _query_options("triples_query", body, kw)
    return Call(
        SERVICES["triples"], body, _triples_chunks, _collect_triples, streaming=check_bool("streaming", streaming)
    )


def _binding_term(value: Any) -> Term | None:
    if value is None:
        return None
    try:
        return Term.from_wire(value)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"sparql: malformed term {exc!r}") from None


def _sparql_chunks(response: Mapping[str, Any]) -> list[SparqlResult]:
    qtype = response.get("query-type")
    if not isinstance(qtype, str):
        raise missing("sparql", ("query-type",))
    variables = tuple(str(v) for v in response.get("variables") or [])
    bindings = []
    for b in response.get("bindings") or []:
        values = b.get("values") if isinstance(b, Mapping) else b
        bindings.append({var: _binding_term(v) for var, v in zip(variables, values or [], strict=False)})
    ask = response.get("ask-result")
    return [
        SparqlResult(
            qtype,
            variables,
            tuple(bindings),
            ask if isinstance(ask, bool) else None,
            TripleList(response.get("triples") or []),
        )
    ]


def _collect_sparql(chunks: Sequence[SparqlResult]) -> SparqlResult:
    if not chunks:
        raise ProtocolError("sparql: no reply")
    first = chunks[0]
    variables = next((c.variables for c in chunks if c.variables), first.variables)
    ask = next((c.ask_result for c in chunks if c.ask_result is not None), None)
    return SparqlResult(
        first.query_type,
        variables,
        tuple(b for c in chunks for b in c.bindings),
        ask,
        TripleList(t for c in chunks for t in c.triples.wire),
    )


@method("flow-instance")
def sparql_query(
    query: str, *, streaming: bool = False, **kw: Unpack[QueryOptions]
) -> Call[SparqlResult, SparqlResult]:
    """A SPARQL query: a :class:`SparqlResult` (``.to_arrow()``), or one per batch."""
    body: dict[str, Any] = {"query": check_str("query", query)}
    _query_options("sparql_query", body, kw)
    return Call(SERVICES["sparql"], body, _sparql_chunks, _collect_sparql, streaming=check_bool("streaming", streaming))


# -- structured data services ---------------------------------------------------------------


@method("flow-instance")
def rows_query(
    query: str,
    *,
    collection: str | None = "default",
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> Call[Mapping[str, Any], RowsResult]:
    """A GraphQL query over structured rows (``.to_arrow()``)."""
    body: dict[str, Any] = {"query": check_str("query", query)}
    put_field(body, "collection", opt_str("collection", collection))
    if variables is not None:
        body["variables"] = check_json_object("variables", variables)
    put_field(body, "operation_name", opt_str("operation_name", operation_name))

    def convert(r: Mapping[str, Any]) -> RowsResult:
        if "data" not in r and "errors" not in r:
            raise missing("rows", ("data", "errors"))
        errors = tuple(e for e in r.get("errors") or [] if isinstance(e, Mapping))
        return RowsResult(r.get("data"), errors, r.get("extensions"))

    return call_single("rows", body, convert)


@method("flow-instance")
def nlp_query(question: str, *, max_results: int = 100) -> Call[Mapping[str, Any], NlpQueryResult]:
    """A question turned into a GraphQL query."""
    body = {"question": check_str("question", question), "max_results": check_int("max_results", max_results)}

    def convert(r: Mapping[str, Any]) -> NlpQueryResult:
        if r.get("graphql_query") is None:
            raise missing("nlp-query", ("graphql_query",))
        return NlpQueryResult(
            str(r["graphql_query"]),
            dict(r.get("variables") or {}),
            tuple(str(s) for s in r.get("detected_schemas") or []),
            float(r.get("confidence") or 0.0),
        )

    return call_single("nlp-query", body, convert)


@method("flow-instance")
def structured_query(
    question: str, *, collection: str | None = "default"
) -> Call[Mapping[str, Any], StructuredQueryResult]:
    """A question answered from structured data."""
    body: dict[str, Any] = {"question": check_str("question", question)}
    put_field(body, "collection", opt_str("collection", collection))

    def convert(r: Mapping[str, Any]) -> StructuredQueryResult:
        if "data" not in r and not r.get("errors"):
            raise missing("structured-query", ("data", "errors"))
        data = r.get("data")
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError:
                pass
        return StructuredQueryResult(data, tuple(str(e) for e in r.get("errors") or []))

    return call_single("structured-query", body, convert)


DIAG_OPERATIONS = ("detect-type", "generate-descriptor", "diagnose", "schema-selection")


@method("flow-instance")
def structured_diag(
    operation: str,
    sample: str,
    *,
    type: str | None = None,
    schema_name: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> Call[Mapping[str, Any], StructuredDiagResult]:
    """``detect-type``, ``generate-descriptor``, ``diagnose`` or ``schema-selection`` on a sample."""
    if operation not in DIAG_OPERATIONS:
        raise InputError(f"operation must be one of {', '.join(DIAG_OPERATIONS)}, not {operation!r}")
    body: dict[str, Any] = {"operation": operation, "sample": check_str("sample", sample)}
    put_field(body, "type", opt_str("type", type))
    put_field(body, "schema-name", opt_str("schema_name", schema_name))
    if options is not None:
        body["options"] = check_json_object("options", options)

    def convert(r: Mapping[str, Any]) -> StructuredDiagResult:
        conf = r.get("confidence")
        return StructuredDiagResult(
            str(r.get("operation") or operation),
            r.get("detected-type"),
            float(conf) if isinstance(conf, (int, float)) else None,
            r.get("descriptor"),
            r.get("metadata"),
            tuple(r.get("schema-matches") or []),
        )

    return call_single("structured-diag", body, convert)
