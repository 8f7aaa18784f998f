"""``progress=True`` shows progress in the form that suits where it runs.

A terminal gets a tqdm bar; a Jupyter kernel a widget bar if ipywidgets imports, else a text
bar (never tqdm's ``IProgress not found`` warning); anything else (a scheduler's log, a pipe)
timestamped lines. Terminals and kernels are simulated: ``isatty`` on a fake stderr, a fake
``IPython`` module whose ``get_ipython()`` has a ``kernel``, and ``ipywidgets`` present or
blocked in ``sys.modules``.
"""

from __future__ import annotations

import io
import re
import sys
import types
import warnings
from typing import Any

import pytest
from tqdm.std import tqdm as text_tqdm

from tg_connect.bulk import progress as progress_mod
from tg_connect.bulk.progress import LogLines, Progress, ProgressSink, choose_display

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ")


class Stream(io.StringIO):
    """A stderr that says whether it is a terminal."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class Shell:
    """What ``get_ipython()`` returns: a kernel's shell has a ``kernel``, a terminal IPython's not."""

    def __init__(self, kernel: bool) -> None:
        if kernel:
            self.kernel = object()


def fake_ipython(monkeypatch: pytest.MonkeyPatch, shell: Shell | None) -> None:
    module = types.ModuleType("IPython")
    module.get_ipython = lambda: shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", module)


def fake_widgets(monkeypatch: pytest.MonkeyPatch, present: bool) -> None:
    if present:
        module = types.ModuleType("ipywidgets")
        module.FloatProgress = object  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "ipywidgets", module)
    else:
        monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import raises ImportError


@pytest.fixture
def no_ipython(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "IPython", raising=False)


def test_a_terminal_gets_a_bar(no_ipython: None) -> None:
    assert choose_display(Stream(tty=True)) == "terminal"


def test_a_log_gets_lines(no_ipython: None) -> None:
    assert choose_display(Stream(tty=False)) == "lines"


def test_a_stream_without_isatty_is_a_log(no_ipython: None) -> None:
    assert choose_display(object()) == "lines"  # type: ignore[arg-type]


def test_a_notebook_with_ipywidgets_gets_a_widget_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ipython(monkeypatch, Shell(kernel=True))
    fake_widgets(monkeypatch, present=True)
    assert choose_display(Stream(tty=False)) == "notebook"


def test_a_notebook_without_ipywidgets_gets_text(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ipython(monkeypatch, Shell(kernel=True))
    fake_widgets(monkeypatch, present=False)
    assert choose_display(Stream(tty=False)) == "notebook-text"


def test_ipython_in_a_terminal_is_no_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ipython(monkeypatch, Shell(kernel=False))
    assert choose_display(Stream(tty=True)) == "terminal"
    assert choose_display(Stream(tty=False)) == "lines"


def test_ipython_imported_outside_a_shell_is_no_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ipython(monkeypatch, None)
    assert choose_display(Stream(tty=False)) == "lines"


def test_a_notebook_without_ipywidgets_warns_nothing_and_draws_a_text_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_ipython(monkeypatch, Shell(kernel=True))
    fake_widgets(monkeypatch, present=False)
    err = Stream(tty=False)
    monkeypatch.setattr(sys, "stderr", err)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a TqdmWarning (or any other) fails the test
        sink = ProgressSink(True, 5000, "load triples")
        sink.update(1234, 10_000)
        sink.close()
    assert isinstance(sink._bar, text_tqdm) and type(sink._bar).__module__ == "tqdm.std"
    assert "1234/5000" in err.getvalue()


def test_the_widget_bar_falls_back_to_text_when_tqdm_cannot_draw_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """ipywidgets importable but too old for tqdm: tqdm warns and draws text, so we draw text."""

    def refuse(total: int | None, desc: str) -> Any:
        return None

    fake_ipython(monkeypatch, Shell(kernel=True))
    fake_widgets(monkeypatch, present=True)
    monkeypatch.setattr(progress_mod, "_notebook_bar", refuse)
    monkeypatch.setattr(sys, "stderr", Stream(tty=False))
    sink = ProgressSink(True, None, "read triples")
    assert type(sink._bar).__module__ == "tqdm.std"
    sink.close()


def test_a_log_gets_timestamped_lines_with_whole_numbers(no_ipython: None, monkeypatch: pytest.MonkeyPatch) -> None:
    err = Stream(tty=False)
    monkeypatch.setattr(sys, "stderr", err)
    sink = ProgressSink(True, 5000, "load triples")
    assert sink._bar is None  # no bar, so no carriage returns in the log
    sink.update(1234, 2_000_000)
    sink.close()
    lines = err.getvalue().splitlines()
    assert "\r" not in err.getvalue()
    assert len(lines) == 1, lines  # the update came within the first interval: only the end
    assert all(LINE.match(line) for line in lines), lines
    assert "tg-connect load triples: 1,234/5,000 rows, 2.0 MB, 1 messages" in lines[-1]
    assert lines[-1].endswith("(done)")


def test_a_bar_counts_whole_rows(no_ipython: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``1.2k`` (unit scaling) and no ``1234.0``."""
    err = Stream(tty=True)
    monkeypatch.setattr(sys, "stderr", err)
    sink = ProgressSink(True, None, "read triples")
    for _ in range(3):
        sink.update(1234, 100)
    sink.close()
    text = err.getvalue()
    assert "3702 rows" in text, text
    assert "3.7k" not in text and "3702.0" not in text


def test_a_failed_job_never_shows_done() -> None:
    out = Stream(tty=False)
    lines = LogLines(stream=out)
    sink = ProgressSink(lines, 10, "load triples")
    sink.update(4, 100)
    sink.close(failed=True)
    sink.close()  # a second close (a finally after the failure path) changes nothing
    text = out.getvalue()
    assert "(done)" not in text and text.count("(stopped)") == 1, text


def test_a_callable_hears_how_the_job_ended() -> None:
    seen: list[Progress] = []
    sink = ProgressSink(seen.append, None, "read triples")
    sink.update(3, 30)
    sink.close(failed=True)
    assert [(p.rows, p.done, p.failed) for p in seen] == [(3, False, False), (3, False, True)]
    assert all(isinstance(p.rows, int) and isinstance(p.batches, int) for p in seen)


def test_log_lines_come_at_most_every_interval() -> None:
    out = Stream(tty=False)
    lines = LogLines(interval=5.0, stream=out)
    for elapsed in (0.0, 1.0, 4.9, 5.0, 6.0, 10.5):
        lines(Progress(10, 0, 1, elapsed, None, False))
    lines(Progress(10, 0, 1, 11.0, None, True))
    elapsed = [line.split(", ")[3] for line in out.getvalue().splitlines()]
    assert elapsed == ["5.0 s", "10.5 s", "11.0 s"]  # an interval after the start, the last line, the end


def test_progress_rejects_what_it_cannot_use() -> None:
    with pytest.raises(TypeError, match="progress must be"):
        ProgressSink("yes", None, "load triples")
