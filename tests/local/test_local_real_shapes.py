"""Frame shapes recorded on the real TrustGraph 2.11.1 gateway (the one .ci/run starts, with
its scripted LLM), checked against the local gateway: for each request, the sequence of
frames as (response keys in order, message_type, complete), runs of equal frames counted
once (answers differ in length: the real kg-synthesis template is fixed, the local one
echoes the retrieved triples). Recorded with graph and document embeddings, and triples,
imported into the collection, and no librarian documents behind the chunks."""

from __future__ import annotations

import json
from typing import Any

from tg_connect.local import LocalGateway
from tg_connect.local.standins.model import EMBEDDING_DIM, embed

from .helpers import TOKEN, Mux, import_frames

REAL_SHAPES: list[tuple[str, dict[str, Any], list[Any]]] = [
    (
        "text-completion",
        {"prompt": "echo: a b c", "streaming": True},
        [
            (["response", "model", "end_of_stream"], None, False),
            (["response", "in_token", "out_token", "model", "end_of_stream"], None, True),
        ],
    ),
    (
        "text-completion",
        {"prompt": "echo: a b c"},
        [
            (["response", "in_token", "out_token", "model", "end_of_stream"], None, True),
        ],
    ),
    (
        "text-completion",
        {"prompt": "fail: x"},
        [
            (["response", "end_of_stream"], None, True),
        ],
    ),
    (
        "text-completion",
        {"operation": "list-models"},
        [
            (["response", "end_of_stream", "models"], None, True),
        ],
    ),
    (
        "prompt",
        {"id": "greet", "variables": {"name": "W"}, "streaming": True},
        [
            (["text", "end_of_stream", "model"], None, False),
            (["text", "end_of_stream", "in_token", "out_token", "model"], None, True),
        ],
    ),
    (
        "prompt",
        {"id": "echo-json", "variables": {"name": "W"}},
        [
            (["object", "end_of_stream", "in_token", "out_token", "model"], None, True),
        ],
    ),
    (
        "prompt",
        {"id": "nope"},
        [
            (["end_of_stream"], None, True),
        ],
    ),
    (
        "embeddings",
        {"texts": ["a b"]},
        [
            (["vectors"], None, True),
        ],
    ),
    (
        "graph-embeddings",
        {"vector": "<ones>", "collection": "shapes", "limit": 2},
        [
            (["entities"], None, True),
        ],
    ),
    (
        "document-embeddings",
        {"vector": "<ones>", "collection": "shapes", "limit": 2},
        [
            (["chunks"], None, True),
        ],
    ),
    (
        "reranker",
        {
            "queries": [{"query_id": "q", "query_text": "a b"}],
            "documents": [{"document_id": "d", "document_text": "a"}],
        },
        [
            (["results"], None, True),
        ],
    ),
    (
        "graph-rag",
        {"query": "Alice Smith", "collection": "shapes", "streaming": True},
        [
            (
                [
                    "message_type",
                    "response",
                    "explain_id",
                    "explain_graph",
                    "explain_triples",
                    "end_of_stream",
                    "end_of_session",
                ],
                "explain",
                False,
            ),
            (["message_type", "response", "end_of_stream", "end_of_session"], "chunk", False),
            (
                [
                    "message_type",
                    "response",
                    "explain_id",
                    "explain_graph",
                    "explain_triples",
                    "end_of_stream",
                    "end_of_session",
                ],
                "explain",
                False,
            ),
            (
                ["message_type", "response", "end_of_stream", "end_of_session", "in_token", "out_token", "model"],
                "chunk",
                True,
            ),
        ],
    ),
    (
        "graph-rag",
        {"query": "Alice Smith", "collection": "shapes"},
        [
            (
                [
                    "message_type",
                    "response",
                    "explain_id",
                    "explain_graph",
                    "explain_triples",
                    "end_of_stream",
                    "end_of_session",
                ],
                "explain",
                False,
            ),
            (
                ["message_type", "response", "end_of_stream", "end_of_session", "in_token", "out_token", "model"],
                "chunk",
                True,
            ),
        ],
    ),
    (
        "document-rag",
        {"query": "Alice", "collection": "shapes", "streaming": True},
        [
            (
                ["message_type", "explain_id", "explain_graph", "explain_triples", "end_of_stream", "end_of_session"],
                "explain",
                False,
            ),
            (["message_type", "response", "end_of_stream", "end_of_session"], "chunk", False),
            (
                ["message_type", "explain_id", "explain_graph", "explain_triples", "end_of_stream", "end_of_session"],
                "explain",
                False,
            ),
            (["message_type", "end_of_stream", "end_of_session", "in_token", "out_token", "model"], "end", True),
        ],
    ),
    (
        "document-rag",
        {"query": "Alice", "collection": "shapes"},
        [
            (
                ["message_type", "explain_id", "explain_graph", "explain_triples", "end_of_stream", "end_of_session"],
                "explain",
                False,
            ),
            (["response", "end_of_stream", "end_of_session", "in_token", "out_token", "model"], None, True),
        ],
    ),
    (
        "agent",
        {"question": "Who is Alice?", "streaming": True},
        [
            (
                ["message_type", "end_of_message", "end_of_dialog", "explain_id", "explain_graph", "explain_triples"],
                "explain",
                False,
            ),
            (["message_type", "content", "end_of_message", "end_of_dialog", "message_id"], "thought", False),
            (
                ["message_type", "end_of_message", "end_of_dialog", "explain_id", "explain_graph", "explain_triples"],
                "explain",
                False,
            ),
            (["message_type", "content", "end_of_message", "end_of_dialog", "message_id"], "observation", False),
            (
                ["message_type", "end_of_message", "end_of_dialog", "explain_id", "explain_graph", "explain_triples"],
                "explain",
                False,
            ),
            (["message_type", "content", "end_of_message", "end_of_dialog", "message_id"], "thought", False),
            (["message_type", "content", "end_of_message", "end_of_dialog", "message_id"], "answer", False),
            (
                ["message_type", "end_of_message", "end_of_dialog", "explain_id", "explain_graph", "explain_triples"],
                "explain",
                False,
            ),
            (["message_type", "end_of_message", "end_of_dialog", "message_id"], "answer", True),
        ],
    ),
    (
        "agent",
        {"question": "Who is Alice?"},
        [
            (
                ["message_type", "end_of_message", "end_of_dialog", "explain_id", "explain_graph", "explain_triples"],
                "explain",
                False,
            ),
            (["message_type", "content", "end_of_message", "end_of_dialog", "message_id"], "thought", False),
            (
                ["message_type", "end_of_message", "end_of_dialog", "explain_id", "explain_graph", "explain_triples"],
                "explain",
                False,
            ),
            (["message_type", "content", "end_of_message", "end_of_dialog", "message_id"], "observation", False),
            (
                ["message_type", "end_of_message", "end_of_dialog", "explain_id", "explain_graph", "explain_triples"],
                "explain",
                False,
            ),
            (["message_type", "content", "end_of_message", "end_of_dialog", "message_id"], "thought", False),
            (
                ["message_type", "end_of_message", "end_of_dialog", "explain_id", "explain_graph", "explain_triples"],
                "explain",
                False,
            ),
            (["message_type", "content", "end_of_message", "end_of_dialog", "message_id"], "answer", True),
        ],
    ),
    (
        "agent",
        {},
        [
            (["error"], None, True),
        ],
    ),
    (
        "iam",
        {"operation": "whoami"},
        [
            (["user", "bootstrap_available"], None, True),
        ],
    ),
    (
        "iam",
        {"operation": "list-workspaces"},
        [
            (["bootstrap_available"], None, True),
        ],
    ),
]


def summary(frames: list[dict[str, Any]]) -> list[tuple[list[str], Any, bool]]:
    out: list[tuple[list[str], Any, bool]] = []
    for frame in frames:
        response = frame.get("response", frame)
        item = (list(response), response.get("message_type"), bool(frame.get("complete")))
        if not out or out[-1] != item:
            out.append(item)
    return out


def test_frames_have_the_real_gateways_shapes(local_gw: LocalGateway) -> None:
    label = "http://www.w3.org/2000/01/rdf-schema#label"
    people = {"alice": "Alice Smith", "bob": "Bob Jones"}
    import_frames(
        local_gw.url,
        "triples",
        [
            {
                "metadata": {"id": "s", "collection": "shapes"},
                "triples": [
                    {
                        "s": {"t": "i", "i": f"http://example.org/{k}"},
                        "p": {"t": "i", "i": label},
                        "o": {"t": "l", "v": v},
                    }
                    for k, v in people.items()
                ]
                + [
                    {
                        "s": {"t": "i", "i": "http://example.org/alice"},
                        "p": {"t": "i", "i": "http://example.org/knows"},
                        "o": {"t": "i", "i": "http://example.org/bob"},
                    }
                ],
            }
        ],
        TOKEN,
    )
    import_frames(
        local_gw.url,
        "graph-embeddings",
        [
            {
                "metadata": {"id": "s", "collection": "shapes"},
                "entities": [
                    {"entity": {"t": "i", "i": f"http://example.org/{k}"}, "vector": embed(v)}
                    for k, v in people.items()
                ],
            }
        ],
        TOKEN,
    )
    import_frames(
        local_gw.url,
        "document-embeddings",
        [
            {
                "metadata": {"id": "s", "collection": "shapes"},
                "chunks": [{"chunk_id": "urn:shapes:1", "vector": embed("Alice lives in Paris")}],
            }
        ],
        TOKEN,
    )
    mux = Mux(local_gw.url, TOKEN)
    try:
        for index, (service, request, expected) in enumerate(REAL_SHAPES):
            if request.get("vector") == "<ones>":  # as long as the vectors imported above
                request = {**request, "vector": [1.0] * EMBEDDING_DIM}
            flow = None if service == "iam" else "default"
            frames = mux.request(f"shape-{index}", service, request, flow=flow)
            got = summary(frames)
            assert got == [tuple(e) for e in expected], (service, json.dumps(request)[:80], got)
    finally:
        mux.close()
