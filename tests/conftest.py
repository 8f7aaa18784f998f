"""Shared fixtures: gateways to test against, and the Hypothesis settings every run uses.

``gateway`` runs a test against the local gateway and against the real TrustGraph gateway.
The real one runs when ``TG_REAL_GATEWAY_URL`` is set (``.ci/run`` starts one and sets it);
without it the real cases are reported as skipped, with the reason, so a run shows what it
did not check. The same test code runs on both; ``Gateway.real`` tells a test which store
behaviours to expect.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings

T = TypeVar("T")

# Property tests check what they generate, not how fast: on a shared two-core machine (CI
# runs three suites at once) generating and running an example can take seconds, and
# Hypothesis's timing checks (the per-example deadline, the too_slow health check) then fail
# tests that found nothing wrong. Those two are off; the checks about the data itself
# (filter_too_much, data_too_large, large_base_example) stay on, as they do not depend on
# load. A test's own @settings inherits this profile, but a test that sets
# suppress_health_check replaces the list: it must add to HYPOTHESIS_SUPPRESSED. The example
# database stays on (a failure found once is tried first next time), and print_blob gives the
# line that replays a failure. The fast suite fixes the seed (--hypothesis-seed=0); a plain
# `pytest -q` explores new examples each run.
HYPOTHESIS_SUPPRESSED = [HealthCheck.too_slow]
settings.register_profile("tg_connect", deadline=None, suppress_health_check=HYPOTHESIS_SUPPRESSED, print_blob=True)
settings.load_profile("tg_connect")

REAL_URL = os.environ.get("TG_REAL_GATEWAY_URL")
NO_REAL_GATEWAY = (
    "no real gateway: set TG_REAL_GATEWAY_URL (and TG_REAL_GATEWAY_TOKEN) to run this against "
    "a TrustGraph 2.11 gateway (docs/real-gateway.md)"
)


@dataclass
class Gateway:
    """A gateway under test: where it is, a token it accepts, and how long stores take."""

    name: str
    url: str
    token: str | None = field(default=None, repr=False)
    settle_seconds: float = 0.0  # how long stored data may take to become readable

    @property
    def real(self) -> bool:
        return self.name == "real"

    def eventually(self, probe: Callable[[], T], done: Callable[[T], bool], timeout: float | None = None) -> T:
        """Call ``probe`` until ``done(result)``; the real gateway stores asynchronously."""
        deadline = time.monotonic() + (self.settle_seconds if timeout is None else timeout)
        while True:
            result = probe()
            if done(result) or time.monotonic() > deadline:
                return result
            time.sleep(0.5)


@pytest.fixture(scope="session")
def local_gateway() -> Iterator[Any]:
    from tg_connect.local import LocalGateway

    with LocalGateway() as gw:
        yield gw


def real_gateway_param() -> Any:
    """The ``real`` case of ``gateway``: marked ``real`` (``-m "not real"`` leaves it out), and
    skipped with the reason when no real gateway is configured."""
    marks = [pytest.mark.real] + ([] if REAL_URL else [pytest.mark.skip(reason=NO_REAL_GATEWAY)])
    return pytest.param("real", marks=marks)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "gateway" in metafunc.fixturenames:
        metafunc.parametrize("gateway", ["local", real_gateway_param()], indirect=True)


@pytest.fixture
def gateway(request: pytest.FixtureRequest, local_gateway: Any) -> Gateway:
    if request.param == "real":
        assert REAL_URL is not None
        return Gateway("real", REAL_URL, os.environ.get("TG_REAL_GATEWAY_TOKEN", "tg_test"), 180.0)
    return Gateway("local", local_gateway.url, None, 0.0)


@pytest.fixture
def run_id() -> str:
    """A unique id for names a test creates (collections, IRIs), so runs never collide."""
    return uuid.uuid4().hex[:10]


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "slow: large-volume tests")
    config.addinivalue_line("markers", "fresh_store: runs before every other test (see pytest_collection_modifyitems)")


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    """Tests marked ``fresh_store`` run first. The real gateway's triple store slows as it
    fills (docs/reliability.md), and the whole suite stores tens of thousands of triples in
    it: a test that measures the store's own speed gets the store as ``.ci/run`` started it."""
    items.sort(key=lambda item: item.get_closest_marker("fresh_store") is None)


@pytest.fixture(autouse=True)
def _python_spelling_after() -> Iterator[None]:
    """``cli.main`` switches messages to flag spelling for the whole process (as the command
    line owns its process); a test that called it in-process must not leave later tests
    reading ``--flags`` where Python callers see keywords."""
    yield
    from tg_connect import wording

    wording.use_python_spelling()
