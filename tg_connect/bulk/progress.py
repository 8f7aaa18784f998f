"""Progress reporting for bulk jobs: ``progress=True`` (a tqdm bar), a callable, or a tqdm.

A callable receives a :class:`Progress` record after every message; a tqdm instance is
advanced by rows; ``True`` makes a ``tqdm.auto`` bar (a widget in notebooks).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm


@dataclass(frozen=True)
class Progress:
    """Where a bulk job is: rows and bytes moved so far, messages, seconds, and whether done."""

    rows: int
    bytes: int
    batches: int
    elapsed: float
    total_rows: int | None
    done: bool


ProgressArg = bool | Callable[[Progress], Any] | Any | None


class ProgressSink:
    """Adapts the ``progress=`` argument to one ``update`` / ``close`` interface."""

    def __init__(self, progress: ProgressArg, total: int | None, desc: str) -> None:
        self.total = total
        self.rows = 0
        self.bytes = 0
        self.batches = 0
        self.start = time.monotonic()
        self._bar: Any = None
        self._owns_bar = False
        self._callback: Callable[[Progress], Any] | None = None
        if progress is True:
            self._bar = tqdm(total=total, desc=desc, unit=" rows", unit_scale=True, dynamic_ncols=True)
            self._owns_bar = True
        elif isinstance(progress, tqdm):
            self._bar = progress
        elif callable(progress):
            self._callback = progress
        elif progress not in (False, None):
            raise TypeError("progress must be True/False, a callable, or a tqdm instance")

    def update(self, rows: int, nbytes: int, batches: int = 1) -> None:
        self.rows += rows
        self.bytes += nbytes
        self.batches += batches
        if self._bar is not None:
            self._bar.update(rows)
            elapsed = time.monotonic() - self.start
            if elapsed > 0:
                self._bar.set_postfix_str(f"{self.bytes / elapsed / 1e6:.1f} MB/s", refresh=False)
        if self._callback is not None:
            self._callback(self._record(False))

    def close(self) -> None:
        if self._callback is not None:
            self._callback(self._record(True))
        if self._bar is not None and self._owns_bar:
            self._bar.close()

    def _record(self, done: bool) -> Progress:
        return Progress(self.rows, self.bytes, self.batches, time.monotonic() - self.start, self.total, done)
