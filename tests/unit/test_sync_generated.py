"""The sync faces are generated from the async ones by ``scripts/gen_sync.py``.

Each checked-in sync module must be exactly what the generator writes from the async source
now: edit the async face and forget to regenerate, or edit a generated file by hand, and this
fails (CI runs pytest, so CI fails), naming the command that fixes it.
"""

from __future__ import annotations

import difflib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_sync", ROOT / "scripts" / "gen_sync.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_sync", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


gen = load_generator()


@pytest.mark.parametrize("job", gen.JOBS, ids=[job.target for job in gen.JOBS])
def test_the_checked_in_sync_face_is_what_the_generator_writes(job: Any) -> None:
    wanted = gen.generate(job)
    current = (ROOT / job.target).read_text()
    if current != wanted:
        diff = "".join(
            difflib.unified_diff(
                current.splitlines(True),
                wanted.splitlines(True),
                f"{job.target} (checked in)",
                f"{job.target} (generated)",
            )
        )
        pytest.fail(
            f"{job.target} is stale or was edited by hand; run `{gen.COMMAND}` and commit the result\n" + diff[:6000]
        )


def test_every_generated_file_says_so() -> None:
    for job in gen.JOBS:
        head = (ROOT / job.target).read_text().splitlines()[:2]
        assert head == [
            f"# Generated from {job.source} by scripts/gen_sync.py; do not edit.",
            f"# Change the async face there, then run: {gen.COMMAND}",
        ]


def fake_job(tmp_path: Path, source: str) -> Any:
    path = tmp_path / "core.py"
    path.write_text(source)
    return gen.Job(
        source=str(path),
        target=str(tmp_path / "sync.py"),
        classes={"AsyncThing": "Thing"},
        docstring="A test.",
        imports=("from ..transport import bridge", "from . import core"),
    )


def test_a_member_without_a_rule_is_refused(tmp_path: Path) -> None:
    job = fake_job(
        tmp_path,
        '''
class AsyncThing:
    """A thing."""

    def count(self) -> int:
        return 1
''',
    )
    with pytest.raises(gen.GenerationError, match="count is neither async nor streaming"):
        gen.generate(job)


def test_a_docstring_that_still_speaks_of_async_is_refused(tmp_path: Path) -> None:
    job = fake_job(
        tmp_path,
        '''
class AsyncThing:
    """A thing."""

    async def count(self) -> int:
        """Await the count."""
        return 1
''',
    )
    with pytest.raises(gen.GenerationError, match="speaks of async"):
        gen.generate(job)


def test_an_async_method_becomes_a_bridge_call_with_the_same_parameters(tmp_path: Path) -> None:
    job = fake_job(
        tmp_path,
        '''
class AsyncThing:
    """A thing (``api.async_thing()``)."""

    async def count(self, a: int, /, b: str = "x", *args: int, c: bool = False,
                    **kw: float) -> int:
        """How many."""
        return 1

    async def _private(self) -> None:
        pass
''',
    )
    code = gen.generate(job)
    assert (
        '''class Thing:
    """A thing (``api.thing()``)."""

    def __init__(self, inner: core.AsyncThing) -> None:
        self._a: core.AsyncThing = inner

    def count(self, a: int, /, b: str = "x", *args: int, c: bool = False, **kw: float) -> int:
        """How many."""
        return bridge.run(self._a.count(a, b, *args, c=c, **kw))
'''
        in code
    )
    assert "_private" not in code
