"""Resumable loads: a checkpoint file records every batch delivered, so a rerun sends the rest.

A batch's id is a hash of the job spec (kind, gateway, workspace, flow, collection, document
id) and the message bytes, so the same input always gives the same ids and a changed input
gives new ones. The file is JSON Lines: a header naming the job, then one id per line,
appended and flushed after each send. The document id is kept in the header, so a rerun
reuses it and produces byte-identical messages.

Only delivered batches are recorded: a batch counts as delivered when a PONG to a later PING,
or the clean close of its socket, proved the gateway took it in (:mod:`.stream`). A batch that
was written but not confirmed when a load died is sent again by the rerun (at-least-once).
Lines are flushed to the operating system as they are written, so a killed process loses
none; a torn last line (a machine crash mid-write) is ignored on reading.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, TextIO

from ..errors import InputError

_VERSION = 1
_ID_LENGTH = 32  # hex digits of a 16-byte blake2b digest


class Checkpoint:
    """The set of batch ids already sent for one job, backed by an append-only file."""

    def __init__(self, path: str | os.PathLike[str], job: dict[str, Any]) -> None:
        self.path = Path(path)
        self.job = dict(job)
        self.sent: set[str] = set()
        self.document_id: str | None = None
        self._file: TextIO | None = None
        if self.path.exists() and self.path.stat().st_size > 0:
            self._read()

    def _read(self) -> None:
        with self.path.open(encoding="utf-8") as f:
            try:
                header = json.loads(f.readline())
            except json.JSONDecodeError:
                raise InputError("checkpoint file has no valid header", source=str(self.path)) from None
            if header.get("version") != _VERSION or not isinstance(header.get("job"), dict):
                raise InputError("not a tg_connect checkpoint file", source=str(self.path))
            stored = {k: v for k, v in header["job"].items() if k != "document_id"}
            mine = {k: v for k, v in self.job.items() if k != "document_id"}
            if stored != mine:
                changed = sorted(k for k in set(stored) | set(mine) if stored.get(k) != mine.get(k))
                raise InputError(
                    f"checkpoint belongs to another job (differs in {', '.join(changed)}); use a new checkpoint path",
                    source=str(self.path),
                )
            self.document_id = header["job"].get("document_id")
            for line in f:
                line = line.strip()
                if len(line) == _ID_LENGTH and not line.startswith("{"):
                    self.sent.add(line)

    def batch_id(self, frame: bytes | memoryview) -> str:
        h = hashlib.blake2b(digest_size=16)
        h.update(json.dumps(self.job, sort_keys=True).encode())
        h.update(frame)
        return h.hexdigest()

    def open(self, document_id: str) -> None:
        """Start (or continue) the file; the header is written for a new job."""
        self.job["document_id"] = document_id
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._file = self.path.open("a", encoding="utf-8")
        if new:
            self._file.write(json.dumps({"version": _VERSION, "job": self.job}, sort_keys=True) + "\n")
            self._file.flush()

    def record(self, batch_ids: list[str]) -> None:
        """Record delivered batches (one flush for the group)."""
        if not batch_ids:
            return
        self.sent.update(batch_ids)
        if self._file is not None:
            self._file.write("".join(f"{b}\n" for b in batch_ids))
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
