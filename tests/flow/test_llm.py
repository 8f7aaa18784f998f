"""The LLM services on every face, streaming and not: text completion, prompt, agent, RAG.

Both gateways answer with the same scripted model: ``echo: X`` gives ``X``, ``fail: X`` fails,
anything else gives :data:`FOX`; streaming sends one chunk per word. A non-streaming answer
must equal its collected stream on every face.
"""

from __future__ import annotations

import pytest

from tg_connect import (
    AgentAnswer,
    AgentObservation,
    AgentThought,
    Answer,
    ExplainEvent,
    RAGChunk,
    ServiceError,
    TextChunk,
)

from .conftest import Face

FOX = "The quick brown fox jumps over the lazy dog."


def test_text_completion(face: Face) -> None:
    answer = face.flow(lambda f: f.text_completion("You are terse.", "echo: hello world"))
    assert isinstance(answer, Answer) and answer == "hello world"
    assert answer.model == "echo-test-1" and isinstance(answer.in_token, int) and isinstance(answer.out_token, int)
    assert face.flow(lambda f: f.text_completion("", "What is X?")) == FOX


def test_text_completion_streaming(face: Face) -> None:
    chunks = face.flow(lambda f: f.text_completion("", "What is X?", streaming=True))
    assert all(isinstance(c, TextChunk) for c in chunks)
    assert "".join(c.content for c in chunks) == FOX
    assert chunks[-1].end_of_stream and chunks[-1].model == "echo-test-1"
    # The socket streams word by word; REST has only the last frame, so it asks for the whole answer.
    assert len(chunks) == (10 if face.socket else 1)
    assert "".join(str(c) for c in chunks) == FOX


def test_text_completion_dropped_error_raises(face: Face) -> None:
    for streaming in (False, True):
        with pytest.raises(ServiceError) as info:
            face.flow(lambda f, streaming=streaming: f.text_completion("", "fail: boom", streaming=streaming))
        assert info.value.service == "text-completion" and info.value.type == "missing-field"
        assert "'response'" in str(info.value)


def test_list_models(face: Face) -> None:
    models = face.flow(lambda f: f.list_models())
    assert "echo-test-1" in [m.id for m in models]


def test_prompt(face: Face) -> None:
    assert face.flow(lambda f: f.prompt("greet", {"name": "Bob"})) == "Hello Bob"
    assert face.flow(lambda f: f.prompt("greet", terms={"name": '"Ann"'})) == "Hello Ann"
    chunks = face.flow(lambda f: f.prompt("greet", {"name": "Bob"}, streaming=True))
    assert all(isinstance(c, TextChunk) for c in chunks) and "".join(map(str, chunks)) == "Hello Bob"
    assert chunks[-1].end_of_stream and len(chunks) == (3 if face.socket else 1)


def test_prompt_json_template(face: Face) -> None:
    answer = face.flow(lambda f: f.prompt("echo-json", {"text": "x"}))
    assert isinstance(answer.object, dict) and answer.object  # the parsed value
    assert answer == answer.text and isinstance(answer, str)


def test_prompt_unknown_template_raises(face: Face) -> None:
    with pytest.raises(ServiceError, match="missing-field"):
        face.flow(lambda f: f.prompt("no-such-template", {"x": 1}))


def knowledge_answer(face: Face) -> str:
    """What the agent's one tool (knowledge-query, i.e. graph-rag) answers, on this gateway."""
    return str(face.flow(lambda f: f.graph_rag("What is X?"))).strip()


def test_agent(face: Face) -> None:
    answer = face.flow(lambda f: f.agent("What is X?"))
    # Both gateways' agent scripts ask the knowledge graph once, then answer with what it said.
    assert isinstance(answer, Answer) and answer.strip() == knowledge_answer(face)
    if face.socket:  # the whole dialogue arrives on the socket
        assert answer.thoughts and answer.observations and answer.explain
        assert answer.observations[-1].strip() == answer.strip()
    else:  # REST returns only the final frame: the answer, without thoughts (docs/protocol.md 4.2)
        assert answer.thoughts == () and answer.observations == ()


def test_agent_streaming(face: Face) -> None:
    chunks = face.flow(lambda f: f.agent("What is X?", streaming=True))
    kinds = {type(c) for c in chunks}
    assert kinds <= {AgentThought, AgentObservation, AgentAnswer, ExplainEvent}
    last = chunks[-1]
    assert isinstance(last, AgentAnswer) and last.end_of_dialog and last.end_of_message
    answer = "".join(c.content for c in chunks if isinstance(c, AgentAnswer))
    assert answer.strip() == knowledge_answer(face)
    if face.socket:
        assert {AgentThought, AgentObservation, ExplainEvent} <= kinds
        assert sum(isinstance(c, AgentAnswer) for c in chunks) > 2  # word by word
        assert all(e.explain_id and e.triples for e in chunks if isinstance(e, ExplainEvent))
    else:
        assert chunks == [last]


@pytest.mark.parametrize("service", ["graph_rag", "document_rag"])
def test_rag(face: Face, service: str) -> None:
    answer = face.flow(lambda f: getattr(f, service)("What is X?"))
    assert isinstance(answer, Answer) and answer and isinstance(answer.in_token, int)
    chunks = face.flow(lambda f: getattr(f, service)("What is X?", streaming=True))
    assert {type(c) for c in chunks} <= {RAGChunk, ExplainEvent}
    parts = [c for c in chunks if isinstance(c, RAGChunk)]
    assert "".join(c.content for c in parts) == answer  # the non-streaming answer is the collected stream
    assert parts[-1].end_of_session and parts[-1].error is None
    assert any(c.end_of_stream for c in parts)
    if face.socket:
        assert answer.explain and any(isinstance(c, ExplainEvent) for c in chunks)
        assert len(parts) > 2
    else:
        assert len(parts) == 1 and answer.explain == ()


def test_graph_rag_options_are_validated(face: Face) -> None:
    from tg_connect import InputError

    with pytest.raises(InputError, match="entity_limit"):
        face.flow(lambda f: f.graph_rag("q", entity_limit=0))
    with pytest.raises(InputError, match="no request field 'bogus'"):
        face.flow(lambda f: f.graph_rag("q", options={"bogus": 1}))
    answer = face.flow(lambda f: f.graph_rag("What is X?", entity_limit=5, options={"edge-limit": 5}))
    assert answer
