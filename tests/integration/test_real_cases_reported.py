"""Without a real gateway, the tests' real-gateway cases are reported as skipped, with the reason,
rather than left out of the run: a newcomer's ``pytest -q -rs`` shows what it did not check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..conftest import NO_REAL_GATEWAY

ROOT = Path(__file__).resolve().parents[2]


def run_pytest(*args: str) -> str:
    """A pytest run in a child process with no real gateway configured; its whole output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TG_REAL_GATEWAY_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_real_cases_show_as_skipped_with_the_reason() -> None:
    out = run_pytest(
        "tests/flow/test_queries.py::test_reranker",
        "tests/integration/test_differential.py::test_shapes_compare",
        "tests/integration/test_differential.py::test_mux_streams_have_the_same_shape",
    )
    # Four faces on the local gateway run, the same four on the real one are skipped; the check
    # of the differential comparison itself runs, the comparison is skipped.
    assert "5 passed, 5 skipped" in out, out
    assert f"SKIPPED [4] tests/flow/test_queries.py: {NO_REAL_GATEWAY}" in out, out
    assert "SKIPPED [1] tests/integration/test_differential.py:" in out and out.count(NO_REAL_GATEWAY) == 2, out
