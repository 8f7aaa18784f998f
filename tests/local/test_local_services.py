"""The local gateway's flow services over real sockets (REST and the mux), streaming and not:
model services, embeddings queries, graph-rag, document-rag, agent, sparql, rows and the
structured services, and the stand-ins, with the 2.11 frame shapes observed on the real
gateway (the one .ci/run starts; docs/real-gateway.md)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

import pytest

from tg_connect.local import LocalGateway
from tg_connect.local.standins.model import ECHO_REPLY, EMBEDDING_DIM, embed

from .helpers import TOKEN, Http, Mux, import_frames

EX = "http://example.org/"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RETRIEVAL = "urn:graph:retrieval"


def uid() -> str:
    return uuid.uuid4().hex[:8]


def iri(v: str) -> dict[str, Any]:
    return {"t": "i", "i": v}


def lit(v: str, **kw: str) -> dict[str, Any]:
    return {"t": "l", "v": v, **kw}


def call(
    local_gw: LocalGateway, service: str, request: Any, flow: str = "default", workspace: str | None = None
) -> list[dict[str, Any]]:
    """All frames of one flow request over the mux (responses only), checking the envelopes."""
    mux = Mux(local_gw.url, TOKEN)
    try:
        rid = "r-" + uid()
        frames = mux.request(rid, service, request, flow=flow, workspace=workspace)
    finally:
        mux.close()
    assert all(f["id"] == rid for f in frames)
    assert [f.get("complete") for f in frames[:-1]] == [False] * (len(frames) - 1)
    return [f["response"] if "response" in f else f for f in frames]


def rest(http: Http, service: str, body: Any, flow: str = "default") -> Any:
    status, reply = http.post(f"/api/v1/flow/{flow}/service/{service}", body)
    assert status == 200, reply
    return reply


def complete_flags(local_gw: LocalGateway, service: str, request: Any) -> list[bool]:
    mux = Mux(local_gw.url, TOKEN)
    try:
        return [f["complete"] for f in mux.request("c-" + uid(), service, request, flow="default")]
    finally:
        mux.close()


def create_collection(http: Http, name: str, workspace: str = "default") -> None:
    status, _ = http.post(
        "/api/v1/collection-management", {"operation": "update-collection", "collection": name, "workspace": workspace}
    )
    assert status == 200


PEOPLE = {"alice": "Alice Smith", "bob": "Bob Jones", "paris": "Paris"}


def people_triples() -> list[dict[str, Any]]:
    triples = [{"s": iri(EX + k), "p": iri(LABEL), "o": lit(v)} for k, v in PEOPLE.items()]
    return triples + [
        {"s": iri(EX + "alice"), "p": iri(EX + "knows"), "o": iri(EX + "bob")},
        {"s": iri(EX + "alice"), "p": iri(EX + "livesIn"), "o": iri(EX + "paris")},
        {"s": iri(EX + "knows"), "p": iri(LABEL), "o": lit("knows")},
        {"s": iri(EX + "livesIn"), "p": iri(LABEL), "o": lit("lives in")},
    ]


def load_people(local_gw: LocalGateway, collection: str) -> None:
    import_frames(
        local_gw.url,
        "triples",
        [{"metadata": {"id": "people", "collection": collection}, "triples": people_triples()}],
        TOKEN,
    )
    import_frames(
        local_gw.url,
        "graph-embeddings",
        [
            {
                "metadata": {"id": "people", "collection": collection},
                "entities": [{"entity": iri(EX + k), "vector": embed(v)} for k, v in PEOPLE.items()],
            }
        ],
        TOKEN,
    )


# -- text-completion -------------------------------------------------------------------------------


def test_text_completion(local_gw: LocalGateway, http: Http) -> None:
    frames = call(
        local_gw, "text-completion", {"system": "be brief", "prompt": "echo: hello  big\nworld", "streaming": True}
    )
    assert frames == [
        {"response": "hello", "model": "echo-test-1", "end_of_stream": False},
        {"response": "  big", "model": "echo-test-1", "end_of_stream": False},
        {"response": "\nworld", "model": "echo-test-1", "end_of_stream": False},
        {"response": "", "in_token": 6, "out_token": 3, "model": "echo-test-1", "end_of_stream": True},
    ]
    assert list(frames[-1]) == ["response", "in_token", "out_token", "model", "end_of_stream"]  # key order too
    assert call(local_gw, "text-completion", {"prompt": "echo: hello world", "system": "sys tem"}) == [
        {"response": "hello world", "in_token": 5, "out_token": 2, "model": "echo-test-1", "end_of_stream": True}
    ]
    assert call(local_gw, "text-completion", {"prompt": "anything"})[0]["response"] == ECHO_REPLY
    # A failing LLM: the 2.11 translator drops the error, streaming or not.
    for streaming in (False, True):
        assert call(local_gw, "text-completion", {"prompt": "fail: boom", "streaming": streaming}) == [
            {"response": None, "end_of_stream": True}
        ]
    assert call(local_gw, "text-completion", {"operation": "list-models"}) == [
        {
            "response": "",
            "end_of_stream": True,
            "models": [
                {"id": "echo-test-1", "name": "Echo test model", "owned_by": "tg-connect", "context_length": 4096}
            ],
        }
    ]
    # REST returns the last frame only: streaming loses the text.
    assert rest(http, "text-completion", {"prompt": "echo: a b", "streaming": True}) == {
        "response": "",
        "in_token": 3,
        "out_token": 2,
        "model": "echo-test-1",
        "end_of_stream": True,
    }
    assert rest(http, "text-completion", {"prompt": "echo: a b"})["response"] == "a b"


# -- prompt -----------------------------------------------------------------------------------------


def test_prompt_templates(local_gw: LocalGateway, http: Http) -> None:
    expected = {"text": "Hello World", "end_of_stream": True, "in_token": 8, "out_token": 2, "model": "echo-test-1"}
    assert call(local_gw, "prompt", {"id": "greet", "terms": {"name": '"World"'}}) == [expected]
    assert rest(http, "prompt", {"id": "greet", "variables": {"name": "World"}}) == expected
    assert call(local_gw, "prompt", {"id": "greet", "variables": {"name": "World"}, "streaming": True}) == [
        {"text": "Hello", "end_of_stream": False, "model": "echo-test-1"},
        {"text": " World", "end_of_stream": False, "model": "echo-test-1"},
        {"text": "", "end_of_stream": True, "in_token": 8, "out_token": 2, "model": "echo-test-1"},
    ]
    assert call(local_gw, "prompt", {"id": "greet", "variables": {}})[0]["text"] == "Hello"
    # A JSON template answers `object` (a JSON string); streamed, it is text chunks.
    assert call(local_gw, "prompt", {"id": "echo-json", "variables": {"name": "Ann"}}) == [
        {
            "object": '{"name": "Ann", "n": 3}',
            "end_of_stream": True,
            "in_token": 10,
            "out_token": 4,
            "model": "echo-test-1",
        }
    ]
    streamed = call(local_gw, "prompt", {"id": "echo-json", "variables": {"name": "Ann"}, "streaming": True})
    assert "".join(f["text"] for f in streamed) == '{"name": "Ann", "n": 3}' and "object" not in streamed[-1]
    assert (
        call(local_gw, "prompt", {"id": "document-prompt", "variables": {"documents": ["a", "b"], "query": "q"}})[0][
            "text"
        ]
        == "Based on: [a][b]"
    )
    react = call(local_gw, "prompt", {"id": "agent-react", "variables": {"question": "what?", "history": []}})[0]
    assert react["text"] == (
        'Thought: I should ask the knowledge graph\nAction: knowledge-query\nArgs: {"question": "what?"}'
    )
    # Errors are dropped: unknown template, a term that is not JSON, a failing LLM.
    assert call(local_gw, "prompt", {"id": "nope", "variables": {"name": "Ann"}}) == [{"end_of_stream": True}]
    assert call(local_gw, "prompt", {"id": "greet", "terms": {"name": "notjson"}}) == [{"end_of_stream": True}]
    assert call(local_gw, "prompt", {"id": "question", "variables": {"question": "fail: x"}, "streaming": True}) == [
        {"end_of_stream": True}
    ]
    # Templates are config: a new one (ibis syntax) and the system template are used at once.
    template = {
        "prompt": "echo: {% for p in people %}{{ p.name|upper }}{% if not loop.last %}, {% endif %}"
        "{% endfor %}{% if extra %} and {{extra}}{% else %}.{% endif %}",
        "response-type": "text",
    }
    http.post(
        "/api/v1/config",
        {
            "operation": "put",
            "values": [{"type": "prompt", "key": "template.people-test", "value": json.dumps(template)}],
        },
    )
    reply = call(local_gw, "prompt", {"id": "people-test", "variables": {"people": [{"name": "ann"}, {"name": "bo"}]}})
    assert reply[0]["text"] == "ANN, BO."
    jsonl = {"prompt": 'echo: {"a": 1}\n{"b": 2}\nnot json', "response-type": "jsonl"}
    http.post(
        "/api/v1/config",
        {"operation": "put", "values": [{"type": "prompt", "key": "template.lines-test", "value": json.dumps(jsonl)}]},
    )
    assert json.loads(call(local_gw, "prompt", {"id": "lines-test", "variables": {}})[0]["object"]) == [
        {"a": 1},
        {"b": 2},
    ]


def test_template_engine() -> None:
    from tg_connect.local.standins.templates import Template, TemplateError

    def render(src: str, **kw: Any) -> str:
        return Template(src).render(kw)

    assert render("a {{x}} b") == "a  b"
    assert render("a {{x}} b", x=None) == "a None b"
    assert render("{{x.y}}|{{x.0}}", x={"y": 3}) == "3|"
    assert render("{{x.1}}", x=["p", "q"]) == "q"
    assert render("{% for d in ds %}[{{d}}]{% endfor %}", ds=["a", "b"]) == "[a][b]"
    assert render("{% if h %}yes{% elif z == 1 %}z{% else %}no{% endif %}", h=[], z=1) == "z"
    assert render("{% if a and not b %}ok{% endif %}{% if 'x' in s %}!{% endif %}", a=1, b=0, s="xy") == "ok!"
    assert render("{{ xs|join(', ') }} {{ xs|length }} {{ n|default('none') }}", xs=["a", "b"]) == "a, b 2 none"
    assert render("{# note #}{{ v|json }}", v={"k": [1]}) == '{"k": [1]}'
    for bad in ("{% if x %}", "{% for %}{% endfor %}", "{{ x|nosuch }}", "{% wat %}"):
        with pytest.raises(TemplateError):
            Template(bad)


# -- embeddings and vector queries -------------------------------------------------------------------


def deployment_hash_embed(text: str, dim: int) -> list[float]:
    """The real test deployment's embedder (``hash_embeddings.py``), written out again here so
    the local one is checked against the formula, not against itself."""
    vec = [0.0] * dim
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vec[int(hashlib.sha256(word.encode("utf-8")).hexdigest()[:8], 16) % dim] += 1.0
    return vec


def test_embeddings(local_gw: LocalGateway, http: Http) -> None:
    # The formula gives the vectors the real deployment (16 dimensions) answers, exactly ...
    alice16, hello16 = [0.0] * 9 + [1.0] + [0.0] * 5 + [1.0], [0.0] * 10 + [1.0] + [0.0] * 5
    assert [deployment_hash_embed(t, 16) for t in ("Alice Smith", "hello")] == [alice16, hello16]
    assert [embed(t, 16) for t in ("Alice Smith", "hello")] == [alice16, hello16]
    # ... and the local gateway answers it with EMBEDDING_DIM (1,024) buckets, exactly.
    reply = call(local_gw, "embeddings", {"texts": ["Alice Smith", "hello", "Hello, hello!"]})
    alice, hello = deployment_hash_embed("Alice Smith", EMBEDDING_DIM), deployment_hash_embed("hello", EMBEDDING_DIM)
    assert reply == [{"vectors": [alice, hello, [2.0 * x for x in hello]]}]
    assert len(alice) == EMBEDDING_DIM == 1024 and sum(alice) == 2.0 and sorted(set(alice)) == [0.0, 1.0]
    assert rest(http, "embeddings", {"texts": []}) == {"vectors": []}
    assert rest(http, "embeddings", {}) == {"error": {"type": "gateway-error", "message": "'texts'"}}
    assert rest(http, "embeddings", {"texts": "not a list"}) == {"vectors": []}


def test_graph_and_document_embeddings_queries(local_gw: LocalGateway, http: Http) -> None:
    coll = "vec-" + uid()
    load_people(local_gw, coll)
    import_frames(
        local_gw.url,
        "graph-embeddings",
        [
            {
                "metadata": {"id": "odd", "collection": coll},
                "entities": [
                    {"entity": lit("three dims"), "vector": [1.0, 0.0, 0.0]},
                    {"entity": iri(EX + "alice"), "vector": embed("Alice")},
                ],
            }
        ],
        TOKEN,
    )  # a second, better vector
    reply = call(local_gw, "graph-embeddings", {"vector": embed("alice"), "collection": coll, "limit": 2})[0]
    assert [e["entity"] for e in reply["entities"]] == [iri(EX + "alice"), iri(EX + "bob")]
    assert reply["entities"][0]["score"] == pytest.approx(1.0)
    assert list(reply["entities"][0]) == ["entity", "score"] and list(reply["entities"][0]["entity"]) == ["t", "i"]
    three = rest(http, "graph-embeddings", {"vector": [2.0, 0.0, 0.0], "collection": coll})
    assert three == {"entities": [{"entity": lit("three dims"), "score": 1.0}]}  # same dimension only
    assert rest(http, "graph-embeddings", {"vector": embed("x"), "collection": "nope-" + uid()}) == {"entities": []}
    assert rest(http, "graph-embeddings", {"vector": embed("alice"), "collection": coll, "rdf_type": EX + "T"}) == {
        "entities": []
    }
    assert rest(http, "graph-embeddings", {"collection": coll}) == {
        "error": {"type": "gateway-error", "message": "'vector'"}
    }
    import_frames(
        local_gw.url,
        "document-embeddings",
        [
            {
                "metadata": {"id": "d", "collection": coll},
                "chunks": [
                    {"chunk_id": "urn:c:1", "vector": embed("Alice lives in Paris"), "attributes": {"lang": "en"}},
                    {"chunk_id": "urn:c:2", "vector": embed("Bob likes cheese")},
                ],
            }
        ],
        TOKEN,
    )
    chunks = rest(http, "document-embeddings", {"vector": embed("cheese"), "collection": coll, "limit": 5})["chunks"]
    assert [c["chunk_id"] for c in chunks] == ["urn:c:2", "urn:c:1"]
    assert chunks[1] == {"chunk_id": "urn:c:1", "score": 0.0, "attributes": {"lang": "en"}}
    filtered = rest(
        http, "document-embeddings", {"vector": embed("cheese"), "collection": coll, "attributes": {"lang": "en"}}
    )
    assert [c["chunk_id"] for c in filtered["chunks"]] == ["urn:c:1"]


# -- graph-rag ------------------------------------------------------------------------------------------


def test_graph_rag(local_gw: LocalGateway, http: Http) -> None:
    coll = "rag-" + uid()
    create_collection(http, coll)
    load_people(local_gw, coll)
    request = {"query": "Who does Alice know?", "collection": coll}
    frames = call(local_gw, "graph-rag", {**request, "streaming": True})
    kinds = [f["message_type"] for f in frames]
    assert kinds[:4] == ["explain"] * 4 and kinds[-2:] == ["explain", "chunk"]
    ids = [f["explain_id"] for f in frames if f["message_type"] == "explain"]
    session = ids[0][len("urn:trustgraph:question:") :]
    assert ids == [
        f"urn:trustgraph:question:{session}",
        f"urn:trustgraph:prov:grounding:{session}",
        f"urn:trustgraph:prov:exploration:{session}",
        f"urn:trustgraph:prov:focus:{session}",
        f"urn:trustgraph:prov:synthesis:{session}",
    ]
    for f in frames[:4]:
        assert list(f) == [
            "message_type",
            "response",
            "explain_id",
            "explain_graph",
            "explain_triples",
            "end_of_stream",
            "end_of_session",
        ]
        assert f["response"] == "" and f["explain_graph"] == RETRIEVAL
        assert all(t["g"] == RETRIEVAL for t in f["explain_triples"])
    chunks = frames[4:-2]
    assert chunks[-1] == {"message_type": "chunk", "response": "", "end_of_stream": True, "end_of_session": False}
    assert all(c["end_of_stream"] is False and c["response"] for c in chunks[:-1])
    answer = "".join(c["response"] for c in chunks)
    assert answer == "Alice Smith lives in Paris.\nAlice Smith knows Bob Jones."
    final = frames[-1]
    assert final == {
        "message_type": "chunk",
        "response": "",
        "end_of_stream": False,
        "end_of_session": True,
        "in_token": final["in_token"],
        "out_token": final["out_token"],
        "model": "echo-test-1",
    }
    assert final["in_token"] > 0 and final["out_token"] > 0
    # The explain frames describe the retrieval: the concept, the seeds, the selected edges.
    grounding = {(t["p"]["i"], t["o"].get("v")) for t in frames[1]["explain_triples"]}
    assert ("https://trustgraph.ai/ns/concept", "Who does Alice know?") in grounding
    exploration = [t["o"] for t in frames[2]["explain_triples"] if t["p"]["i"] == "https://trustgraph.ai/ns/entity"]
    assert iri(EX + "alice") in exploration
    edges = [t["o"]["tr"] for t in frames[3]["explain_triples"] if t["p"]["i"] == "https://trustgraph.ai/ns/edge"]
    assert {"s": iri(EX + "alice"), "p": iri(EX + "knows"), "o": iri(EX + "bob")} in edges
    # Not streaming: the explain frames, then one frame with the whole answer; REST: that frame.
    frames = call(local_gw, "graph-rag", request)
    assert [f["message_type"] for f in frames] == ["explain"] * 5 + ["chunk"]
    assert frames[-1]["response"] == answer and frames[-1]["end_of_stream"] is True
    assert rest(http, "graph-rag", request)["response"] == answer
    assert rest(http, "graph-rag", {**request, "streaming": True})["response"] == ""
    # Explainability went to the collection's retrieval graph; the answer to the librarian.
    found = rest(
        http, "triples", {"collection": coll, "g": RETRIEVAL, "p": iri("https://trustgraph.ai/ns/query"), "limit": 100}
    )["response"]
    assert {
        "s": iri(f"urn:trustgraph:question:{session}"),
        "p": iri("https://trustgraph.ai/ns/query"),
        "o": lit("Who does Alice know?"),
        "g": RETRIEVAL,
    } in found
    assert rest(http, "triples", {"collection": coll, "s": iri(EX + "alice"), "limit": 10})["response"]
    docs = http.post("/api/v1/librarian", {"operation": "list-documents", "include-children": True})[1]
    assert any(
        d["id"] == f"urn:trustgraph:synthesis:{session}" and d["document-type"] == "answer"
        for d in docs["document-metadatas"]
    )
    hidden = http.post("/api/v1/librarian", {"operation": "list-documents"})[1]["document-metadatas"]
    assert all(d.get("document-type") != "answer" for d in hidden)
    # Seeds given directly; an empty graph; errors.
    seeded = {"query": "x", "collection": coll, "graph-seeds": [EX + "paris"]}
    assert rest(http, "graph-rag", {**seeded, "max-path-length": 1})["response"] == "Alice Smith lives in Paris."
    assert rest(http, "graph-rag", seeded)["response"] == answer  # two hops: Paris, then Alice
    empty = rest(http, "graph-rag", {"query": "Who is Zed?", "collection": "none-" + uid()})
    assert empty["response"] == "Nothing is known about: Who is Zed?"
    assert rest(http, "graph-rag", {"collection": coll}) == {"error": {"type": "gateway-error", "message": "'query'"}}
    both = call(
        local_gw, "graph-rag", {"query": "q", "collection": coll, "grounding-seeds": ["a"], "graph-seeds": [EX + "a"]}
    )
    assert both[-1] == {
        "message_type": "chunk",
        "response": "",
        "end_of_stream": True,
        "end_of_session": True,
        "error": {"message": "grounding_seeds and graph_seeds are mutually exclusive", "type": "graph-rag-error"},
    }


def test_graph_rag_sources(local_gw: LocalGateway, http: Http) -> None:
    coll = "src-" + uid()
    edge = {"s": iri(EX + "alice"), "p": iri(EX + "knows"), "o": iri(EX + "bob")}
    source = "urn:graph:source"
    provenance = [
        {
            "s": iri("urn:subgraph:1"),
            "p": iri("https://trustgraph.ai/ns/contains"),
            "o": {"t": "t", "tr": edge},
            "g": source,
        },
        {
            "s": iri("urn:subgraph:1"),
            "p": iri("http://www.w3.org/ns/prov#wasDerivedFrom"),
            "o": iri("urn:chunk:1"),
            "g": source,
        },
        {
            "s": iri("urn:chunk:1"),
            "p": iri("http://www.w3.org/ns/prov#wasDerivedFrom"),
            "o": iri("urn:doc:1"),
            "g": source,
        },
        {"s": iri("urn:doc:1"), "p": iri("http://purl.org/dc/elements/1.1/title"), "o": lit("The Doc")},
    ]
    import_frames(
        local_gw.url,
        "triples",
        [{"metadata": {"id": "s", "collection": coll}, "triples": people_triples() + provenance}],
        TOKEN,
    )
    reply = rest(http, "graph-rag", {"query": "Who does Alice know?", "collection": coll})
    assert reply["sources"] == [{"uri": "urn:doc:1", "title": "The Doc"}]
    assert "urn:doc:1 http://purl.org/dc/elements/1.1/title The Doc." in reply["response"]
    assert list(reply)[:3] == ["message_type", "response", "sources"]


# -- document-rag ---------------------------------------------------------------------------------------


def add_text_document(http: Http, doc_id: str, text: str, **meta: Any) -> dict[str, Any]:
    import base64

    status, reply = http.post(
        "/api/v1/librarian",
        {
            "operation": "add-document",
            "document-metadata": {"id": doc_id, "kind": "text/plain", "title": meta.pop("title", doc_id), **meta},
            "content": base64.b64encode(text.encode()).decode(),
        },
    )
    assert status == 200
    return reply  # type: ignore[no-any-return]


def test_document_rag(local_gw: LocalGateway, http: Http) -> None:
    coll = "docs-" + uid()
    create_collection(http, coll)
    texts = {f"urn:chunk:{uid()}": text for text in ("Alice lives in Paris", "Bob likes cheese")}
    for chunk_id, text in texts.items():
        add_text_document(http, chunk_id, text)
    chunks = [{"chunk_id": c, "vector": embed(t)} for c, t in texts.items()]
    chunks.append({"chunk_id": "urn:chunk:not-in-librarian", "vector": embed("Alice Paris")})
    import_frames(
        local_gw.url, "document-embeddings", [{"metadata": {"id": "d", "collection": coll}, "chunks": chunks}], TOKEN
    )
    request = {"query": "Where does Alice live?", "collection": coll, "doc-limit": 1}
    frames = call(local_gw, "document-rag", {**request, "streaming": True})
    explains = [f for f in frames if f.get("message_type") == "explain"]
    assert [e["explain_id"].rsplit("/", 1)[-1] for e in explains[1:]] == [
        "grounding",
        "exploration",
        "focus",
        "synthesis",
    ]
    assert all("response" not in e for e in explains)
    exploration = explains[2]["explain_triples"]
    count = [t["o"]["v"] for t in exploration if t["p"]["i"] == "https://trustgraph.ai/ns/chunkCount"]
    assert count == ["2"]  # the chunk the librarian does not have is dropped
    chunk_frames = [f for f in frames if f.get("message_type") == "chunk"]
    answer = "".join(f["response"] for f in chunk_frames)
    assert answer == "Based on: [Alice lives in Paris]"
    assert chunk_frames[-1] == {"message_type": "chunk", "response": "", "end_of_stream": True, "end_of_session": False}
    final = frames[-1]
    assert final["message_type"] == "end" and final["end_of_session"] is True and "response" not in final
    assert list(final) == ["message_type", "end_of_stream", "end_of_session", "in_token", "out_token", "model"]
    plain = rest(http, "document-rag", request)
    assert plain == {
        "response": answer,
        "end_of_stream": True,
        "end_of_session": True,
        "in_token": plain["in_token"],
        "out_token": plain["out_token"],
        "model": "echo-test-1",
    }
    nothing = rest(http, "document-rag", {"query": "q", "collection": "nope-" + uid()})
    assert nothing["response"] == "Based on:"
    assert rest(http, "document-rag", {"collection": coll}) == {
        "error": {"type": "gateway-error", "message": "'query'"}
    }


# -- agent --------------------------------------------------------------------------------------------------


def test_agent(local_gw: LocalGateway, http: Http) -> None:
    load_people(local_gw, "default")  # the seeded knowledge-query tool reads collection "default"
    expected = rest(http, "graph-rag", {"query": "Who is Alice Smith?"})["response"]
    assert "Alice Smith knows Bob Jones." in expected
    frames = call(local_gw, "agent", {"question": "Who is Alice Smith?", "streaming": True})
    kinds = [f["message_type"] for f in frames]
    assert kinds[0] == "explain" and kinds[-2:] == ["explain", "answer"]
    thoughts = [f for f in frames if f["message_type"] == "thought"]
    first = [t for t in thoughts if t["message_id"].endswith("/i1/thought")]
    assert "".join(t["content"] for t in first) == "I should ask the knowledge graph"
    assert [t["end_of_message"] for t in first] == [False] * (len(first) - 1) + [True]
    [observation] = [f for f in frames if f["message_type"] == "observation"]
    assert observation["content"] == expected and observation["end_of_message"] is True
    assert observation["message_id"].endswith("/i1/observation")
    answers = [f for f in frames if f["message_type"] == "answer"]
    assert "".join(a.get("content", "") for a in answers) == expected
    assert answers[-1] == {
        "message_type": "answer",
        "end_of_message": True,
        "end_of_dialog": True,
        "message_id": answers[-1]["message_id"],
    }
    assert all(f["end_of_dialog"] is False for f in frames[:-1])
    explain = [f for f in frames if f["message_type"] == "explain"]
    assert list(explain[0]) == [
        "message_type",
        "end_of_message",
        "end_of_dialog",
        "explain_id",
        "explain_graph",
        "explain_triples",
    ]
    assert [e["explain_id"].split("/", 1)[-1] if "/" in e["explain_id"] else "" for e in explain] == [
        "",
        "i1",
        "i1/observation",
        "final",
    ]
    # Not streaming: one frame per step, the last carries the whole answer; REST returns it.
    frames = call(local_gw, "agent", {"question": "Who is Alice Smith?"})
    assert [f["message_type"] for f in frames] == [
        "explain",
        "thought",
        "explain",
        "observation",
        "explain",
        "thought",
        "explain",
        "answer",
    ]
    assert frames[-1]["content"] == expected and frames[-1]["end_of_dialog"] is True
    reply = rest(http, "agent", {"question": "Who is Alice Smith?"})
    assert reply["message_type"] == "answer" and reply["content"] == expected
    assert rest(http, "agent", {"streaming": True}) == {"error": {"type": "gateway-error", "message": "'question'"}}
    # A reply the agent cannot parse: the 2.11 translator's own failure.
    from tg_connect.local.standins.templates import seed_prompts

    seeded = {key: value for _t, key, value in seed_prompts()}["template.agent-react"]
    bad = {"prompt": "echo: Thought: x\nAction: knowledge-query\nArgs: {not json", "response-type": "text"}
    http.post(
        "/api/v1/config",
        {
            "operation": "put",
            "workspace": "other",
            "values": [{"type": "prompt", "key": "template.agent-react", "value": json.dumps(bad)}],
        },
    )
    try:
        assert call(local_gw, "agent", {"question": "q"}, workspace="other")[-1] == {
            "error": {"type": "gateway-error", "message": "'Error' object has no attribute 'code'"}
        }
    finally:
        http.post(
            "/api/v1/config",
            {
                "operation": "put",
                "workspace": "other",
                "values": [{"type": "prompt", "key": "template.agent-react", "value": seeded}],
            },
        )


# -- sparql ------------------------------------------------------------------------------------------------


def test_sparql(local_gw: LocalGateway, http: Http) -> None:
    coll = "sparql-" + uid()
    odd = {"s": iri(EX + "n"), "p": iri(EX + "value"), "o": lit("042", dt="http://www.w3.org/2001/XMLSchema#integer")}
    import_frames(
        local_gw.url,
        "triples",
        [{"metadata": {"id": "d", "collection": coll}, "triples": people_triples() + [odd]}],
        TOKEN,
    )
    select = f"SELECT ?s ?name ?none WHERE {{ ?s <{LABEL}> ?name }} ORDER BY ?name"
    reply = rest(http, "sparql", {"query": select, "collection": coll})
    assert list(reply) == ["query-type", "variables", "bindings"]
    assert reply["query-type"] == "select" and reply["variables"] == ["s", "name", "none"]
    assert reply["bindings"][0] == {"values": [iri(EX + "alice"), lit("Alice Smith"), None]}
    assert len(reply["bindings"]) == 5
    assert len(rest(http, "sparql", {"query": select, "collection": coll, "limit": 2})["bindings"]) == 2
    # The exact term comes back (oxigraph would say "42").
    value = rest(http, "sparql", {"query": f"SELECT ?v WHERE {{ <{EX}n> <{EX}value> ?v }}", "collection": coll})
    assert value["bindings"] == [{"values": [odd["o"]]}]
    # Streaming: a frame per batch-size bindings, then always a final one (possibly empty).
    frames = call(local_gw, "sparql", {"query": select, "collection": coll, "streaming": True, "batch-size": 5})
    assert [len(f["bindings"]) for f in frames] == [5, 0]
    assert complete_flags(
        local_gw, "sparql", {"query": select, "collection": coll, "streaming": True, "batch-size": 2}
    ) == [False, False, True]
    assert rest(http, "sparql", {"query": "ASK { ?s ?p ?o }", "collection": coll}) == {
        "query-type": "ask",
        "ask-result": True,
    }
    construct = rest(
        http, "sparql", {"query": f"CONSTRUCT {{ ?s <{EX}named> ?n }} WHERE {{ ?s <{LABEL}> ?n }}", "collection": coll}
    )
    assert construct["query-type"] == "construct" and len(construct["triples"]) == 5
    assert {"s": iri(EX + "bob"), "p": iri(EX + "named"), "o": lit("Bob Jones")} in construct["triples"]
    describe = rest(http, "sparql", {"query": f"DESCRIBE <{EX}bob>", "collection": coll})
    assert describe == {
        "query-type": "describe",
        "triples": [{"s": iri(EX + "bob"), "p": iri(LABEL), "o": lit("Bob Jones")}],
    }
    error = rest(http, "sparql", {"query": "SELEC nonsense", "collection": coll})
    assert error["query-type"] == "" and error["error"]["type"] == "sparql-parse-error"
    assert (
        rest(http, "sparql", {"query": "INSERT DATA { <a:b> <a:c> <a:d> }", "collection": coll})["error"]["type"]
        == "sparql-parse-error"
    )
    assert rest(http, "sparql", {"query": "SELECT ?x WHERE { ?x ?p ?o }", "collection": "nope-" + uid()}) == {
        "query-type": "select",
        "variables": ["x"],
        "bindings": [],
    }


# -- rows, nlp-query, structured-query, row-embeddings, structured-diag ----------------------------------------


def load_rows(local_gw: LocalGateway, http: Http, coll: str) -> None:
    schema = {
        "name": "person",
        "description": "People",
        "fields": [
            {"name": "name", "type": "string", "primary_key": True},
            {"name": "age", "type": "integer"},
            {"name": "city", "type": "string", "indexed": True},
        ],
    }
    http.post(
        "/api/v1/config",
        {"operation": "put", "values": [{"type": "schema", "key": "person", "value": json.dumps(schema)}]},
    )
    people = [
        {"name": "Ada", "age": "36", "city": "London"},
        {"name": "Alan", "age": "41", "city": "Wilmslow"},
        {"name": "Grace", "age": "85", "city": "Arlington"},
    ]
    import_frames(
        local_gw.url,
        "rows",
        [
            {"metadata": {"id": "r", "collection": coll}, "schema_name": "person", "values": people},
            {
                "metadata": {"id": "r", "collection": coll},
                "schema_name": "city_facts",
                "values": [{"city": "London", "river": "Thames"}],
            },
        ],
        TOKEN,
    )


def test_rows_graphql(local_gw: LocalGateway, http: Http) -> None:
    coll = "rows-" + uid()
    load_rows(local_gw, http, coll)
    reply = rest(http, "rows", {"query": "{ person { name age } }", "collection": coll})
    assert reply == {
        "data": {"person": [{"name": "Ada", "age": 36}, {"name": "Alan", "age": 41}, {"name": "Grace", "age": 85}]}
    }
    query = (
        'query Q($min: Int) { person(where: {age: {gt: $min}}, order_by: "age", direction: DESC, limit: 1) { name } }'
    )
    assert call(local_gw, "rows", {"query": query, "variables": {"min": 40}, "collection": coll}) == [
        {"data": {"person": [{"name": "Grace"}]}}
    ]
    eq = rest(http, "rows", {"query": '{ person(where: {name: {eq: "Ada"}}) { city } }', "collection": coll})
    assert eq == {"data": {"person": [{"city": "London"}]}}
    starts = rest(
        http,
        "rows",
        {"query": '{ person(where: {name: {startsWith: "A"}, city: {in: ["London"]}}) { name } }', "collection": coll},
    )
    assert starts["data"] == {"person": [{"name": "Ada"}]}
    # A schema with no config entry is inferred from the rows (strings).
    assert rest(http, "rows", {"query": "{ city_facts { river } }", "collection": coll}) == {
        "data": {"city_facts": [{"river": "Thames"}]}
    }
    # GraphQL errors come back in `errors`; another collection has no rows.
    bad = rest(http, "rows", {"query": "{ person { nosuch } }", "collection": coll})
    assert bad["data"] is None and "Cannot query field 'nosuch'" in bad["errors"][0]["message"]
    assert rest(http, "rows", {"query": "{ person { name } }", "collection": "nope-" + uid()}) == {
        "data": {"person": []}
    }
    assert rest(http, "rows", {"query": "{ x }", "workspace": "other"}) == {
        "data": None,
        "error": {
            "type": "rows-query-error",
            "message": "No GraphQL schema available for workspace other - no schemas loaded",
        },
    }


def test_nlp_and_structured_query(local_gw: LocalGateway, http: Http) -> None:
    coll = "sq-" + uid()
    load_rows(local_gw, http, coll)
    nlp = rest(http, "nlp-query", {"question": "List every person", "max_results": 5})
    assert nlp == {
        "graphql_query": "query { person(limit: 5) { name age city } }",
        "variables": {},
        "detected_schemas": ["person"],
        "confidence": 0.9,
    }
    none = rest(http, "nlp-query", {"question": "What is the weather?"})
    assert none["graphql_query"] == "" and none["error"]["type"] == "nlp-query-error"
    reply = call(local_gw, "structured-query", {"question": "Show all persons", "collection": coll})
    assert reply == [
        {
            "data": {
                "person": [
                    {"name": "Ada", "age": 36, "city": "London"},
                    {"name": "Alan", "age": 41, "city": "Wilmslow"},
                    {"name": "Grace", "age": 85, "city": "Arlington"},
                ]
            },
            "errors": [],
        }
    ]
    failed = rest(http, "structured-query", {"question": "weather?", "collection": coll})
    assert failed["data"] is None and failed["errors"] == [] and failed["error"]["type"] == "structured-query-error"


def test_row_embeddings(local_gw: LocalGateway, http: Http) -> None:
    coll = "re-" + uid()
    load_rows(local_gw, http, coll)
    reply = rest(
        http, "row-embeddings", {"vector": embed("London"), "collection": coll, "schema_name": "person", "limit": 2}
    )
    assert reply["matches"][0] == {"index_name": "city", "index_value": ["London"], "text": "London", "score": 1.0}
    assert len(reply["matches"]) == 2
    only = rest(http, "row-embeddings", {"vector": embed("Ada"), "collection": coll, "index_name": "name"})
    assert {m["index_name"] for m in only["matches"]} == {"name"} and only["matches"][0]["text"] == "Ada"
    assert rest(http, "row-embeddings", {"vector": [1.0, 2.0], "collection": coll}) == {"matches": []}
    assert rest(http, "row-embeddings", {"collection": coll})["error"] == {
        "type": "gateway-error",
        "message": "'vector'",
    }


def test_structured_diag(local_gw: LocalGateway, http: Http) -> None:
    coll = "diag-" + uid()
    load_rows(local_gw, http, coll)
    sample = "name,age,city\nAda,36,London\nAlan,41,Wilmslow\n"
    detected = rest(http, "structured-diag", {"operation": "detect-type", "sample": sample})
    assert detected["detected-type"] == "csv" and detected["confidence"] == 0.8
    assert json.loads(detected["metadata"]["csv_options"]) == {
        "delimiter": ",",
        "has_header": True,
        "encoding": "utf-8",
    }
    assert rest(http, "structured-diag", {"operation": "detect-type", "sample": '[{"a": 1}]'}) == {
        "operation": "detect-type",
        "detected-type": "json",
        "confidence": 0.9,
    }
    descriptor = rest(
        http,
        "structured-diag",
        {"operation": "generate-descriptor", "sample": sample, "type": "csv", "schema-name": "person"},
    )
    assert [m["target_field"] for m in descriptor["descriptor"]["mappings"]] == ["name", "age", "city"]
    assert descriptor["metadata"] == {"schema_name": "person", "type": "csv"}
    diagnosed = rest(http, "structured-diag", {"operation": "diagnose", "sample": sample, "schema-name": "person"})
    assert diagnosed["detected-type"] == "csv" and diagnosed["descriptor"]["output"]["schema_name"] == "person"
    selection = rest(http, "structured-diag", {"operation": "schema-selection", "sample": sample})
    assert selection["schema-matches"][0] == "person"
    # Errors are dropped by the 2.11 translator.
    assert rest(http, "structured-diag", {"operation": "nonsense", "sample": "x"}) == {
        "operation": "nonsense",
        "confidence": 0.0,
    }
    assert rest(
        http,
        "structured-diag",
        {"operation": "generate-descriptor", "sample": sample, "type": "csv", "schema-name": "nosuch"},
    ) == {"operation": "generate-descriptor", "confidence": 0.0}
    assert rest(http, "structured-diag", {"operation": "detect-type"})["error"] == {
        "type": "gateway-error",
        "message": "'sample'",
    }


# -- reranker, image-to-text and the stand-ins -------------------------------------------------------------------


def test_reranker(local_gw: LocalGateway, http: Http) -> None:
    request = {
        "queries": [{"query_id": "q", "query_text": "red apple"}],
        "documents": [
            {"document_id": "d1", "document_text": "a green pear"},
            {"document_id": "d2", "document_text": "the red apple"},
            {"document_id": "d3", "document_text": "red car"},
        ],
        "limit": 2,
    }
    assert call(local_gw, "reranker", request) == [
        {
            "results": [
                {"document_id": "d2", "query_id": "q", "score": 1.001},
                {"document_id": "d3", "query_id": "q", "score": 0.501},
            ]
        }
    ]
    assert len(rest(http, "reranker", {**request, "limit": 0})["results"]) == 3
    assert rest(http, "reranker", {"queries": [{"query_id": "q"}]}) == {
        "error": {"type": "gateway-error", "message": "'query_text'"}
    }


def test_image_to_text(local_gw: LocalGateway, http: Http) -> None:
    import base64

    image = base64.b64encode(b"\x89PNG fake").decode()
    assert rest(http, "image-to-text", {"image": image, "mime_type": "image/png", "prompt": "echo: a cat"}) == {
        "description": "a cat",
        "in_token": 3,
        "out_token": 2,
        "model": "echo-test-1",
    }
    assert rest(http, "image-to-text", {"image": image, "mime_type": "image/png", "prompt": "fail: x"}) == {
        "description": ""
    }
    assert rest(http, "image-to-text", {"image": image})["error"] == {"type": "gateway-error", "message": "'mime_type'"}
    assert (
        rest(http, "image-to-text", {"image": "not base64!", "mime_type": "image/png"})["error"]["type"]
        == "gateway-error"
    )


def test_standins(local_gw: LocalGateway, http: Http) -> None:
    assert rest(http, "mcp-tool", {"name": "echo", "parameters": {"a": 1}}) == {"object": {"a": 1}}
    assert rest(http, "mcp-tool", {"name": "echo", "parameters": "hi"}) == {"text": "hi"}
    assert rest(http, "mcp-tool", {"name": "weather", "parameters": {}}) == {}
    http.post(
        "/api/v1/config",
        {
            "operation": "put",
            "values": [
                {"type": "cloze", "key": "sentiment", "value": json.dumps({"labels": ["good news", "bad news"]})}
            ],
        },
    )
    assert rest(http, "cloze", {"model": "sentiment", "query": "this is bad"}) == {
        "label": "bad news",
        "confidence": 0.5,
    }
    models = rest(http, "cloze", {"operation": "list-models"})["models"]
    assert {
        "name": "sentiment",
        "state": "ready",
        "labels": ["good news", "bad news"],
        "accuracy": None,
        "train_size": None,
        "test_size": None,
    } in models
    assert rest(http, "cloze", {"model": "nosuch", "query": "x"}) == {
        "label": "",
        "confidence": 0.0,
        "error": {"type": "cloze-error", "message": "Unknown model: nosuch"},
    }
    scored = rest(
        http,
        "decision-scoring",
        {"state": {"note": "the customer is angry"}, "questions": {"happy": "Is the customer happy?", "x": "zebra"}},
    )
    assert scored == {"answers": {"happy": 0.75, "x": 0.0}, "model": "word-overlap"}
    extracted = rest(
        http, "field-extraction", {"state": {"Name": "Ada", "age": 36}, "fields": {"name": "", "age": "", "zip": ""}}
    )
    assert extracted == {"answers": {"name": "Ada", "age": 36, "zip": ""}, "model": "state-lookup"}


SERVICE_REQUESTS: dict[str, dict[str, Any]] = {
    "agent": {"question": "Who?"},
    "text-completion": {"prompt": "echo: hi"},
    "prompt": {"id": "question", "variables": {"question": "echo: hi"}},
    "mcp-tool": {"name": "echo", "parameters": {"x": 1}},
    "graph-rag": {"query": "Who?"},
    "document-rag": {"query": "Who?"},
    "embeddings": {"texts": ["a"]},
    "graph-embeddings": {"vector": embed("a")},
    "document-embeddings": {"vector": embed("a")},
    "triples": {"limit": 1},
    "rows": {"query": "{ x }"},
    "nlp-query": {"question": "q"},
    "structured-query": {"question": "q"},
    "structured-diag": {"operation": "detect-type", "sample": "a,b\n1,2"},
    "row-embeddings": {"vector": embed("a")},
    "sparql": {"query": "ASK {}"},
    "reranker": {"queries": [], "documents": []},
    "image-to-text": {"image": "", "mime_type": "image/png"},
    "cloze": {"operation": "list-models"},
    "decision-scoring": {"state": {}, "questions": {}},
    "field-extraction": {"state": {}, "fields": {}},
}


def test_every_flow_service_answers(local_gw: LocalGateway, http: Http) -> None:
    from tg_connect.protocol.registry import FLOW_SERVICES

    assert set(SERVICE_REQUESTS) == set(FLOW_SERVICES) and len(FLOW_SERVICES) == 21
    mux = Mux(local_gw.url, TOKEN)
    try:
        for kind, request in SERVICE_REQUESTS.items():
            frames = mux.request("all-" + kind, kind, request, flow="default", workspace="other")
            assert frames[-1]["complete"] is True, kind
            assert "error" not in frames[-1] and "gateway-error" not in json.dumps(frames), (kind, frames)
            last = rest(http, kind, {**request, "workspace": "other"})
            assert last == frames[-1]["response"] or kind in ("agent", "graph-rag", "document-rag"), kind
    finally:
        mux.close()


def test_services_need_an_object(http: Http) -> None:
    for kind in ("prompt", "graph-rag", "sparql", "rows"):
        assert rest(http, kind, [1, 2]) == {
            "error": {"type": "gateway-error", "message": "'list' object has no attribute 'get'"}
        }
