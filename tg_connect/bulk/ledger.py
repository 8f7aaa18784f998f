"""The account stage of a load: every message from encoding to delivery, in one place.

The encode stage registers each message as it is made (on its worker thread); the send stage
says when a message was written, written again, and delivered (on the event loop). From
that the ledger keeps the report's counts, records delivered messages in the checkpoint,
advances the progress display, and, when a load fails, works out which input rows were not
delivered (:meth:`Ledger.undelivered`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pyarrow as pa

from ..protocol.conform import Conformed
from .checkpoint import Checkpoint
from .pacing import Pacer
from .progress import ProgressSink
from .report import LoadReport
from .stream import Outgoing


def merge_ranges(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, with overlapping and touching ``[first, last]`` ranges joined."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


class Ledger:
    """What happened to every message of one load (see the module docstring)."""

    def __init__(self, report: LoadReport, sink: ProgressSink, checkpoint: Checkpoint | None, pacer: Pacer) -> None:
        self.report = report
        self.sink = sink
        self.checkpoint = checkpoint
        self.pacer = pacer
        self.rejected_parts: list[pa.RecordBatch] = []
        self.delivered_rows: list[int] = []  # rows of each delivered message, in delivery order
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, int], tuple[int, int]] = {}  # undelivered messages: key -> input rows
        self._read_upto = 0  # every input row before this was registered, skipped or rejected

    # -- the encode stage (a worker thread) -----------------------------------------------

    def register(self, items: Sequence[Outgoing]) -> None:
        """Messages made, about to be queued."""
        with self._lock:
            for item in items:
                self._pending[item.key] = (item.frame.first_row, item.frame.last_row)

    def advance(self, read_upto: int) -> None:
        """Every input row before ``read_upto`` is registered, skipped or rejected."""
        with self._lock:
            self._read_upto = read_upto

    # -- the send stage (the event loop) --------------------------------------------------

    def rejected(self, conformed: Conformed) -> None:
        self.report.rejections.extend(conformed.rejections)
        self.report.rows_rejected += len(conformed.rejections)
        if conformed.rejected_rows is not None:
            self.rejected_parts.append(conformed.rejected_rows)

    def skipped(self, rows: int) -> None:
        """A message the checkpoint says an earlier run delivered."""
        self.report.rows_skipped += rows
        self.sink.update(rows, 0, 0)

    def written(self, item: Outgoing) -> None:
        """The send stage wrote ``item`` (once; a resend after a reconnect is :meth:`resent`)."""
        self.report.rows_sent += item.frame.rows
        self.report.bytes_sent += item.size

    def resent(self, items: Sequence[Outgoing]) -> None:
        """A reconnect writes these again."""
        self.report.reconnects += 1
        self.report.rows_resent += sum(i.frame.rows for i in items)

    def split(self, item: Outgoing, parts: Sequence[Outgoing]) -> None:
        """The pace stage cut ``item`` into ``parts``, each sent and delivered on its own."""
        item.parts_left = len(parts)
        with self._lock:
            self._pending.pop(item.key, None)
            for part in parts:
                self._pending[part.key] = (part.frame.first_row, part.frame.last_row)

    def delivered(self, items: Sequence[Outgoing]) -> None:
        rows = sum(i.frame.rows for i in items)
        nbytes = sum(i.size for i in items)
        done: list[str] = []  # checkpoint ids of whole messages now delivered
        with self._lock:
            for item in items:
                self._pending.pop(item.key, None)
                whole = item.parent if item.parent is not None else item
                if item.parent is not None:
                    item.parent.parts_left -= 1
                    if item.parent.parts_left:
                        continue
                if whole.batch_id is not None:
                    done.append(whole.batch_id)
        self.delivered_rows.extend(i.frame.rows for i in items)
        self.report.rows_delivered += rows
        self.report.batches += len(items)
        if self.checkpoint is not None:
            self.checkpoint.record(done)
        self.pacer.delivered([i.frame.rows for i in items])
        self.sink.update(rows, nbytes, len(items))

    # -- the end --------------------------------------------------------------------------

    def undelivered(self, total_rows: int | None) -> list[tuple[int, int | None]]:
        """Input rows not delivered: registered messages still pending, and everything after
        the last row read (to ``total_rows - 1``, or open-ended when the total is unknown)."""
        with self._lock:
            pending = list(self._pending.values())
            read_upto = self._read_upto
        ranges: list[tuple[int, int | None]] = list(merge_ranges(pending))
        end = total_rows - 1 if total_rows is not None else None
        if end is None or read_upto <= end:
            ranges.append((read_upto, end))
        return ranges

    def rows_stored(self, messages: int) -> int:
        """Rows in the first ``messages`` delivered messages (the stores take them in order)."""
        return sum(self.delivered_rows[:messages])
