"""Settings named in messages: Python keywords by default, CLI flags once the CLI asks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tg_connect import wording


@pytest.fixture(autouse=True)
def _python_after() -> Iterator[None]:
    yield
    wording.use_python_spelling()


def test_python_spelling() -> None:
    assert not wording.cli_spelling()
    assert wording.setting("extra_columns", "ignore") == 'extra_columns="ignore"'
    assert wording.setting("fail_fast", True) == "fail_fast=True"
    assert wording.setting("batch_size", 10) == "batch_size=10"
    assert wording.setting("core_id") == "core_id"


def test_cli_spelling() -> None:
    wording.use_cli_spelling({"max_rows_per_second": "--rate"})
    assert wording.cli_spelling()
    assert wording.setting("extra_columns", "ignore") == "--extra-columns ignore"
    assert wording.setting("fail_fast", True) == "--fail-fast"
    assert wording.setting("core_id") == "--core-id"
    assert wording.setting("max_rows_per_second", 500) == "--rate 500"
