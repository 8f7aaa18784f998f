"""The global services on every face: config, flow management, librarian, knowledge cores,
collections, and anything else through ``request()``."""

from __future__ import annotations

import base64

import pytest

from tg_connect import ConfigKey, ConfigValue, InputError, ServiceError
from tg_connect.types import KnowledgeCore, KnowledgeItem

from .conftest import Face


def test_config(face: Face, run_id: str) -> None:
    t = f"tgc{run_id}"
    config = lambda fn: face.call(lambda c: fn(c.config()))  # noqa: E731
    config(lambda c: c.put([ConfigValue(t, "a", "1"), (t, "b", '{"x": 2}')]))
    assert config(lambda c: c.get([ConfigKey(t, "a"), (t, "b"), (t, "missing")])) == [
        ConfigValue(t, "a", "1"),
        ConfigValue(t, "b", '{"x": 2}'),
        ConfigValue(t, "missing", None),
    ]
    assert sorted(config(lambda c: c.list(t))) == ["a", "b"]
    assert sorted(v.key for v in config(lambda c: c.get_values(t))) == ["a", "b"]
    snapshot, version = config(lambda c: c.all())
    assert snapshot[t] == {"a": "1", "b": '{"x": 2}'} and version > 0
    config(lambda c: c.delete([(t, "a"), ConfigKey(t, "b")]))
    assert config(lambda c: c.list(t)) == []
    with pytest.raises(InputError, match="must be a string"):  # the service would drop this failure
        config(lambda c: c.put([(t, "k", 5)]))


def test_config_values_of_every_workspace(face: Face) -> None:
    if face.gateway.real:
        # The 2.11.1 config service answers getvalues-all-ws with its all-defaults (version 0)
        # reply here: a dropped error, which must raise rather than read as "no values".
        with pytest.raises(ServiceError, match="version 0"):
            face.call(lambda c: c.config().get_values_all_workspaces("collection"))
    else:
        values = face.call(lambda c: c.config().get_values_all_workspaces("collection"))
        assert values and all(v.workspace for v in values)


def test_flow_management(face: Face, run_id: str) -> None:
    assert "default" in face.call(lambda c: c.list())
    record = face.call(lambda c: c.get("default"))
    assert "interfaces" in record and "triples" in record["interfaces"]
    blueprints = face.call(lambda c: c.list_blueprints())
    definition = face.call(lambda c: c.get_blueprint(blueprints[0]))
    assert "interfaces" in definition
    with pytest.raises(ServiceError, match="no flow 'nope"):
        face.call(lambda c: c.get(f"nope{run_id}"))
    with pytest.raises(ServiceError, match="no blueprint"):
        face.call(lambda c: c.get_blueprint(f"nope{run_id}"))
    with pytest.raises(ServiceError, match="already running"):  # checked before anything is sent
        face.call(lambda c: c.start(blueprints[0], "default"))
    with pytest.raises(ServiceError, match="not running"):
        face.call(lambda c: c.stop(f"nope{run_id}"))
    name = f"bp{run_id}"
    face.call(lambda c: c.put_blueprint(name, definition))
    try:
        assert name in face.call(lambda c: c.list_blueprints())
        assert face.call(lambda c: c.get_blueprint(name)) == definition
    finally:
        face.call(lambda c: c.delete_blueprint(name))
    assert name not in face.call(lambda c: c.list_blueprints())


def test_start_and_stop_a_flow(face: Face, run_id: str) -> None:
    blueprint = face.call(lambda c: c.get("default"))["blueprint-name"]
    flow_id = f"f{run_id}"
    if face.gateway.real:
        # Starting a flow on the shared real deployment would start consumers for every
        # processor; only the checks made before sending run there.
        with pytest.raises(ServiceError, match="no blueprint"):
            face.call(lambda c: c.start(f"none{run_id}", flow_id))
        assert flow_id not in face.call(lambda c: c.list())
        return
    face.call(lambda c: c.start(blueprint, flow_id, "a test flow", {"model": "m"}))
    try:
        assert flow_id in face.call(lambda c: c.list())
        assert face.call(lambda c: c.get(flow_id))["description"] == "a test flow"
        assert face.flow(lambda f: f.text_completion("", "echo: on a new flow"), flow_id) == "on a new flow"
    finally:
        face.call(lambda c: c.stop(flow_id))
    assert flow_id not in face.call(lambda c: c.list())
    with pytest.raises(ServiceError, match=f"Invalid flow default/{flow_id}"):
        face.flow(lambda f: f.embeddings("x"), flow_id)


def test_library(face: Face, run_id: str) -> None:
    doc = f"urn:tgc:{run_id}:doc"
    lib = lambda fn: face.call(lambda c: fn(c.library()))  # noqa: E731
    content = "Knowledge «graphs»\n".encode() * 3
    lib(lambda c: c.add_document(content, doc, title="A title", comments="c", kind="text/plain", tags=["t1"]))
    try:
        meta = lib(lambda c: c.get_document(doc))
        assert (meta.id, meta.title, meta.kind, meta.tags) == (doc, "A title", "text/plain", ("t1",))
        assert lib(lambda c: c.get_document_content(doc)) == content
        assert doc in [d.id for d in lib(lambda c: c.get_documents())]
        with pytest.raises(ServiceError) as info:  # librarian errors are visible
            lib(lambda c: c.add_document(b"again", doc))
        assert info.value.service == "librarian"
        lib(lambda c: c.update_document(doc, title="New title"))
        assert lib(lambda c: c.get_document(doc)).title == "New title"
        # Neither test deployment has a document pipeline: the librarian records the processing,
        # cannot hand the document to the flow's load interface, and says so.
        with pytest.raises(ServiceError, match="(text|document)-load"):
            lib(lambda c: c.start_processing(f"{doc}:p", doc, collection="default", tags=["x"]))
        listed = [p for p in lib(lambda c: c.get_processings()) if p.id == f"{doc}:p"]
        assert [(p.document_id, p.flow, p.collection) for p in listed] == [(doc, "default", "default")]
        lib(lambda c: c.stop_processing(f"{doc}:p"))
        assert f"{doc}:p" not in [p.id for p in lib(lambda c: c.get_processings())]
    finally:
        lib(lambda c: c.remove_document(doc))
    with pytest.raises(ServiceError):
        lib(lambda c: c.get_document(doc))


def test_knowledge_cores(face: Face, run_id: str) -> None:
    core = f"urn:tgc:{run_id}:core"
    s = f"http://example.org/{run_id}/core-subject"
    triples = {
        "metadata": {"id": core, "collection": "default"},
        "triples": [{"s": {"t": "i", "i": s}, "p": {"t": "i", "i": "http://example.org/p"}, "o": {"t": "l", "v": "v"}}],
    }
    entities = {
        "metadata": {"id": core, "collection": "default"},
        "entities": [{"entity": {"t": "i", "i": s}, "vector": [1.0, 0.0, 0.5]}],
    }
    know = lambda fn: face.call(lambda c: fn(c.knowledge()))  # noqa: E731
    # A core is read back with its library document; the real knowledge service needs one.
    face.call(lambda c: c.library().add_document(b"core document", core, title="core"))
    try:
        know(lambda k: k.put_kg_core(core, triples=triples))
        know(lambda k: k.put_kg_core(core, graph_embeddings=entities))
        assert core in face.gateway.eventually(lambda: know(lambda k: k.list_kg_cores()), lambda ids: core in ids, 30)
        if not face.socket:
            with pytest.raises(InputError, match="use api.socket"):  # REST would return only {"eos": true}
                know(lambda k: k.get_kg_core(core))
        else:
            items = know(lambda k: k.get_kg_core(core))
            assert isinstance(items, KnowledgeCore)
            assert [t.s.value for t in items.triples()] == [s]
            assert items.to_arrow("graph-embeddings").column("entity").to_pylist() == [s]
            streamed = know(lambda k: k.get_kg_core(core, streaming=True))
            assert all(isinstance(i, KnowledgeItem) for i in streamed)
            assert {i.kind for i in streamed} >= {"triples", "graph-embeddings"}
        with pytest.raises(ServiceError, match="Not implemented"):
            know(lambda k: k.unload_kg_core(core))
    finally:
        know(lambda k: k.delete_kg_core(core))
        face.call(lambda c: c.library().remove_document(core))
    assert core not in know(lambda k: k.list_kg_cores())


def test_knowledge_parameters_are_checked(face: Face) -> None:
    with pytest.raises(InputError, match="metadata"):
        face.call(lambda c: c.knowledge().put_kg_core("x", triples={"triples": []}))
    with pytest.raises(InputError, match="one of"):
        face.call(lambda c: c.knowledge().put_kg_core("x"))


def test_collections(face: Face, run_id: str) -> None:
    name = f"col{run_id}"
    col = lambda fn: face.call(lambda c: fn(c.collection()))  # noqa: E731
    made = col(lambda c: c.update_collection(name, name="A collection", description="d", tags=["tag" + run_id]))
    assert (made.collection, made.name, made.description, made.tags) == (name, "A collection", "d", ("tag" + run_id,))
    assert name in [c.collection for c in col(lambda c: c.list_collections())]
    assert [c.collection for c in col(lambda c: c.list_collections(tag_filter=["tag" + run_id]))] == [name]
    col(lambda c: c.delete_collection(name))
    assert name not in [c.collection for c in col(lambda c: c.list_collections())]


def test_generic_request(face: Face) -> None:
    listed = face.call(lambda c: c.request("config", {"operation": "list", "type": "prompt"}))
    assert "template.greet" in listed["directory"]
    me = face.call(lambda c: c.request("iam", {"operation": "whoami"}))
    assert "user" in me
    reply = face.flow(lambda f: f.request("embeddings", {"texts": ["a b"]}))
    assert len(reply["vectors"]) == 1
    frames = face.flow(lambda f: f.request("text-completion", {"system": "", "prompt": "x"}, streaming=True))
    assert len(frames) == (10 if face.socket else 1) and frames[-1]["end_of_stream"]
    image = base64.b64encode(b"x").decode()
    with pytest.raises(ServiceError, match="missing-field"):  # the dropped-error check applies here too
        face.flow(lambda f: f.request("text-completion", {"system": "", "prompt": "fail: x"}))
    for bad in (
        lambda c: c.request("nope", {"operation": "x"}),
        lambda c: c.request("config", {"operation": "x"}),
        lambda c: c.request("config", {}),
        lambda c: c.id().request("config", {"operation": "list"}),
        lambda c: c.id().request("embeddings", {"texts": ["a"]}, streaming=True),
        lambda c: c.id().request("image-to-text", {"image": image, "streaming": True}),
    ):
        with pytest.raises(InputError):
            face.call(bad)
