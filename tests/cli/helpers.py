"""Running the installed ``tg-connect`` console script, as a user's shell does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def console_script() -> str:
    """The ``tg-connect`` script that ``pip install`` put beside this interpreter (else on PATH)."""
    found = shutil.which("tg-connect", path=str(Path(sys.executable).parent)) or shutil.which("tg-connect")
    assert found, "tg-connect is not installed: pip install -e . puts the console script beside python"
    return found


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``tg-connect ARGS`` with the environment's gateway variables cleared unless given."""
    base = {k: v for k, v in os.environ.items() if k not in ("TRUSTGRAPH_URL", "TRUSTGRAPH_TOKEN", "TG_CONNECT_DEBUG")}
    return subprocess.run(
        [console_script(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**base, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line on stderr (the assertion shows all of stderr when there is more)."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]
