"""``tg-connect serve`` says on start, as the notebooks do, that its LLM and embedder are
deterministic stand-ins, and how to point it at a real LLM (``--llm-url``).

Driven through the installed console script: started on a free port (``--port 0``), its first
lines read up to "press Ctrl-C to stop", then stopped with Ctrl-C (SIGINT).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sysconfig
from pathlib import Path

from ..processes import ctrl_c_as_at_a_terminal

SCRIPT = Path(sysconfig.get_path("scripts")) / "tg-connect"


def _banner(*args: str) -> list[str]:
    assert SCRIPT.exists(), f"the console script is not installed at {SCRIPT} (pip install -e .)"
    env = {k: v for k, v in os.environ.items() if k != "TRUSTGRAPH_TOKEN"}
    proc = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        preexec_fn=ctrl_c_as_at_a_terminal,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if "press Ctrl-C to stop" in line or len(lines) > 20:
                break
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, (lines, rest)
    assert rest.strip().endswith("stopped"), rest
    assert lines[0].startswith("tg-connect local gateway at http://127.0.0.1:"), lines
    assert lines[-1].strip() == "press Ctrl-C to stop", lines
    return lines


def _line(lines: list[str], start: str) -> str:
    found = [line.strip() for line in lines if line.strip().startswith(start)]
    assert len(found) == 1, (start, lines)
    return found[0]


def test_the_banner_says_the_models_are_stand_ins_and_how_to_use_a_real_llm() -> None:
    lines = _banner()
    text = "\n".join(lines)
    assert _line(lines, "LLM:").startswith("LLM: a deterministic stand-in, not a real model (scripted replies;")
    assert _line(lines, "embedder:").startswith("embedder: a deterministic stand-in, not a real model (word-hash")
    assert "--llm-url does not change it" in _line(lines, "embedder:")
    assert "for a real one: tg-connect serve --llm-url http://localhost:11434/v1" in text


def test_with_llm_url_the_banner_names_it_and_the_embedder_is_still_a_stand_in() -> None:
    lines = _banner("--llm-url", "http://someone:pa55word@127.0.0.1:9/v1")  # nothing listens there: not asked
    text = "\n".join(lines)
    assert _line(lines, "LLM:").startswith("LLM: http://127.0.0.1:9/v1 (OpenAI-compatible; every LLM call:")
    assert _line(lines, "embedder:").startswith("embedder: a deterministic stand-in, not a real model")
    assert "deterministic stand-in, not a real model (scripted" not in text
    assert "pa55word" not in text and "someone" not in text  # credentials in the URL are never printed
