"""Query services on every face: triples, embeddings and their neighbours, reranking, SPARQL,
and the structured-data services. Results that are tables convert to Arrow and pandas.

The data is loaded once per gateway with run-unique IRIs and collections. The real test
deployment serves no SPARQL, rows, MCP, image, cloze or scoring back end: there the same
calls must raise the gateway's "not supported by flow" as a ServiceError.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import tg_connect
from tg_connect import InputError, ServiceError, Term, TripleList
from tg_connect.local.standins.model import EMBEDDING_DIM
from tg_connect.types import SparqlResult

from ..conftest import Gateway
from .conftest import Face

N_TRIPLES = 30
_loaded: dict[str, dict[str, Any]] = {}


def data(gateway: Gateway) -> dict[str, Any]:
    """Triples, graph and document embeddings, loaded once per gateway and readable."""
    if gateway.name in _loaded:
        return _loaded[gateway.name]
    run = uuid.uuid4().hex[:10]
    base = f"http://example.org/{run}"
    collection = f"c{run}"
    pred = f"{base}/p"
    triples = pd.DataFrame(
        {
            "s": [f"{base}/s{i}" for i in range(N_TRIPLES)],
            "p": [pred] * N_TRIPLES,
            "o": [f"value {i}" for i in range(N_TRIPLES)],
        }
    )
    api = tg_connect.Api(gateway.url, token=gateway.token)
    flow = api.flow().id("default")
    # Fixed texts, not run-unique ones (the collection isolates the run): with 16 word-hash
    # buckets, texts that differ only in a run id got the same vector for about 1% of run ids,
    # and the nearest neighbour was then the wrong one. These six words fall in six different
    # buckets of the 16-dimension embedder (and of 1,024), so each text is nearest to itself alone.
    texts = ["green apples", "ripe bananas", "sour cherries"]
    vectors = flow.embeddings(texts)
    pairs = ((0, 1), (0, 2), (1, 2))
    shared = [(i, j) for i, j in pairs if any(x and y for x, y in zip(vectors[i], vectors[j], strict=True))]
    assert shared == [], f"these texts share a bucket: {shared}"
    entities = pd.DataFrame({"entity": [f"{base}/e{i}" for i in range(3)], "vector": vectors})
    chunks = pd.DataFrame({"chunk_id": [f"urn:{run}:chunk:{i}" for i in range(3)], "vector": vectors})
    for df, kind in ((triples, "triples"), (entities, "graph-embeddings"), (chunks, "document-embeddings")):
        report = tg_connect.to_trustgraph(
            df, kind, url=gateway.url, token=gateway.token, collection=collection, progress=False
        )
        assert report.ok
    gateway.eventually(lambda: flow.triples_query(p=pred, collection=collection), lambda r: len(r) == N_TRIPLES)
    for query in (flow.graph_embeddings_query, flow.document_embeddings_query):
        gateway.eventually(
            lambda q=query: q(vector=vectors[0], collection=collection, limit=3),  # type: ignore[misc]
            lambda r: len(r) == 3,
        )
    api.close()
    _loaded[gateway.name] = d = {
        "run": run,
        "base": base,
        "pred": pred,
        "collection": collection,
        "triples": triples,
        "texts": texts,
        "vectors": vectors,
    }
    return d


def not_on_real(face: Face, fn: Callable[[], Any]) -> Any:
    """``fn()``; on the real deployment, which has no back end for it, the gateway's refusal."""
    if face.gateway.real:
        with pytest.raises(ServiceError, match="This kind not supported by flow"):
            fn()
        return None
    return fn()


def test_triples_query(face: Face) -> None:
    d = data(face.gateway)
    got = face.flow(lambda f: f.triples_query(p=d["pred"], collection=d["collection"]))
    assert isinstance(got, TripleList) and len(got) == N_TRIPLES
    assert {(t.s.value, t.o.value) for t in got} == set(zip(d["triples"]["s"], d["triples"]["o"], strict=True))
    assert all(t.p == Term.iri(d["pred"]) and t.o.kind == "literal" for t in got)
    table = got.to_arrow()
    assert isinstance(table, pa.Table) and table.num_rows == N_TRIPLES
    assert table.column_names[:4] == ["s", "s_type", "p", "p_type"]
    frame = got.to_pandas()
    assert set(frame["o"]) == set(d["triples"]["o"])
    one = face.flow(lambda f: f.triples_query(Term.iri(f"{d['base']}/s3"), d["pred"], collection=d["collection"]))
    assert [t.o.value for t in one] == ["value 3"]
    limited = face.flow(lambda f: f.triples_query(p=d["pred"], collection=d["collection"], limit=5))
    assert len(limited) == 5


def test_triples_query_streaming(face: Face) -> None:
    d = data(face.gateway)
    batches = face.flow(
        lambda f: f.triples_query(p=d["pred"], collection=d["collection"], streaming=True, batch_size=7)
    )
    assert all(isinstance(b, TripleList) for b in batches)
    assert [len(b) for b in batches] == ([7, 7, 7, 7, 2] if face.socket else [N_TRIPLES])
    assert {t.s.value for b in batches for t in b} == set(d["triples"]["s"])
    assert pa.concat_tables([b.to_arrow() for b in batches]).num_rows == N_TRIPLES


def test_triples_query_parameters_are_checked_before_sending(face: Face) -> None:
    for kwargs in ({"limit": 0}, {"limit": 2**40}, {"batch_size": -1}, {"collection": 5}, {"nope": 1}):
        with pytest.raises(InputError):
            face.flow(lambda f, kwargs=kwargs: f.triples_query(p="http://example.org/p", **kwargs))
    with pytest.raises(InputError, match="s must be"):
        face.flow(lambda f: f.triples_query(s=42))


def test_embeddings(face: Face) -> None:
    vectors = face.flow(lambda f: f.embeddings(["hello world", "hello world", "other words"]))
    # The real test deployment's word-hash embedder has 16 dimensions, the local one 1,024.
    dim = 16 if face.gateway.real else EMBEDDING_DIM
    assert len(vectors) == 3 and all(len(v) == dim for v in vectors)
    assert vectors[0] == vectors[1] != vectors[2]
    assert face.flow(lambda f: f.embeddings("hello world")) == [vectors[0]]
    with pytest.raises(InputError):
        face.flow(lambda f: f.embeddings([]))


def test_graph_embeddings_query(face: Face) -> None:
    d = data(face.gateway)
    found = face.flow(lambda f: f.graph_embeddings_query(d["texts"][1], collection=d["collection"], limit=3))
    assert found[0].entity == Term.iri(f"{d['base']}/e1") and found[0].score == pytest.approx(found[0].score)
    assert found[0].score >= max(m.score for m in found)
    by_vector = face.flow(lambda f: f.graph_embeddings_query(vector=d["vectors"][1], collection=d["collection"]))
    assert by_vector[0].entity == found[0].entity
    frame = found.to_pandas()
    assert list(frame.columns) == ["entity", "entity_type", "score", "rdf_type"] and len(frame) == 3
    assert frame["entity_type"].tolist() == ["iri"] * 3
    with pytest.raises(InputError, match="text .* or vector"):
        face.flow(lambda f: f.graph_embeddings_query())


def test_document_embeddings_query(face: Face) -> None:
    d = data(face.gateway)
    found = face.flow(lambda f: f.document_embeddings_query(d["texts"][2], collection=d["collection"], limit=3))
    assert found[0].chunk_id == f"urn:{d['run']}:chunk:2"
    assert found.to_arrow().column_names == ["chunk_id", "score"]
    empty = face.flow(lambda f: f.document_embeddings_query(vector=d["vectors"][0], collection=f"none{d['run']}"))
    assert len(empty) == 0 and empty.to_arrow().num_rows == 0


def test_reranker(face: Face) -> None:
    ranked = face.flow(lambda f: f.reranker("quick fox", ["a lazy cat", "the quick fox", "fox"]))
    assert ranked[0].document_id == "d1" and {r.document_id for r in ranked} == {"d0", "d1", "d2"}
    by_id = face.flow(lambda f: f.reranker("fox", {"x": "fox den", "y": "cat"}))
    assert by_id[0].document_id == "x" and by_id.to_pandas()["query_id"].tolist() == ["q0", "q0"]


def test_sparql_query(face: Face) -> None:
    d = data(face.gateway)
    query = f"SELECT ?s ?o WHERE {{ ?s <{d['pred']}> ?o }}"
    result = not_on_real(face, lambda: face.flow(lambda f: f.sparql_query(query, collection=d["collection"])))
    if result is None:
        return
    assert isinstance(result, SparqlResult) and result.query_type == "select"
    assert result.variables == ("s", "o") and len(result.bindings) == N_TRIPLES
    frame = result.to_pandas()
    assert set(frame["o"]) == set(d["triples"]["o"]) and set(frame["s_type"]) == {"iri"}
    batches = face.flow(lambda f: f.sparql_query(query, collection=d["collection"], streaming=True, batch_size=8))
    assert sum(len(b.bindings) for b in batches) == N_TRIPLES
    assert len(batches) == (4 if face.socket else 1)
    ask = face.flow(lambda f: f.sparql_query(f'ASK {{ ?s <{d["pred"]}> "value 3" }}', collection=d["collection"]))
    assert ask.query_type == "ask" and ask.ask_result is True
    built = face.flow(
        lambda f: f.sparql_query(
            f"CONSTRUCT {{ ?s <{d['pred']}> ?o }} WHERE {{ ?s <{d['pred']}> ?o }}", collection=d["collection"]
        )
    )
    assert built.query_type == "construct" and built.to_arrow().num_rows == N_TRIPLES
    with pytest.raises(ServiceError):
        face.flow(lambda f: f.sparql_query("SELECT nonsense", collection=d["collection"]))


@pytest.fixture
def people(gateway: Gateway, run_id: str) -> str:
    """Three rows of schema ``person`` in a fresh collection (the local gateway infers the schema)."""
    rows = pd.DataFrame(
        {"schema_name": ["person"] * 3, "name": ["Ada", "Grace", "Alan"], "city": ["London", "New York", "Manchester"]}
    )
    collection = f"rows{run_id}"
    report = tg_connect.to_trustgraph(
        rows, "rows", url=gateway.url, token=gateway.token, collection=collection, progress=False
    )
    assert report.ok
    return collection


def test_rows_nlp_and_structured_query(face: Face, people: str) -> None:
    result = not_on_real(face, lambda: face.flow(lambda f: f.rows_query("{ person { name city } }", collection=people)))
    if result is None:
        return
    assert sorted(result.to_pandas()["name"]) == ["Ada", "Alan", "Grace"] and not result.errors
    nlp = face.flow(lambda f: f.nlp_query("list every person"))
    assert "person" in nlp.graphql_query and "person" in nlp.detected_schemas
    answer = face.flow(lambda f: f.structured_query("list every person", collection=people))
    assert sorted(r["name"] for r in answer.data["person"]) == ["Ada", "Alan", "Grace"]


def test_structured_diag_and_row_embeddings(face: Face, people: str) -> None:
    diag = not_on_real(face, lambda: face.flow(lambda f: f.structured_diag("detect-type", "name,city\nAda,London\n")))
    if diag is None:
        return
    assert diag.operation == "detect-type" and diag.detected_type == "csv"
    matches = face.flow(lambda f: f.row_embeddings_query("New York", schema_name="person", collection=people))
    assert "New York" in matches[0].index_value and matches.to_arrow().num_rows == len(matches)
    with pytest.raises(InputError):
        face.flow(lambda f: f.structured_diag("guess", "x"))


def test_tools_and_scoring(face: Face, run_id: str) -> None:
    echoed = not_on_real(face, lambda: face.flow(lambda f: f.mcp_tool("echo", {"x": 1})))
    if echoed is None:
        return
    assert echoed.object == {"x": 1}
    with pytest.raises(ServiceError, match="missing-field"):  # an unreachable tool: the error is dropped
        face.flow(lambda f: f.mcp_tool("no-such-tool"))
    assert face.flow(lambda f: f.image_to_text(b"\x89PNG\r\n", "image/png", prompt="echo: a cat")) == "a cat"
    scores = face.flow(lambda f: f.decision_scoring({"text": "the fox jumps"}, {"q": "fox jumps", "r": "cat"}))
    assert scores.answers == {"q": 1.0, "r": 0.0}
    fields = face.flow(lambda f: f.field_extraction({"Name": "Ada"}, {"name": "string"}))
    assert fields.answers == {"name": "Ada"}


def test_cloze(face: Face, run_id: str) -> None:
    model = f"m{run_id}"
    face.call(lambda c: c.config().put([("cloze", model, '{"labels": ["red fruit", "green vegetable"]}')]))
    try:
        result = not_on_real(face, lambda: face.flow(lambda f: f.cloze("a ripe red apple", model=model)))
        if result is None:
            return
        assert result.label == "red fruit" and result.confidence == 0.5  # one of its two words
        listed = face.flow(lambda f: f.cloze(operation="list-models"))
        assert model in [m["name"] for m in listed.models]
        with pytest.raises(ServiceError, match="Unknown model"):
            face.flow(lambda f: f.cloze("x", model=f"none{run_id}"))
    finally:
        face.call(lambda c: c.config().delete([("cloze", model)]))
