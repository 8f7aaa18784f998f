"""The library's messages about URLs, tokens and an absent gateway name the setting as the
caller writes it: a keyword in Python, a flag once the CLI has switched wording over."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tg_connect import InputError, wording
from tg_connect.cli import FLAGS
from tg_connect.protocol.endpoints import validate_base_url
from tg_connect.target import resolve_target
from tg_connect.transport.connect import auth_refused, no_answer


@pytest.fixture(autouse=True)
def _python_after() -> Iterator[None]:
    yield
    wording.use_python_spelling()


def message(url: str, origin: str | None = None) -> str:
    with pytest.raises(InputError) as raised:
        validate_base_url(url, origin=origin)
    assert isinstance(raised.value, ValueError)  # as before: code catching ValueError still does
    return str(raised.value)


def test_url_messages_in_python() -> None:
    assert message("localhost:8088") == 'url="localhost:8088" has no scheme: did you mean url="http://localhost:8088"?'
    assert 'give the gateway\'s base URL, url="http://h:8088"' in message("http://h:8088/api/v1")
    assert 'url="https://h/tg"' in message("https://h/tg/api/v1/socket")
    assert "not 'ftp'" in message("ftp://h")
    secret = message("http://user:tg_secret@h")
    assert "tg_secret" not in secret and 'pass the token as token="..."' in secret
    assert "tg_x" not in message("http://h/?token=tg_x")
    assert validate_base_url("http://h:8088/prefix/") == "http://h:8088/prefix"  # a proxy's prefix is kept


def test_url_messages_on_the_cli() -> None:
    wording.use_cli_spelling(FLAGS)
    assert message("localhost:8088") == "--url localhost:8088 has no scheme: did you mean --url http://localhost:8088?"
    assert "--url http://h:8088 (tg_connect adds" in message("http://h:8088/api/v1/")


def test_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTGRAPH_URL", "http://h:8088/api/v1")
    with pytest.raises(InputError, match="TRUSTGRAPH_URL=http://h:8088/api/v1: give the gateway's base URL"):
        resolve_target()
    assert resolve_target("http://other:1").url == "http://other:1"  # an explicit URL wins


def test_token_and_gateway_messages_in_both_spellings() -> None:
    missing = str(auth_refused("http://h/api/v1/flow", token_given=False))
    refused = str(auth_refused("http://h/api/v1/flow", token_given=True))
    absent = str(no_answer("http://h/api/v1/flow", "refused"))
    assert "requires a token and none was given (pass token= or set TRUSTGRAPH_TOKEN)" in missing
    assert "refused the token (check the token given as token= or $TRUSTGRAPH_TOKEN)" in refused
    assert absent.endswith("is the gateway running? pass url= or set TRUSTGRAPH_URL")
    wording.use_cli_spelling(FLAGS)
    assert "(pass --token or set TRUSTGRAPH_TOKEN)" in str(auth_refused("e", token_given=False))
    assert "(check the token given as --token or $TRUSTGRAPH_TOKEN)" in str(auth_refused("e", token_given=True))
    assert str(no_answer("e", "refused")).endswith("is the gateway running? set --url or TRUSTGRAPH_URL")
