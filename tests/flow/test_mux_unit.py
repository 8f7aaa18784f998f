"""The socket client's fast frame reading agrees with the protocol core's completion rule."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tg_connect.protocol import mux
from tg_connect.transport.mux_client import classify, is_final

errors = st.one_of(st.none(), st.just(""), st.just({}), st.text(max_size=5),
                   st.fixed_dictionaries({"type": st.text(max_size=5), "message": st.text(max_size=5)}))
responses = st.one_of(st.none(), st.fixed_dictionaries({}, optional={"error": errors, "response": st.text(max_size=3)}))
frames = st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.none(), st.text(max_size=4), st.integers()),
    "response": responses,
    "error": errors,
    "complete": st.one_of(st.booleans(), st.none()),
})


@given(frames)
def test_classify_is_the_protocol_core_rule(frame: dict[str, Any]) -> None:
    fast, core = classify(frame), mux.parse_response_frame(frame)
    assert fast == core
    assert is_final(fast) == core.final


names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
bodies = st.dictionaries(names, st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.none()), max_size=4)


@given(names, st.sampled_from(["text-completion", "config", "graph-rag"]), bodies,
       st.one_of(st.none(), names), st.one_of(st.none(), names))
def test_request_frames_are_the_protocol_core_envelope(rid: str, service: str, body: dict[str, Any],
                                                       flow: str | None, workspace: str | None) -> None:
    from tg_connect.transport.mux_client import request_frame

    assert request_frame(rid, service, body, flow, workspace) == mux.request_frame(
        rid, service, body, flow=flow, workspace=workspace)
