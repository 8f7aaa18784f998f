"""Every fenced code block in README.md runs as written, against local gateways.

The blocks are read from the README when the tests are collected, so a block added later is
tested without touching this file. Each test is one block, named by the heading above it and
its position under that heading (``load-and-read-0`` is the first block under "Load and
read"), and runs twice: against an open ``LocalGateway()`` and against
``LocalGateway(token=...)``, which refuses every other credential.

The rules, which are the only liberties taken with the README's text:

* **Placeholders.** The README writes the gateway as ``http://localhost:8088`` (TrustGraph's
  default) and the token as ``tg_...``. Each literal occurrence is replaced by the test
  gateway's URL and the test token; nothing else in a block is changed. The test token is a
  ``tg_`` API key: the open gateway accepts any such key, as the real gateway without IAM
  does, and the token gateway accepts only this one. ``$TRUSTGRAPH_URL`` is the test
  gateway's URL (for snippets that rely on the default). ``$TRUSTGRAPH_TOKEN`` is the token
  when the gateway requires it and unset when it is open, so a snippet that forgets to pass
  the token fails against the token gateway.
* **Sections.** The python blocks under one heading run in order in one namespace (a later
  block may use ``df`` or ``api`` from an earlier one), in the section's own working
  directory, as a reader pasting them into one session would. A section never sees another
  section's names or files: each section must stand on its own. Running one block alone
  (``-k``) runs its section's earlier blocks first. A bash block runs each command in a
  fresh ``bash`` in the section's directory, with this environment's ``tg-connect`` console
  script first on ``PATH``.
* **Your files.** A snippet that reads the user's own data names a file (``graph.parquet``,
  ``part-*.parquet``). The names in ``INPUTS`` exist in each section's directory before it
  runs, holding triples of the bundled sample graph (:func:`tg_connect.sample.sample_triples`);
  a new snippet that reads another file of the user's fails until its name is added there.
* **Servers.** ``tg-connect serve`` runs until stopped: it is started, must answer a flow
  list within 30 s, and is stopped. Its ``--port 8088`` becomes a free port (8088 is the
  default gateway's port, taken wherever a real gateway runs).
* **Not run.** In the README's first block, ``python3 -m pip install ...`` (installing
  would change the environment that runs these tests, which already has the package and its
  test extras) and ``python3 -m pytest -q`` (the suite would run itself from inside itself).
  ``tg-connect demo``, between them, runs. A block must run at least one command.
* **Passing.** A python block passes when it raises nothing and every
  :class:`tg_connect.LoadReport` in its namespace is ``ok``; a command when it exits 0 with
  no traceback on stderr.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import tg_connect
from tg_connect.sample import sample_triples

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
URL_PLACEHOLDER = "http://localhost:8088"
TOKEN_PLACEHOLDER = "tg_..."
TOKEN = f"tg_readme_{uuid.uuid4().hex[:12]}"
LANGUAGES = {"python": "python", "py": "python", "bash": "bash", "sh": "bash", "shell": "bash", "console": "bash"}
NOT_RUN = (re.compile(r"^python3? -m pip install\b"), re.compile(r"^python3? -m pytest\b"))
SERVE = re.compile(r"^tg-connect serve\b")
# The user's files the snippets read, and how many sample triples each holds.
INPUTS = {"graph.parquet": 200, "part-0.parquet": 100, "part-1.parquet": 100}
MODES = ("open", "token")
FENCE = re.compile(r"^(\s*)```\s*([\w+-]*)\s*$")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
COMMAND_TIMEOUT = 300.0


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README: under which heading, its place there, its text."""

    section: str
    index: int
    language: str
    code: str
    line: int  # the line of the opening fence

    @property
    def id(self) -> str:
        return f"{slug(self.section)}-{self.index}"


def slug(heading: str) -> str:
    """A heading as a test id part: ``Query and ask: `tg_connect.Api``` -> ``query-and-ask-tg-connect-api``."""
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-") or "top"


def read_blocks(text: str) -> list[Block]:
    """The README's fenced blocks in order, each with the nearest heading above it."""
    blocks: list[Block] = []
    section = ""
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        line = lines[number]
        fence = FENCE.match(line)
        if fence is None:
            heading = HEADING.match(line)
            section = heading.group(1) if heading else section
            number += 1
            continue
        end = closing_fence(lines, number)
        index = sum(1 for b in blocks if b.section == section)
        code = textwrap.dedent("\n".join(lines[number + 1 : end]))
        blocks.append(Block(section, index, fence.group(2).lower(), code, number + 1))
        number = end + 1
    return blocks


def closing_fence(lines: list[str], start: int) -> int:
    for number in range(start + 1, len(lines)):
        if lines[number].strip() == "```":
            return number
    raise AssertionError(f"README.md:{start + 1}: a code fence that is never closed")


BLOCKS = read_blocks(README.read_text(encoding="utf-8"))


def substitute(code: str, url: str, token: str) -> str:
    """The placeholder rule of the module docstring: the literal URL and token, nothing else."""
    return code.replace(URL_PLACEHOLDER, url).replace(TOKEN_PLACEHOLDER, token)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SectionRun:
    """One section's progress against one gateway: its namespace and working directory."""

    directory: Path
    namespace: dict[str, Any] = field(default_factory=dict)
    done: int = 0
    failed: str | None = None


@dataclass
class Target:
    """A gateway the README runs against, and the credential the environment holds for it."""

    mode: str
    gateway: tg_connect.LocalGateway
    env_token: str | None
    root: Path
    sections: dict[str, SectionRun] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("TRUSTGRAPH_URL", "TRUSTGRAPH_TOKEN")}
        env["TRUSTGRAPH_URL"] = self.gateway.url
        if self.env_token is not None:
            env["TRUSTGRAPH_TOKEN"] = self.env_token
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    def section(self, name: str, index: int) -> SectionRun:
        """The section's run, fresh when this block ran already (a rerun starts over)."""
        run = self.sections.get(name)
        if run is None or run.done > index:
            directory = self.root / f"{slug(name)}-{uuid.uuid4().hex[:6]}"
            directory.mkdir(parents=True)
            for filename, rows in INPUTS.items():
                pq.write_table(sample_triples(rows, seed=len(filename)), directory / filename)
            run = self.sections[name] = SectionRun(directory)
        return run


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Target]]:
    root = tmp_path_factory.mktemp("readme")
    with tg_connect.LocalGateway() as open_gw, tg_connect.LocalGateway(token=TOKEN) as token_gw:
        yield {
            "open": Target("open", open_gw, None, root / "open"),
            "token": Target("token", token_gw, TOKEN, root / "token"),
        }


def run_python(block: Block, code: str, namespace: dict[str, Any]) -> None:
    """Execute the block with its README line numbers, so a traceback points at the README."""
    compiled = compile("\n" * block.line + code, str(README), "exec")
    exec(compiled, namespace)
    incomplete = [f"{name}: {value}" for name, value in namespace.items() if is_incomplete(value)]
    assert not incomplete, f"README.md:{block.line}: a load in the snippet is not complete:\n" + "\n".join(incomplete)


def is_incomplete(value: object) -> bool:
    return isinstance(value, tg_connect.LoadReport) and not value.ok


@dataclass(frozen=True)
class Command:
    """One command of a bash block, and the README line it is on."""

    line: int
    text: str


def commands(block: Block, code: str) -> list[Command]:
    """A bash block's commands: continuation lines joined, blank and comment lines dropped;
    ``a && b`` is two commands, run in order, each required to succeed."""
    found: list[Command] = []
    pending = ""
    for number, line in enumerate(code.splitlines(), block.line + 1):
        pending += line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        if pending and not pending.startswith("#"):
            found.extend(Command(number, part.strip()) for part in pending.split(" && "))
        pending = ""
    return found


def run_bash(block: Block, code: str, target: Target, directory: Path) -> None:
    console_script = Path(sys.executable).parent / "tg-connect"
    assert console_script.exists(), f"no {console_script}: install the package (pip install -e .) to run the README"
    ran = 0
    for command in commands(block, code):
        if any(rule.match(command.text) for rule in NOT_RUN):
            continue
        if SERVE.match(command.text):
            serve(command, target, directory)
        else:
            run_command(command, target, directory)
        ran += 1
    assert ran, f"README.md:{block.line}: a bash block with no command this test runs"


def run_command(command: Command, target: Target, directory: Path) -> None:
    done = subprocess.run(
        ["bash", "-c", command.text],
        cwd=directory,
        env=target.env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    where = f"README.md:{command.line}: `{command.text}` (in {directory})"
    assert done.returncode == 0, f"{where} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, f"{where} printed a traceback:\n{done.stderr}"


def serve(command: Command, target: Target, directory: Path) -> None:
    """Start a ``tg-connect serve`` command on a free port, see it answer, stop it."""
    port = free_port()
    text = re.sub(r"--port\s+8088\b", f"--port {port}", command.text)
    where = f"README.md:{command.line}: `{command.text}`"
    assert f"--port {port}" in text, f"{where}: serve on the README's gateway port, --port 8088"
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {text}"],
        cwd=directory,
        env=target.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        answered = wait_for_flows(f"http://127.0.0.1:{port}", target.env_token, proc)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert answered, f"{where} did not answer within 30 s:\n{out}\n{err}"
    assert "Traceback" not in err, f"{where} printed a traceback:\n{err}"


def wait_for_flows(url: str, token: str | None, proc: subprocess.Popen[str]) -> bool:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        request = urllib.request.Request(
            url + "/api/v1/flow", data=b'{"operation":"list-flows"}', headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return "default" in json.loads(response.read())["flow-ids"]
        except OSError:
            time.sleep(0.2)
    return False


def run_block(block: Block, target: Target, run: SectionRun) -> None:
    code = substitute(block.code, target.gateway.url, TOKEN)
    if LANGUAGES[block.language] == "python":
        run_python(block, code, run.namespace)
    else:
        run_bash(block, code, target, run.directory)


def test_the_readme_has_blocks_in_languages_this_test_runs() -> None:
    """Every block is one this module runs, so no new block is passed over unseen."""
    assert len(BLOCKS) >= 8
    unknown = [f"README.md:{b.line}: ```{b.language}" for b in BLOCKS if b.language not in LANGUAGES]
    assert not unknown, "blocks in a language this test does not run (add it to LANGUAGES):\n" + "\n".join(unknown)


def test_placeholders_are_the_ones_substituted() -> None:
    """A gateway URL or token in a block is written as the placeholder the rules replace, so
    no snippet reaches a gateway the test did not start."""
    odd = [
        f"README.md:{b.line}: {found}"
        for b in BLOCKS
        for found in re.findall(r"https?://(?:localhost|127\.0\.0\.1)[^\s\"')]*", b.code)
        if found != URL_PLACEHOLDER
    ]
    assert not odd, "write the gateway as " + URL_PLACEHOLDER + ":\n" + "\n".join(odd)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block(block: Block, mode: str, targets: dict[str, Target], monkeypatch: pytest.MonkeyPatch) -> None:
    target = targets[mode]
    run = target.section(block.section, block.index)
    monkeypatch.chdir(run.directory)
    monkeypatch.setenv("TRUSTGRAPH_URL", target.gateway.url)
    if target.env_token is None:
        monkeypatch.delenv("TRUSTGRAPH_TOKEN", raising=False)
    else:
        monkeypatch.setenv("TRUSTGRAPH_TOKEN", target.env_token)
    earlier = [b for b in BLOCKS if b.section == block.section and run.done <= b.index < block.index]
    for before in earlier:
        assert run.failed is None, f"{run.failed} failed, and this block runs after it in the same namespace"
        run_one(before, target, run)
    assert run.failed is None, f"{run.failed} failed, and this block runs after it in the same namespace"
    run_one(block, target, run)


def run_one(block: Block, target: Target, run: SectionRun) -> None:
    run.failed = block.id
    run_block(block, target, run)
    run.failed = None
    run.done = block.index + 1
