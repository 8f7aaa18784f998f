"""Fixtures for the local gateway tests (named ``local_gw`` so that the repository-wide
``gateway`` fixture, which parametrises over local and real gateways, stays out of it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tg_connect.local import LocalGateway

from .helpers import TOKEN, Http


@pytest.fixture(scope="module")
def local_gw() -> Iterator[LocalGateway]:
    """One token-protected in-memory gateway shared by a test module."""
    with LocalGateway(token=TOKEN, workspaces=["other"]) as gw:
        yield gw


@pytest.fixture()
def http(local_gw: LocalGateway) -> Http:
    return Http(local_gw.url, TOKEN)
