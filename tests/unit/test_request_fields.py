"""``request()`` checks a raw body as the typed methods check their arguments, before sending.

The table of fields a request needs (``registry.REQUEST_FIELDS``) is held to the builders here:
every body a typed method sends passes it, every body without one of its fields fails naming
that field, and every typed method that requires an argument has its entry.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import pytest

from tg_connect import InputError, Term
from tg_connect.bulk.read import query_request
from tg_connect.protocol import registry
from tg_connect.protocol import services as sv
from tg_connect.protocol.calls import Call

_TRIPLES_PART = {"metadata": {"id": "d", "collection": "c"}, "triples": []}
_DE_PART = {"metadata": {"id": "d", "collection": "c"}, "chunks": []}

# (face, method) -> keyword arguments that make a valid call of its builder
SAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("flow-instance", "text_completion"): {"system": "", "prompt": "hi"},
    ("flow-instance", "prompt"): {"id": "greet", "variables": {"name": "x"}},
    ("flow-instance", "agent"): {"question": "why?"},
    ("flow-instance", "graph_rag"): {"query": "q"},
    ("flow-instance", "document_rag"): {"query": "q"},
    ("flow-instance", "embeddings"): {"texts": ["a"]},
    ("flow-instance", "graph_embeddings_query"): {"vector": [0.5]},
    ("flow-instance", "document_embeddings_query"): {"vector": [0.5]},
    ("flow-instance", "row_embeddings_query"): {"vector": [0.5], "schema_name": "s"},
    ("flow-instance", "sparql_query"): {"query": "ASK {}"},
    ("flow-instance", "rows_query"): {"query": "{ a }"},
    ("flow-instance", "nlp_query"): {"question": "q"},
    ("flow-instance", "structured_query"): {"question": "q"},
    ("flow-instance", "structured_diag"): {"operation": "detect-type", "sample": "a,b"},
    ("flow-instance", "mcp_tool"): {"name": "t"},
    ("flow-instance", "reranker"): {"query": "q", "documents": ["d"]},
    ("flow-instance", "image_to_text"): {"image": b"x", "mime_type": "image/png"},
    ("flow-instance", "cloze"): {"query": "a [MASK]"},
    ("flow-instance", "decision_scoring"): {"state": {}, "questions": {"q": 1}},
    ("flow-instance", "field_extraction"): {"state": {}, "fields": {"f": 1}},
    ("config", "get"): {"keys": [("t", "k")]},
    ("config", "put"): {"values": [("t", "k", "v")]},
    ("config", "delete"): {"keys": [("t", "k")]},
    ("config", "list"): {"type": "prompt"},
    ("config", "get_values"): {"type": "prompt"},
    ("config", "get_values_all_workspaces"): {"type": "prompt", "all_workspaces": True},
    ("flow", "get"): {"id": "default"},
    ("flow", "start"): {"blueprint_name": "b", "id": "f"},
    ("flow", "stop"): {"id": "f"},
    ("flow", "get_blueprint"): {"name": "b"},
    ("flow", "put_blueprint"): {"name": "b", "definition": {}},
    ("flow", "delete_blueprint"): {"name": "b"},
    ("knowledge", "get_kg_core"): {"id": "c"},
    ("knowledge", "get_de_core"): {"id": "c", "kind": "de"},
    ("knowledge", "list_de_cores"): {"kind": "de"},
    ("knowledge", "put_kg_core"): {"id": "c", "triples": _TRIPLES_PART},
    ("knowledge", "put_de_core"): {"id": "c", "kind": "de", "document_embeddings": _DE_PART},
    ("knowledge", "delete_kg_core"): {"id": "c"},
    ("knowledge", "delete_de_core"): {"id": "c", "kind": "de"},
    ("knowledge", "load_kg_core"): {"id": "c"},
    ("knowledge", "load_de_core"): {"id": "c", "kind": "de"},
    ("knowledge", "unload_kg_core"): {"id": "c"},
    ("library", "add_document"): {"document": b"x", "id": "d"},
    ("library", "update_document"): {"id": "d", "title": "t"},
    ("library", "get_document"): {"id": "d"},
    ("library", "get_document_content"): {"id": "d"},
    ("library", "remove_document"): {"id": "d"},
    ("library", "start_processing"): {"id": "p", "document_id": "d"},
    ("library", "stop_processing"): {"id": "p"},
    ("collection", "update_collection"): {"collection": "c"},
    ("collection", "delete_collection"): {"collection": "c"},
}

# Entries no builder sends as such: the gateway's default operation named outright
# (text-completion "completion", cloze "predict"), a request without one, and the
# structured-diag operations besides the sample's.
ALIASES = {
    ("text-completion", "completion"),
    ("cloze", None),
    ("structured-diag", None),
    ("structured-diag", "generate-descriptor"),
    ("structured-diag", "diagnose"),
    ("structured-diag", "schema-selection"),
}


def key_of(call: Call[Any, Any]) -> tuple[str, str | None]:
    return call.service.name, call.operation


def built(method: registry.Method) -> Call[Any, Any]:
    call: Call[Any, Any] = method.builder(**SAMPLES.get((method.face, method.name), {}))
    return call


def requires_arguments(method: registry.Method) -> bool:
    params = inspect.signature(method.builder).parameters.values()
    return any(p.default is inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD for p in params)


def generic(call_or_name: Call[Any, Any] | str, body: Mapping[str, Any] | None = None) -> Call[Any, Any]:
    """``request(service, body)`` as the faces build it, in the service's own scope."""
    if isinstance(call_or_name, Call):
        return sv.generic(call_or_name.service.name, call_or_name.body, scope=call_or_name.service.scope)
    assert body is not None
    return sv.generic(call_or_name, body, scope=sv.service(call_or_name).scope)


@pytest.mark.parametrize("method", registry.METHODS, ids=lambda m: f"{m.face}.{m.name}")
def test_every_typed_body_passes_and_lacks_nothing_the_table_asks(method: registry.Method) -> None:
    call = built(method)
    needed = registry.REQUEST_FIELDS.get(key_of(call))
    if needed is None:  # a method that needs no argument sends nothing the gateway could lack
        assert not requires_arguments(method), f"{key_of(call)} ({method.name}) has no REQUEST_FIELDS entry"
        generic(call)
        return
    assert (needed.face, needed.method) == (method.face, method.name)
    assert generic(call).body == call.body  # what the typed method sends, request() sends too
    for field in needed.fields:
        body = {k: v for k, v in call.body.items() if k != field.name}
        with pytest.raises(InputError, match=rf'request body\["{field.name}"\].*it is missing'):
            generic(call.service.name, body)


def test_every_entry_is_a_typed_method_and_reached() -> None:
    methods = {(m.face, m.name) for m in registry.METHODS}
    reached = {key_of(built(m)) for m in registry.METHODS}
    for key, needed in registry.REQUEST_FIELDS.items():
        assert (needed.face, needed.method) in methods, key
        assert key in reached or key in ALIASES, f"{key}: no typed method sends it"
    assert ALIASES <= set(registry.REQUEST_FIELDS)


@pytest.mark.parametrize(
    "service,body,message",
    [
        ("graph-rag", {}, r'body\["query"\]: graph-rag needs a non-empty string here \(as graph_rag\(\) sends\)'),
        ("graph-rag", {"query": ""}, r"got ''"),
        ("graph-rag", {"query": 3}, r"got 3"),
        ("embeddings", {"texts": ["a", 1]}, r'body\["texts"\]: embeddings needs a non-empty list of strings'),
        ("graph-embeddings", {"vector": ["x"]}, r'body\["vector"\]: .* a non-empty list of numbers'),
        ("decision-scoring", {"state": {}, "questions": []}, r'body\["questions"\]: .* a JSON object'),
        ("text-completion", {"system": "s"}, r"as text_completion\(\) sends"),
        ("config", {"operation": "get"}, r'body\["keys"\]: config get needs a non-empty list .* config\(\)\.get\(\)'),
        ("flow", {"operation": "get-flow", "flow-id": ""}, r'body\["flow-id"\]: flow get-flow .* flow\(\)\.get\(\)'),
        ("structured-diag", {"sample": "a"}, r'body\["operation"\]'),
        ("librarian", {"operation": "add-document", "content": ""}, r'body\["document-metadata"\]'),
    ],
)
def test_a_missing_or_wrong_field_is_named(service: str, body: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        generic(service, body)


def test_operations_without_a_typed_method_and_unknown_ones_are_left_to_the_gateway() -> None:
    for service, body in (
        ("triples", {}),
        ("text-completion", {"operation": "list-models"}),
        ("cloze", {"operation": "list-models"}),
        ("structured-diag", {"operation": "something-new"}),
        ("librarian", {"operation": "stream-document"}),
        ("iam", {"operation": "whoami"}),
        ("flow", {"operation": "list-flows"}),
    ):
        assert generic(service, body).body == body


@pytest.mark.parametrize(
    "body,message",
    [
        ({"query": {"x": {1}}}, r'^request body\["query"\]\["x"\]: object of type set is not JSON serialisable$'),
        ({"query": "q", "options": [1, b"x"]}, r'^request body\["options"\]\[1\]: object of type bytes'),
        ({"query": "q", "graph": {(1, 2): "v"}}, r'^request body\["graph"\]: key \(1, 2\) is a tuple; JSON object'),
        ({"query": "q", 3.5: object()}, r"^request body\[3\.5\]: object of type object"),
    ],
)
def test_a_body_that_is_not_json_names_the_path(body: dict[Any, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        generic("graph-rag", body)


def test_a_body_that_holds_itself_is_named() -> None:
    inner: dict[str, Any] = {}
    inner["again"] = [inner]
    with pytest.raises(InputError, match=r'request body\["query"\]\["again"\]\[0\]: contains itself'):
        generic("graph-rag", {"query": inner})


def test_free_form_arguments_of_typed_methods_are_checked_as_json() -> None:
    for call, message in (
        (lambda: sv.prompt("greet", {"name": {1}}), r'^variables\["name"\]: object of type set'),
        (lambda: sv.mcp_tool("t", {"at": object()}), r'^parameters\["at"\]: object of type object'),
        (lambda: sv.agent("q", history=[{"a": {1}}]), r'^history\[0\]\["a"\]'),
        (lambda: sv.graph_rag("q", options={"graph": {1}}), r'^options\["graph"\]'),
        (lambda: sv.blueprint_put("b", {"x": {1}}), r'^definition\["x"\]'),
        (lambda: sv.decision_scoring({"s": b"x"}, {}), r'^state\["s"\]: object of type bytes'),
    ):
        with pytest.raises(InputError, match=message):
            call()


# -- the term rule of triples queries --------------------------------------------------------------


@pytest.mark.parametrize(
    "kw,message",
    [
        (
            {"p": "not an iri"},
            r'^p="not an iri": a string as p is read as an IRI, and this one cannot be an IRI \(it contains a'
            r" space\); pass the predicate's full IRI",
        ),
        (
            {"p": "knows"},
            r'^p="knows": a string as p is read as an IRI, and this one is not absolute .*'
            r"<knows> or Term\.iri\('knows'\)",
        ),
        (
            {"s": "not an iri"},
            r'^s="not an iri": .* cannot be an IRI \(it contains a space\); pass an IRI, or'
            r" Term\.literal\('not an iri'\) to ask for a literal",
        ),
        ({"s": "a<b"}, r"it contains '<', which IRIs cannot hold"),
        ({"p": ""}, r"it is empty"),
    ],
)
def test_a_pattern_string_that_is_no_iri_says_how_it_was_read(kw: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        sv.triples_query(**kw)  # type: ignore[arg-type]
    # read_batches builds its query with the same builder, so it says the same
    with pytest.raises(InputError, match=message):
        query_request("triples", "default", kw.get("s"), kw.get("p"), None, "*", None, 1000)


def test_pattern_strings_that_are_iris_or_objects_are_read_as_before() -> None:
    body = sv.triples_query("alice", "<knows>", "not an iri").body
    assert body["s"] == Term.iri("alice").to_wire()  # a relative subject IRI, as stored
    assert body["p"] == Term.iri("knows").to_wire()
    assert body["o"] == Term.literal("not an iri").to_wire()  # an object's kind is guessed
    body = sv.triples_query("_:b1", "http://x/p", "http://x/o").body
    assert (body["s"], body["p"], body["o"]) == (
        Term.blank("b1").to_wire(),
        {"t": "i", "i": "http://x/p"},
        {"t": "i", "i": "http://x/o"},
    )
    assert sv.triples_query(p=Term.iri("knows")).body["p"] == Term.iri("knows").to_wire()
    assert sv.triples_query(s=Term.literal("not an iri")).body["s"] == Term.literal("not an iri").to_wire()
