"""The protocol core without sockets: builders, frame parsers and collectors, on frames recorded
from the real 2.11.1 gateway."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pytest

from tg_connect import InputError, ProtocolError, ServiceError, Term, types
from tg_connect.metrics import parse_result
from tg_connect.protocol import services as sv

EXPLAIN = {
    "message_type": "explain",
    "end_of_message": False,
    "end_of_dialog": False,
    "explain_id": "urn:q",
    "explain_graph": "urn:graph:retrieval",
    "explain_triples": [{"s": {"t": "i", "i": "urn:q"}, "p": {"t": "i", "i": "urn:p"}, "o": {"t": "l", "v": "x"}}],
}


def run(call: sv.Call[Any, Any], frames: Sequence[dict[str, Any]]) -> tuple[list[Any], Any]:
    chunks = [c for f in frames for c in call.parse(f)]
    return chunks, call.collect(chunks)


def test_every_service_is_declared_once() -> None:
    assert len(sv.SERVICES) == 27 and len(sv.FLOW_SERVICES) == 21 and len(sv.GLOBAL_SERVICES) == 6
    assert {s.name for s in sv.SERVICES.values() if s.streams} == {
        "agent",
        "text-completion",
        "prompt",
        "graph-rag",
        "document-rag",
        "triples",
        "sparql",
    }


def test_streaming_is_asked_of_the_wire_only_where_every_frame_arrives() -> None:
    call = sv.triples_query(p="http://x", streaming=True, batch_size=5)
    assert call.wire_body(every_frame=True) == {
        "p": {"t": "i", "i": "http://x"},
        "collection": "default",
        "limit": 10000,
        "batch-size": 5,
        "streaming": True,
    }
    assert call.wire_body(every_frame=False)["streaming"] is False and "batch-size" not in call.wire_body(False)
    assert "streaming" not in sv.embeddings("x").wire_body(True)


def test_agent_stream_as_the_real_gateway_sends_it() -> None:
    frames = [
        EXPLAIN,
        {"message_type": "thought", "content": " I shou", "end_of_message": False, "message_id": "m1"},
        {"message_type": "thought", "content": "ld ask", "end_of_message": True, "message_id": "m1"},
        {"message_type": "observation", "content": "obs", "end_of_message": True, "message_id": "m2"},
        {"message_type": "thought", "content": "done", "end_of_message": True, "message_id": "m3"},
        {"message_type": "answer", "content": " The", "end_of_message": False, "message_id": "m4"},
        {"message_type": "answer", "content": " end", "end_of_message": False, "message_id": "m4"},
        {
            "message_type": "answer",
            "end_of_message": True,
            "end_of_dialog": True,
            "message_id": "m4",
            "in_token": 3,
            "out_token": 2,
            "model": "m",
        },
    ]
    chunks, answer = run(sv.agent("q", streaming=True), frames)
    assert [type(c).__name__ for c in chunks] == [
        "ExplainEvent",
        "AgentThought",
        "AgentThought",
        "AgentObservation",
        "AgentThought",
        "AgentAnswer",
        "AgentAnswer",
        "AgentAnswer",
    ]
    assert answer == " The end" and answer.thoughts == (" I should ask", "done") and answer.observations == ("obs",)
    assert (answer.in_token, answer.out_token, answer.model) == (3, 2, "m")
    assert answer.explain[0].triples[0].o == Term.literal("x")
    assert chunks[-1].end_of_dialog and chunks[-1].content == ""
    with pytest.raises(ServiceError, match="agent-error"):
        run(sv.agent("q"), [{"message_type": "error", "content": "boom", "end_of_dialog": True}])
    with pytest.raises(ServiceError, match="without an answer"):
        run(sv.agent("q"), [EXPLAIN])


def test_rag_frames_of_both_services() -> None:
    graph = [
        dict(EXPLAIN, response=""),
        {"message_type": "chunk", "response": "An", "end_of_stream": False, "end_of_session": False},
        {"message_type": "chunk", "response": "swer", "end_of_stream": True, "end_of_session": False},
        {
            "message_type": "chunk",
            "response": "",
            "sources": [{"uri": "urn:doc", "title": "Doc"}],
            "end_of_stream": False,
            "end_of_session": True,
            "in_token": 1,
            "out_token": 2,
            "model": "m",
        },
    ]
    chunks, answer = run(sv.graph_rag("q", streaming=True), graph)
    assert answer == "Answer" and answer.sources == (types.Source("urn:doc", "Doc"),) and len(answer.explain) == 1
    assert chunks[-1].end_of_session and chunks[-1].end_of_message
    # document-rag: the streamed answer ends with message_type "end"; REST's reply has no message_type
    document = [
        {"message_type": "chunk", "response": "Based", "end_of_stream": False},
        {"message_type": "chunk", "response": "", "end_of_stream": True, "end_of_session": False},
        {"message_type": "end", "end_of_stream": False, "end_of_session": True, "in_token": 17},
    ]
    assert run(sv.document_rag("q", streaming=True), document)[1] == "Based"
    rest = [{"response": "Based on:", "end_of_stream": True, "end_of_session": True, "in_token": 17}]
    assert run(sv.document_rag("q"), rest)[1] == "Based on:"
    error = {
        "message_type": "chunk",
        "response": "",
        "end_of_stream": True,
        "end_of_session": True,
        "error": {"type": "graph-rag-error", "message": "x"},
    }
    assert sv.graph_rag("q").on_error is not None
    assert sv.graph_rag("q").on_error(error)[0].error == {"type": "graph-rag-error", "message": "x"}  # type: ignore[misc]


def test_text_and_prompt_frames() -> None:
    frames = [
        {"response": "Hel", "end_of_stream": False, "model": "m"},
        {"response": "lo", "in_token": 1, "out_token": 2, "model": "m", "end_of_stream": True},
    ]
    chunks, answer = run(sv.text_completion("", "x", streaming=True), frames)
    assert answer == "Hello" and answer.in_token == 1 and [str(c) for c in chunks] == ["Hel", "lo"]
    assert not chunks[0].end_of_stream and chunks[1].end_of_stream
    _, obj = run(sv.prompt("p"), [{"object": '{"a": [1]}', "end_of_stream": True}])
    assert obj.object == {"a": [1]} and obj == '{"a": [1]}'
    for bad in ({"response": None, "end_of_stream": True}, {"end_of_stream": True}):
        with pytest.raises(ServiceError, match="missing-field"):
            run(sv.text_completion("", "x"), [bad])
    with pytest.raises(ServiceError, match="missing-field"):
        run(sv.prompt("p"), [{"end_of_stream": True}])


def test_answers_are_strings_that_keep_their_details() -> None:
    answer = types.Answer("text", in_token=1, model="m", thoughts=["t"])
    assert answer == "text" and answer.upper() == "TEXT" and answer.text == "text"
    copy = pickle.loads(pickle.dumps(answer))
    assert copy == "text" and copy.model == "m" and copy.thoughts == ("t",)


def test_triples_and_sparql_results_tabulate() -> None:
    wire = [
        {
            "s": {"t": "i", "i": "http://s"},
            "p": {"t": "i", "i": "http://p"},
            "o": {"t": "l", "v": "5", "dt": "http://www.w3.org/2001/XMLSchema#integer"},
            "g": "urn:g",
        },
        {"s": {"t": "b", "d": "b0"}, "p": {"t": "i", "i": "http://p"}, "o": {"t": "l", "v": "hi", "ln": "en"}},
    ]
    batches, triples = run(sv.triples_query(streaming=True), [{"response": wire[:1]}, {"response": wire[1:]}])
    assert len(batches) == 2 and len(triples) == 2 and triples[1].s == Term.blank("b0")
    table = triples.to_arrow()
    assert table.column("o_datatype").to_pylist() == ["http://www.w3.org/2001/XMLSchema#integer", None]
    assert table.column("g").to_pylist() == ["urn:g", None] and triples[:1].to_pandas().shape[0] == 1
    select = {
        "query-type": "select",
        "variables": ["s", "o"],
        "bindings": [
            {"values": [{"t": "i", "i": "http://s"}, None]},
            {"values": [{"t": "i", "i": "http://t"}, {"t": "l", "v": "x", "ln": "en"}]},
        ],
    }
    _, result = run(sv.sparql_query("SELECT", streaming=True), [select, dict(select, bindings=[])])
    frame = result.to_pandas()
    assert list(frame.columns) == ["s", "s_type", "s_datatype", "s_language", "o", "o_type", "o_datatype", "o_language"]
    assert result.to_arrow().column("o").to_pylist() == [None, "x"] and frame["o_language"].tolist()[1] == "en"
    _, ask = run(sv.sparql_query("ASK"), [{"query-type": "ask", "ask-result": True}])
    assert ask.to_arrow().column("ask").to_pylist() == [True]
    with pytest.raises(ServiceError, match="query-type"):
        run(sv.sparql_query("x"), [{}])


def test_empty_tables_keep_their_schema() -> None:
    _, found = run(sv.graph_embeddings_query([1.0]), [{"entities": []}])
    assert found.to_arrow().schema.names == ["entity", "entity_type", "score", "rdf_type"]
    assert types.TripleList().to_arrow().num_rows == 0


def test_config_replies_carry_a_version() -> None:
    _, values = run(sv.config_get([("t", "k")]), [{"version": 3, "values": [{"type": "t", "key": "k", "value": None}]}])
    assert values == [types.ConfigValue("t", "k", None)]
    with pytest.raises(ServiceError, match="version 0"):
        run(sv.config_list("t"), [{"version": 0, "values": [], "directory": [], "config": {}}])


def test_parameters_are_validated() -> None:
    for bad in (
        lambda: sv.triples_query(limit=0),
        lambda: sv.triples_query(s=3),
        lambda: sv.agent(""),
        lambda: sv.graph_rag("q", options={"grounding-seeds": ["a"], "graph-seeds": ["b"]}),
        lambda: sv.generic("text-completion", {"streaming": True}, scope="flow"),
        lambda: sv.generic("config", {"operation": "get"}, scope="flow"),
        lambda: sv.prompt("p", {"a": 1}, terms={"a": "1"}),
        lambda: sv.blueprint_put("b", "[1]"),
        lambda: sv.config_put([("t", "k", 1)]),
        lambda: sv.embeddings([]),
        lambda: sv.flow_start("bp", "f", parameters={"k": 1}),
    ):  # type: ignore[dict-item]
        with pytest.raises(InputError):
            bad()
    assert sv.term_arg("o", "hello") == {"t": "l", "v": "hello"}
    assert sv.term_arg("o", "http://x") == {"t": "i", "i": "http://x"}
    assert sv.term_arg("s", "_:b1") == {"t": "b", "d": "b1"} and sv.term_arg("p", "<urn:x>") == {"t": "i", "i": "urn:x"}


def test_metrics_results() -> None:
    vector = {
        "resultType": "vector",
        "result": [
            {"metric": {"__name__": "tg_gateway_request_total", "service": "flow"}, "value": [1700000000.5, "7"]},
            {"metric": {"__name__": "tg_gateway_request_total", "service": "config"}, "value": [1700000000.5, "2"]},
        ],
    }
    result = parse_result(vector)
    assert len(result) == 2 and result.value(service="flow") == 7.0 and result.value(service="nope") is None
    frame = result.to_pandas()
    assert list(frame.columns) == ["__name__", "service", "timestamp", "value"] and frame["value"].sum() == 9
    matrix = parse_result({"resultType": "matrix", "result": [{"metric": {"a": "1"}, "values": [[1, "1"], [2, "3"]]}]})
    assert matrix.series[0].points == ((1.0, 1.0), (2.0, 3.0)) and matrix.to_arrow().num_rows == 2
    assert parse_result({"resultType": "scalar", "result": [1, "4.5"]}).scalar == 4.5
    with pytest.raises(ProtocolError):
        parse_result({"result": []})
    assert isinstance(matrix.to_arrow().schema.field("timestamp").type, pa.TimestampType)
