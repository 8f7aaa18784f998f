"""The honest account of a load: what was read, sent, delivered, stored and verified, what
was rejected (and why), and where to resume.

Four words, kept apart (docs/reliability.md): **sent** means written to a socket, which
proves nothing; **delivered** means the gateway took the message in, proved by a PONG to a
later PING or by the clean close of the socket; **stored** means the stores behind the
gateway processed it, as far as the gateway's metrics show (``wait="stored"``); **verified**
means read back (``verify=True``). The report never claims more than it saw:
:attr:`LoadReport.ok` needs every row delivered (and verified, or stored, when asked), and
:attr:`LoadReport.resume_from_row` is the first input row not delivered.

A load of many files (a directory, a glob, a list) also accounts for each file
(:class:`FileReport`): rows read from it, rows of it rejected, the error that stopped it, or
why it was skipped (not a data file). A file that failed makes the report not ok.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pyarrow as pa

from ..protocol.conform import Rejection

FileStatus = Literal["read", "failed", "skipped", "stopped", "not read"]
_STATUS_ORDER: tuple[FileStatus, ...] = ("read", "failed", "stopped", "not read", "skipped")


@dataclass(frozen=True)
class FileReport:
    """One file of a many-file load.

    ``status``: ``"read"`` to its end; ``"failed"`` (``error`` says why and where; its
    ``rows`` before the error were loaded, the rest of it was not read); ``"skipped"`` (not
    a data file: ``reason`` says why); ``"stopped"`` (the load stopped while reading it);
    ``"not read"`` (the load stopped before it). ``rows`` are the rows read from it,
    ``rejected`` those of them rejected (``on_error="skip"``); delivery is counted for the
    load as a whole.
    """

    path: str
    status: FileStatus
    format: str | None = None
    rows: int = 0
    rejected: int = 0
    error: str | None = None
    reason: str | None = None


@dataclass
class LoadReport:
    """What one ``to_trustgraph`` call did. ``str(report)`` is a short human summary."""

    kind: str
    target: str
    flow: str
    collection: str
    document_id: str
    rows_read: int = 0
    rows_sent: int = 0  # written to a socket (each row once, however often it was resent)
    rows_delivered: int = 0  # confirmed taken in by the gateway (a PONG or the clean close)
    rows_rejected: int = 0
    rows_skipped: int = 0  # delivered by an earlier run with the same checkpoint
    rows_resent: int = 0  # written again after a reconnect (at-least-once)
    reconnects: int = 0
    batches: int = 0  # import messages delivered (one WebSocket frame each)
    bytes_sent: int = 0
    seconds: float = 0.0
    rejections: list[Rejection] = field(default_factory=list)
    rejected_rows: pa.Table | None = None  # the original input rows, to fix and resend
    # not delivered: [first, last]; None: to the end
    unsent_ranges: list[tuple[int, int | None]] = field(default_factory=list)
    error: str | None = None
    rows_stored: int | None = None  # with wait="stored": rows the stores processed, as their metrics show
    stored_complete: bool | None = None  # with wait="stored": whether they caught up before the timeout
    rows_confirmed: int | None = None  # with verify=True: rows read back from the gateway
    rows_unconfirmed: int = 0  # with verify=True: rows delivered but not read back
    unconfirmed: list[int] = field(default_factory=list)  # input rows not read back (the first 1,000)
    notes: list[str] = field(default_factory=list)  # how the load was paced, and what the counts rest on
    files: list[FileReport] = field(default_factory=list)  # a load of many files: one entry each

    @property
    def rows_per_second(self) -> float:
        return self.rows_delivered / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        """True when every row read was delivered (none rejected, nothing left unsent), and, when
        asked for, every row was read back (``verify=True``) and the stores caught up
        (``wait="stored"``): :meth:`problems` is empty."""
        return not self.problems()

    def problems(self, *, rejections: bool = True) -> list[str]:
        """Why the load is not ok, one short phrase each (empty when it is).

        ``rejections=False`` leaves rejected rows out, for a caller that asked for them to be
        skipped (``on_error="skip"``): everything else must still hold.
        """
        out: list[str] = []
        if self.error is not None:
            out.append(f"failed: {self.error}")
        if rejections and self.rows_rejected:
            out.append(f"{self.rows_rejected:,} rows rejected")
        undelivered = self.rows_read - self.rows_rejected - self.rows_delivered - self.rows_skipped
        if self.unsent_ranges or undelivered > 0:
            where = f" (resume from row {self.resume_from_row})" if self.unsent_ranges else ""
            out.append(f"rows not delivered{where}")
        if self.rows_unconfirmed:
            out.append(f"{self.rows_unconfirmed:,} delivered rows not read back (verify)")
        if self.stored_complete is False:
            out.append("the stores had not caught up (wait='stored')")
        failed = [f for f in self.files if f.status == "failed"]
        out.extend(f"file {f.path} failed: {f.error}" for f in failed[:5])
        if len(failed) > 5:
            out.append(f"{len(failed) - 5:,} more files failed")
        return out

    @property
    def resume_from_row(self) -> int | None:
        """The first input row not delivered, or ``None`` when nothing is left to send."""
        return self.unsent_ranges[0][0] if self.unsent_ranges else None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict (rejections included, rejected rows left out)."""
        out = asdict(self)
        out.pop("rejected_rows")
        out["rows_per_second"] = round(self.rows_per_second, 1)
        out["resume_from_row"] = self.resume_from_row
        out["ok"] = self.ok
        return out

    def to_json(self) -> str:
        return json.dumps(self.summary(), indent=2)

    def __str__(self) -> str:
        lines = [
            f"LoadReport {self.kind} -> {self.target} flow={self.flow} collection={self.collection}"
            f" document={self.document_id}",
            f"  rows read {self.rows_read:,}, delivered {self.rows_delivered:,} (sent {self.rows_sent:,}),"
            f" rejected {self.rows_rejected:,}"
            + (f", already delivered {self.rows_skipped:,}" if self.rows_skipped else ""),
            f"  messages {self.batches:,}, bytes {self.bytes_sent:,}, {self.seconds:.2f} s,"
            f" {self.rows_per_second:,.0f} rows/s",
        ]
        if self.reconnects:
            lines.append(f"  reconnects {self.reconnects:,}, rows sent again {self.rows_resent:,} (at-least-once)")
        for r in self.rejections[:10]:
            lines.append(f"  rejected row {r.row} ({r.column}): {r.reason}")
        if len(self.rejections) > 10:
            lines.append(f"  ... and {len(self.rejections) - 10:,} more rejections")
        if self.unsent_ranges:
            spans = ", ".join(f"{a}-{'end' if b is None else b}" for a, b in self.unsent_ranges[:5])
            lines.append(f"  NOT DELIVERED: input rows {spans} (resume from row {self.resume_from_row})")
        if self.rows_stored is not None:
            caught_up = "caught up" if self.stored_complete else "NOT caught up"
            lines.append(
                f"  stored: {self.rows_stored:,} rows as the stores' metrics show ({caught_up};"
                " the counters are shared with any other writer)"
            )
        if self.rows_confirmed is not None:
            lines.append(f"  verified: {self.rows_confirmed:,} rows read back, {self.rows_unconfirmed:,} not seen")
        for note in self.notes:
            lines.append(f"  {note}")
        lines.extend(self._file_lines())
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)

    def _file_lines(self, limit: int = 20) -> list[str]:
        """The per-file part of :meth:`__str__`: a count by status, then a line a file."""
        if not self.files:
            return []
        counts = {status: sum(f.status == status for f in self.files) for status in _STATUS_ORDER}
        lines = ["  files: " + ", ".join(f"{n:,} {status}" for status, n in counts.items() if n)]
        width = max(len(f.status) for f in self.files)
        for f in self.files[:limit]:
            if f.status == "skipped":
                detail = f.reason or ""
            else:
                detail = f"{f.rows:,} row{'' if f.rows == 1 else 's'}" + (
                    f", {f.rejected:,} rejected" if f.rejected else ""
                )
                detail += f"; {f.error}" if f.error else ""
            lines.append(f"    {f.status:<{width}}  {f.path}: {detail}")
        if len(self.files) > limit:
            lines.append(f"    ... and {len(self.files) - limit:,} more files")
        return lines

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in [
                ("kind", self.kind),
                ("target", self.target),
                ("flow", self.flow),
                ("collection", self.collection),
                ("document", self.document_id),
                ("rows read", f"{self.rows_read:,}"),
                ("rows delivered", f"{self.rows_delivered:,}"),
                ("rows sent", f"{self.rows_sent:,}"),
                ("rows sent again", f"{self.rows_resent:,}"),
                ("reconnects", f"{self.reconnects:,}"),
                ("rows rejected", f"{self.rows_rejected:,}"),
                ("rows already delivered", f"{self.rows_skipped:,}"),
                ("rows stored", "not waited for" if self.rows_stored is None else f"{self.rows_stored:,}"),
                ("rows verified", "not verified" if self.rows_confirmed is None else f"{self.rows_confirmed:,}"),
                ("messages", f"{self.batches:,}"),
                ("bytes", f"{self.bytes_sent:,}"),
                ("seconds", f"{self.seconds:.2f}"),
                ("rows/s", f"{self.rows_per_second:,.0f}"),
                ("resume from row", self.resume_from_row),
                ("error", self.error),
            ]
        )
        rej = "".join(
            f"<tr><td>{r.row}</td><td>{html.escape(str(r.column))}</td><td>{html.escape(r.reason)}</td></tr>"
            for r in self.rejections[:20]
        )
        rej_table = (
            f"<p>Rejected rows (first 20 of {len(self.rejections):,})</p><table><tr><th>row</th>"
            f"<th>column</th><th>reason</th></tr>{rej}</table>"
            if rej
            else ""
        )
        files = "".join(
            f"<tr><td>{html.escape(f.path)}</td><td>{f.status}</td><td>{f.rows:,}</td><td>{f.rejected:,}</td>"
            f"<td>{html.escape(f.error or f.reason or '')}</td></tr>"
            for f in self.files[:50]
        )
        files_table = (
            f"<p>Files ({len(self.files):,})</p><table><tr><th>file</th><th>status</th><th>rows</th>"
            f"<th>rejected</th><th>error or reason</th></tr>{files}</table>"
            if files
            else ""
        )
        return f"<div><b>tg_connect LoadReport</b><table>{rows}</table>{rej_table}{files_table}</div>"
