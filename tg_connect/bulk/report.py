"""The honest account of a load: what was read, sent, rejected (and why), and what was not sent.

The gateway's import sockets never acknowledge anything, so "sent" means written to the
socket before it closed cleanly; :attr:`LoadReport.resume_from_row` is the first input row
whose message was not sent when a load failed.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from ..protocol.conform import Rejection


@dataclass
class LoadReport:
    """What one ``to_trustgraph`` call did. ``str(report)`` is a short human summary."""

    kind: str
    target: str
    flow: str
    collection: str
    document_id: str
    rows_read: int = 0
    rows_sent: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0  # already sent by an earlier run with the same checkpoint
    batches: int = 0  # import messages (one WebSocket frame each)
    bytes_sent: int = 0
    seconds: float = 0.0
    rejections: list[Rejection] = field(default_factory=list)
    rejected_rows: pa.Table | None = None  # the original input rows, to fix and resend
    unsent_ranges: list[tuple[int, int | None]] = field(default_factory=list)  # [first, last]; None: to the end
    error: str | None = None
    rows_confirmed: int | None = None  # with verify=True: rows the gateway was seen to store
    unconfirmed: list[int] = field(default_factory=list)  # input rows not seen (the first 1,000)

    @property
    def rows_per_second(self) -> float:
        return self.rows_sent / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        """True when every row read was sent."""
        return self.error is None and self.rows_rejected == 0 and not self.unsent_ranges

    @property
    def resume_from_row(self) -> int | None:
        """The first input row not sent, or ``None`` when nothing is left to send."""
        return self.unsent_ranges[0][0] if self.unsent_ranges else None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict (rejections included, rejected rows left out)."""
        out = asdict(self)
        out.pop("rejected_rows")
        out["rows_per_second"] = round(self.rows_per_second, 1)
        out["resume_from_row"] = self.resume_from_row
        return out

    def to_json(self) -> str:
        return json.dumps(self.summary(), indent=2)

    def __str__(self) -> str:
        lines = [
            f"LoadReport {self.kind} -> {self.target} flow={self.flow} collection={self.collection}"
            f" document={self.document_id}",
            f"  rows read {self.rows_read:,}, sent {self.rows_sent:,}, rejected {self.rows_rejected:,}"
            + (f", already sent {self.rows_skipped:,}" if self.rows_skipped else ""),
            f"  messages {self.batches:,}, bytes {self.bytes_sent:,}, {self.seconds:.2f} s,"
            f" {self.rows_per_second:,.0f} rows/s",
        ]
        for r in self.rejections[:10]:
            lines.append(f"  rejected row {r.row} ({r.column}): {r.reason}")
        if len(self.rejections) > 10:
            lines.append(f"  ... and {len(self.rejections) - 10:,} more rejections")
        if self.unsent_ranges:
            spans = ", ".join(f"{a}-{'end' if b is None else b}" for a, b in self.unsent_ranges[:5])
            lines.append(f"  NOT SENT: input rows {spans} (resume from row {self.resume_from_row})")
        if self.rows_confirmed is not None:
            lines.append(f"  verified: {self.rows_confirmed:,} rows confirmed stored,"
                         f" {self.rows_sent + self.rows_skipped - self.rows_confirmed:,} not seen")
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in [
                ("kind", self.kind), ("target", self.target), ("flow", self.flow),
                ("collection", self.collection), ("document", self.document_id),
                ("rows read", f"{self.rows_read:,}"), ("rows sent", f"{self.rows_sent:,}"),
                ("rows rejected", f"{self.rows_rejected:,}"), ("rows already sent", f"{self.rows_skipped:,}"),
                ("rows confirmed", "not verified" if self.rows_confirmed is None else f"{self.rows_confirmed:,}"),
                ("messages", f"{self.batches:,}"),
                ("bytes", f"{self.bytes_sent:,}"), ("seconds", f"{self.seconds:.2f}"),
                ("rows/s", f"{self.rows_per_second:,.0f}"),
                ("resume from row", self.resume_from_row), ("error", self.error),
            ]
        )
        rej = "".join(
            f"<tr><td>{r.row}</td><td>{html.escape(str(r.column))}</td><td>{html.escape(r.reason)}</td></tr>"
            for r in self.rejections[:20]
        )
        rej_table = (
            f"<p>Rejected rows (first 20 of {len(self.rejections):,})</p><table><tr><th>row</th>"
            f"<th>column</th><th>reason</th></tr>{rej}</table>" if rej else ""
        )
        return f"<div><b>tg_connect LoadReport</b><table>{rows}</table>{rej_table}</div>"
