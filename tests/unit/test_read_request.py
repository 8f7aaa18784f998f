"""The bulk reader's triples query is the client's own request: one term rule everywhere."""

from __future__ import annotations

from typing import Any

import pytest

from tg_connect.bulk.read import UNLIMITED, query_request
from tg_connect.errors import InputError
from tg_connect.protocol import services
from tg_connect.protocol.terms import Term


def read_request(
    s: Any = None, p: Any = None, o: Any = None, g: str | None = "*", limit: Any = None, batch_size: Any = 1000
) -> dict[str, Any]:
    """The request ``read_batches(s=s, ...)`` sends (its defaults too)."""
    return query_request("triples", "default", s, p, o, g, limit, batch_size)


def test_the_read_request_is_the_builders_body() -> None:
    got = read_request(s="alice", p="http://x/p", o="bob")
    call = services.triples_query(
        "alice", "http://x/p", "bob", "*", streaming=True, collection="default", limit=UNLIMITED, batch_size=1000
    )
    assert got == call.wire_body(every_frame=True) == {**call.body, "streaming": True}
    # The builder's term rule: a bare subject is an IRI, a bare object's kind is guessed.
    assert got["s"] == Term.iri("alice").to_wire() and got["o"] == Term.literal("bob").to_wire()
    assert got["limit"] == UNLIMITED and got["batch-size"] == 1000 and got["g"] == "*"


def test_the_read_request_keeps_terms_limits_and_the_default_graph() -> None:
    got = read_request(s=Term.literal("alice"), o="_:b1", g=None, limit=5, batch_size=100_000)
    assert got["s"] == Term.literal("alice").to_wire() and got["o"] == Term.blank("b1").to_wire()
    assert "g" not in got and got["limit"] == 5 and got["batch-size"] == 100_000


@pytest.mark.parametrize("kw", [{"limit": 0}, {"batch_size": 0}, {"batch_size": 100_001}, {"s": 3}])
def test_the_read_request_is_checked_as_the_builder_checks(kw: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        read_request(**kw)


def test_the_query_reads_triples_only() -> None:
    with pytest.raises(ValueError, match='source="query" reads triples only; for graph-embeddings: source="cores"'):
        query_request("graph-embeddings", "default", None, None, None, "*", None, 1000)
