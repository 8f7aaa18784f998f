"""Progress reporting for bulk jobs: ``progress=True``, a callable, or a tqdm instance.

``True`` shows progress in the form that suits where the process runs (:func:`choose_display`):

* a terminal (stderr is a TTY): a tqdm bar on stderr;
* a Jupyter notebook (an IPython kernel is running): a widget bar when ipywidgets can be
  imported, else a plain tqdm text bar (never tqdm's ``IProgress not found`` warning);
* anything else (a scheduler's log, a pipe, a file): :class:`LogLines`, one timestamped line
  every few seconds and one at the end, since a bar's carriage returns make a log unreadable
  (pass ``progress=LogLines(interval=60)`` to choose lines, and their pace, yourself).

A callable receives a :class:`Progress` record after every message (or batch read) and a last
one when the job ends (``done`` if it finished, ``failed`` if it stopped on an error); a tqdm
instance is advanced by rows. Row counts are whole numbers everywhere (no ``1.2k`` or ``123.0``).
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from tqdm.std import TqdmWarning
from tqdm.std import tqdm as text_tqdm


@dataclass(frozen=True)
class Progress:
    """Where a bulk job is: rows and bytes moved so far, messages, seconds, and how it ended.

    ``done`` is true on the last record of a job that finished; ``failed`` on the last record
    of a job that stopped on an error (the error itself is raised to the caller).
    """

    rows: int
    bytes: int
    batches: int
    elapsed: float
    total_rows: int | None
    done: bool
    failed: bool = False


ProgressArg = bool | Callable[[Progress], Any] | Any | None
Display = Literal["terminal", "notebook", "notebook-text", "lines"]


def _ipython_kernel() -> bool:
    """Whether this process runs inside an IPython kernel (Jupyter), without importing IPython."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    if get is None:
        return False
    try:
        shell = get()
    except Exception:  # a broken or half-imported IPython is no kernel to draw in
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def _has_widgets() -> bool:
    """Whether ipywidgets (which tqdm's notebook bar needs) can be imported."""
    try:
        import ipywidgets
    except ImportError:
        return False
    return hasattr(ipywidgets, "FloatProgress")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def choose_display(stream: TextIO | None = None) -> Display:
    """How ``progress=True`` shows progress here: ``"notebook"`` (widget bar), ``"notebook-text"``
    (text bar: a kernel without ipywidgets), ``"terminal"`` (text bar) or ``"lines"`` (log lines).

    A notebook is recognised first (its stderr is no TTY, yet it draws bars well).
    """
    if _ipython_kernel():
        return "notebook" if _has_widgets() else "notebook-text"
    return "terminal" if _is_terminal(sys.stderr if stream is None else stream) else "lines"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LogLines:
    """Progress as plain timestamped lines (for logs), at most every ``interval`` seconds, and
    one line when the job ends: ``(done)`` if it finished, ``(stopped)`` if it failed (the
    error is reported once, by whoever catches it). A job that ends having moved no row and
    printed no line prints nothing: its caller's summary or error line says all there is.

    ``stream=None`` writes to ``sys.stderr`` as it is at each line (so redirection and
    capture apply); ``prefix`` starts each line after the timestamp; ``batches`` names what
    a job counts in batches (a load's messages, a read's batches).
    """

    def __init__(
        self,
        interval: float = 5.0,
        *,
        prefix: str = "tg-connect",
        batches: str = "messages",
        stream: TextIO | None = None,
    ) -> None:
        self.interval = interval
        self.prefix = prefix
        self.batch_word = batches
        self.stream = stream
        self._last = 0.0
        self._printed = False

    def __call__(self, p: Progress) -> None:
        end = p.done or p.failed
        if not end and p.elapsed - self._last < self.interval:
            return
        if end and p.rows == 0 and not self._printed:
            return
        self._last = p.elapsed
        self._printed = True
        total = f"/{p.total_rows:,}" if p.total_rows is not None else ""
        rate = p.rows / p.elapsed if p.elapsed > 0 else 0.0
        status = " (done)" if p.done else " (stopped)" if p.failed else ""
        print(
            f"{_stamp()} {self.prefix}: {p.rows:,}{total} rows, {p.bytes / 1e6:,.1f} MB,"
            f" {p.batches:,} {self.batch_word}, {p.elapsed:,.1f} s, {rate:,.0f} rows/s{status}",
            file=sys.stderr if self.stream is None else self.stream,
            flush=True,
        )


def _notebook_bar(total: int | None, desc: str) -> Any:
    """A widget bar, or ``None`` if tqdm cannot make one here (it would warn and draw text)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", TqdmWarning)
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm(total=total, desc=desc, unit=" rows", unit_scale=False)
    except (ImportError, TqdmWarning):
        return None


def _text_bar(total: int | None, desc: str) -> Any:
    return text_tqdm(total=total, desc=desc, unit=" rows", unit_scale=False, dynamic_ncols=True, file=sys.stderr)


def _is_tqdm(progress: Any) -> bool:
    """Whether ``progress`` is a tqdm bar of any flavour (std, notebook, auto, rich)."""
    return isinstance(progress, text_tqdm)


class ProgressSink:
    """Adapts the ``progress=`` argument to one ``update`` / ``close`` interface."""

    def __init__(self, progress: ProgressArg, total: int | None, desc: str, *, batches: str = "messages") -> None:
        self.total = total
        self._batch_word = batches
        self.rows = 0
        self.bytes = 0
        self.batches = 0
        self.start = time.monotonic()
        self._bar: Any = None
        self._owns_bar = False
        self._closed = False
        self._callback: Callable[[Progress], Any] | None = None
        if progress is True:
            self._show(total, desc)
        elif _is_tqdm(progress):
            self._bar = progress
        elif callable(progress):
            self._callback = progress
        elif progress not in (False, None):
            raise TypeError("progress must be True/False, a callable, or a tqdm instance")

    def _show(self, total: int | None, desc: str) -> None:
        """``progress=True``: the display :func:`choose_display` picks."""
        display = choose_display()
        bar = _notebook_bar(total, desc) if display == "notebook" else None
        if bar is None and display != "lines":
            bar = _text_bar(total, desc)
        if bar is not None:
            self._bar, self._owns_bar = bar, True
        else:
            self._callback = LogLines(prefix=f"tg-connect {desc}", batches=self._batch_word)

    def update(self, rows: int, nbytes: int, batches: int = 1) -> None:
        self.rows += int(rows)
        self.bytes += int(nbytes)
        self.batches += int(batches)
        if self._bar is not None:
            self._bar.update(int(rows))
            elapsed = time.monotonic() - self.start
            if elapsed > 0:
                self._bar.set_postfix_str(f"{self.bytes / elapsed / 1e6:.1f} MB/s", refresh=False)
        if self._callback is not None:
            self._callback(self._record())

    def close(self, *, failed: bool = False) -> None:
        """End the display: ``failed=True`` when the job stopped on an error (never shown as done).
        Only the first call counts."""
        if self._closed:
            return
        self._closed = True
        if self._callback is not None:
            self._callback(self._record(done=not failed, failed=failed))
        if self._bar is not None and self._owns_bar:
            self._bar.close()

    def _record(self, done: bool = False, failed: bool = False) -> Progress:
        return Progress(self.rows, self.bytes, self.batches, time.monotonic() - self.start, self.total, done, failed)
