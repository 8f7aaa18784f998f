"""Error extraction from every place the gateway puts errors, and the mux completion rule."""

from __future__ import annotations

import json

import pytest

from tg_connect.errors import AccessDeniedError, AuthenticationError, ServiceError
from tg_connect.protocol import mux, replies
from tg_connect.protocol.endpoints import bulk_url, redact, validate_base_url


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"error": "Invalid flow default/f2"}, ("error", "Invalid flow default/f2")),
        ({"error": {"type": "gateway-error", "message": "'question'"}}, ("gateway-error", "'question'")),
        ({"error": {"type": "gateway-error", "message": ""}}, ("gateway-error", "")),
        ({"response": []}, None),
        ({"error": None}, None),
        ([], None),
    ],
)
def test_error_of(body: object, expected: object) -> None:
    assert replies.error_of(body) == expected


def test_http_statuses() -> None:
    with pytest.raises(AuthenticationError) as err:
        replies.raise_for_http(401, {"error": "auth failure"}, "http://h/api/v1/flow")
    assert "http://h/api/v1/flow" in str(err.value) and isinstance(err.value, PermissionError)
    with pytest.raises(AccessDeniedError):
        replies.raise_for_http(403, {"error": "access denied"}, "e")
    with pytest.raises(ServiceError, match="unknown operation"):
        replies.raise_for_http(400, {"error": "unknown operation"}, "e")
    replies.raise_for_http(200, {}, "e")


def test_dropped_errors_are_caught_by_required_fields() -> None:
    with pytest.raises(ServiceError, match="'response'"):
        replies.require_field("text-completion", {"response": None, "end_of_stream": True}, "response")
    assert replies.require_field("embeddings", {"vectors": [[1.0]]}, "vectors") == [[1.0]]


def test_completion_rule() -> None:
    f = mux.parse_response_frame({"id": "r1", "response": {"response": []}, "complete": False})
    assert not f.final
    assert mux.parse_response_frame({"id": "r1", "response": {}, "complete": True}).final
    top = mux.parse_response_frame(
        {"id": "r1", "error": {"type": "error", "message": "Invalid flow"}, "complete": True}
    )
    assert top.final and top.error == ("error", "Invalid flow")
    # knowledge errors arrive with complete:false and nothing follows (docs/protocol.md 5.5)
    knowledge = mux.parse_response_frame(
        {"id": "r1", "response": {"error": {"type": "x", "message": "m"}}, "complete": False}
    )
    assert knowledge.final
    with pytest.raises(ServiceError, match="x: m"):
        mux.raise_for_frame("knowledge", knowledge, "ws://h")
    with pytest.raises(AuthenticationError):
        mux.raise_for_frame(
            "flow",
            mux.parse_response_frame(
                {"id": "r0", "error": {"message": "auth failure", "type": "auth-required"}, "complete": True}
            ),
            "ws://h",
        )


def test_envelopes() -> None:
    assert json.loads(mux.auth_frame(None)) == {"type": "auth", "token": ""}
    env = json.loads(mux.request_frame("r1", "triples", {"limit": 1}, flow="default", workspace="w"))
    assert env == {"id": "r1", "service": "triples", "flow": "default", "workspace": "w", "request": {"limit": 1}}
    assert "flow" not in json.loads(mux.request_frame("r2", "config", {"operation": "list"}))
    assert mux.parse_auth_reply({"type": "auth-ok", "default_workspace": "default"}).ok  # type: ignore[union-attr]
    assert not mux.parse_auth_reply({"type": "auth-failed", "error": "auth failure"}).ok  # type: ignore[union-attr]


def test_urls_are_validated_and_tokens_redacted() -> None:
    assert validate_base_url("http://localhost:8088/") == "http://localhost:8088"
    for bad in ["ftp://h", "localhost:8088", "http://", "http://u:p@h", "http://h/?token=x", ""]:
        with pytest.raises(ValueError):
            validate_base_url(bad)
    url = bulk_url("https://h", "import", "default", "triples", "tg_secret", "default")
    assert url.startswith("wss://h/api/v1/flow/default/import/triples?") and "tg_secret" in url
    assert "tg_secret" not in redact(url) and "token=***" in redact(url)


def test_loopback_detection() -> None:
    from tg_connect.protocol.endpoints import is_loopback

    assert is_loopback("http://127.0.0.1:8088") and is_loopback("ws://localhost") and is_loopback("http://[::1]:1")
    assert not is_loopback("https://gateway.example.com") and not is_loopback("http://10.0.0.5")
