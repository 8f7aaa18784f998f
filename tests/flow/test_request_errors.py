"""Mistakes in a call are ``InputError`` s that name the argument, raised before anything is sent,
the same on all four faces (REST and socket, sync and async), and the face works on afterwards.

Each case is first checked to fail before sending (an Api whose gateway cannot be reached gets
the ``InputError``, not a connection error), then on every face of each gateway under test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import tg_connect
from tg_connect import Api, InputError, Term

from .conftest import Face

NOWHERE = "http://127.0.0.1:9"  # nothing listens: a request that is sent fails to connect

# (name, call on a flow-instance face, what the InputError says)
FLOW_CASES: list[tuple[str, Callable[[Any], Any], str]] = [
    (
        "a request without its required field",
        lambda f: f.request("graph-rag", {"collection": "default"}),
        r'request body\["query"\]: graph-rag needs a non-empty string here \(as graph_rag\(\) sends\); it is missing',
    ),
    (
        "a streaming request without its required field",
        lambda f: f.request("agent", {"question": ""}, streaming=True),
        r'request body\["question"\]: agent needs a non-empty string .*; got \'\'',
    ),
    (
        "a body that is not JSON",
        lambda f: f.request("graph-rag", {"query": "q", "options": {"x": {1, 2}}}),
        r'^request body\["options"\]\["x"\]: object of type set is not JSON serialisable$',
    ),
    (
        "template variables that are not JSON",
        lambda f: f.prompt("greet", {"name": object()}),
        r'^variables\["name"\]: object of type object is not JSON serialisable$',
    ),
    (
        "a predicate that cannot be an IRI",
        lambda f: f.triples_query(p="not an iri"),
        r'^p="not an iri": a string as p is read as an IRI, and this one cannot be an IRI \(it contains a space\)',
    ),
    (
        "a predicate that is not absolute",
        lambda f: f.triples_query(p="knows", streaming=True),
        r"^p=\"knows\": .* is not absolute .* <knows> or Term\.iri\('knows'\)",
    ),
]
GLOBAL_CASES: list[tuple[str, Callable[[Any], Any], str]] = [
    (
        "a global request without its required field",
        lambda c: c.request("config", {"operation": "list"}),
        r'request body\["type"\]: config list needs a non-empty string here \(as config\(\)\.list\(\) sends\)',
    ),
    (
        "a global body that is not JSON",
        lambda c: c.request("flow", {"operation": "get-flow", "flow-id": "default", "x": [b"raw"]}),
        r'^request body\["x"\]\[0\]: object of type bytes is not JSON serialisable$',
    ),
]


@pytest.mark.parametrize("case", FLOW_CASES + GLOBAL_CASES, ids=lambda c: c[0])
def test_nothing_is_sent(case: tuple[str, Callable[[Any], Any], str]) -> None:
    _, call, message = case
    api = Api(NOWHERE, timeout=5)
    try:
        for client in (api.flow(), api.socket()):
            target = client.id("default") if case in FLOW_CASES else client
            with pytest.raises(InputError, match=message):
                call(target)
    finally:
        api.close()


@pytest.mark.real
@pytest.mark.parametrize("case", FLOW_CASES, ids=lambda c: c[0])
def test_flow_call_mistakes_on_every_face(face: Face, case: tuple[str, Callable[[Any], Any], str]) -> None:
    _, call, message = case
    with pytest.raises(InputError, match=message):
        face.flow(call)
    # the face (its socket too) is as good as before
    assert face.flow(lambda f: f.request("embeddings", {"texts": ["still here"]}))["vectors"]


@pytest.mark.real
@pytest.mark.parametrize("case", GLOBAL_CASES, ids=lambda c: c[0])
def test_global_call_mistakes_on_every_face(face: Face, case: tuple[str, Callable[[Any], Any], str]) -> None:
    _, call, message = case
    with pytest.raises(InputError, match=message):
        face.call(call)
    assert "default" in face.call(lambda c: c.list())


@pytest.mark.real
def test_a_relative_predicate_is_asked_for_as_a_term(face: Face, run_id: str) -> None:
    """What the error says to do works: the relative IRI as a Term, or in angle brackets."""
    collection = f"rel{run_id}"
    subject = f"http://example.org/{run_id}"
    report = tg_connect.to_trustgraph(
        pd.DataFrame({"s": [subject], "s_type": ["iri"], "p": ["knows"], "p_type": ["iri"], "o": ["x"]}),
        url=face.gateway.url,
        token=face.gateway.token,
        collection=collection,
        progress=False,
    )
    assert report.ok
    for p in (Term.iri("knows"), "<knows>"):

        def query(p: Term | str = p) -> Any:
            return face.flow(lambda f: f.triples_query(s=subject, p=p, collection=collection))

        found = face.gateway.eventually(query, lambda got: len(got) == 1)
        assert [(t.p.value, t.o.value) for t in found] == [("knows", "x")]


def test_verify_on_a_kind_that_cannot_be_verified_fails_before_connecting() -> None:
    for kind, data in (
        ("document-embeddings", pd.DataFrame({"chunk_id": ["c"], "vector": [[1.0]]})),
        ("entity-contexts", pd.DataFrame({"entity": ["http://x/e"], "context": ["c"]})),
    ):
        with pytest.raises(InputError, match=rf"^verify=True needs a read path.* not {kind}: load {kind} without it"):
            tg_connect.to_trustgraph(data, kind, url=NOWHERE, progress=False, verify=True)
