"""The protocol core's socket rules: frame reading (one completion rule), envelopes, and the
request table (ids, slots, queue, deadlines) the transport only follows."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tg_connect.errors import TgConnectError
from tg_connect.protocol import mux
from tg_connect.protocol.replies import error_of

errors = st.one_of(
    st.none(),
    st.just(""),
    st.just({}),
    st.text(max_size=5),
    st.fixed_dictionaries({"type": st.text(max_size=5), "message": st.text(max_size=5)}),
)
responses = st.one_of(st.none(), st.fixed_dictionaries({}, optional={"error": errors, "response": st.text(max_size=3)}))
frames = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.none(), st.text(max_size=4), st.integers()),
        "response": responses,
        "error": errors,
        "complete": st.one_of(st.booleans(), st.none()),
    },
)


@given(frames)
def test_reading_a_frame_is_the_completion_rule(frame: dict[str, Any]) -> None:
    parsed = mux.parse_response_frame(frame)
    assert parsed.final == (parsed.complete or parsed.error is not None or error_of(parsed.response) is not None)
    try:
        got = mux.read_response(frame, "svc", "ws://gateway", check=False)
    except TgConnectError:
        assert parsed.error is not None  # only a top-level error raises when not checking
    else:
        assert parsed.error is None and got == (parsed.response, parsed.final)
    try:
        mux.read_response(frame, "svc", "ws://gateway", check=True)
    except TgConnectError:
        assert parsed.error is not None or error_of(parsed.response) is not None
    else:
        assert parsed.error is None and error_of(parsed.response) is None


names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
bodies = st.dictionaries(names, st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.none()), max_size=4)


@given(
    names,
    st.sampled_from(["text-completion", "config", "graph-rag"]),
    bodies,
    st.one_of(st.none(), names),
    st.one_of(st.none(), names),
)
def test_request_frames_are_the_envelope(
    rid: str, service: str, body: dict[str, Any], flow: str | None, workspace: str | None
) -> None:
    env: dict[str, Any] = {"id": rid, "service": service}
    if flow is not None:
        env["flow"] = flow
    if workspace is not None:
        env["workspace"] = workspace
    env["request"] = body
    expected = json.dumps(env, ensure_ascii=False, separators=(",", ":"))
    assert mux.request_frame(rid, service, body, flow=flow, workspace=workspace) == expected


def test_the_request_table_keeps_the_gateway_limit_and_order() -> None:
    table = mux.Requests(timeout=10.0, limit=2)
    a, b, c, d = (table.add("svc", {"n": i}, None, None) for i in range(4))
    assert [r.rid for r in (a, b, c, d)] == ["r1", "r2", "r3", "r4"]
    assert [r.state for r in (a, b, c, d)] == [mux.SENT, mux.SENT, mux.QUEUED, mux.QUEUED]
    assert table.next_to_send(0.0) is None  # no slot free
    table.end(d)  # a queued request abandoned: it never takes a slot
    table.end(a)
    sent = table.next_to_send(100.0)
    assert sent is c and c.state == mux.SENT and c.deadline == 110.0 and not table.queued
    table.waiting(c, 105.0)
    assert not table.expired(c, 114.0) and table.expired(c, 115.0)
    queued = table.add("svc", {}, None, None)
    assert queued.state == mux.QUEUED and queued.deadline == float("inf")
    table.waiting(queued, 0.0)
    assert not table.expired(queued, 1e9)  # a queued request's timeout starts when it is sent
    assert {r.rid for r in table.lost()} == {b.rid, c.rid, queued.rid} and not table.queued
    assert table.next_to_send(0.0) is None
