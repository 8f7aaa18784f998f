"""Many files as one source, with an account of each: rows read, the error that stopped it,
or why it was skipped.

A directory or glob holds what it holds: a ``README``, a ``.c`` file, an ``.xml`` file that
is not RDF. Such files are *skipped* and listed, not fatal. A file that fails (a syntax error,
unreadable bytes, columns unlike the first file's) stops only itself: every row it gave
before the error has been passed on, and the next file is read. ``fail_fast=True`` makes
the first failure stop the whole source instead.

Each file's rows are passed on in batches of their own, never gathered with the next file's
rows, so the import messages made from a file depend on that file alone. A rerun with a
checkpoint (:mod:`tg_connect.bulk.checkpoint`, which knows a message by its bytes) therefore
skips every message of the files that did not change, and sends those of a file fixed since
from where they differ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

from ..errors import InputError
from ..protocol import schemas
from .base import Source, check_same_columns, split_input_errors

FileStatus = Literal["pending", "reading", "read", "failed", "skipped"]


@dataclass
class FileEntry:
    """One file of a many-file source, as far as it was read.

    ``first_row`` is the input row (counted over the whole source) of its first row, so a
    rejection's row tells its file. ``status``: ``"read"`` to the end, ``"failed"`` (``error``
    says why; its rows before the error were passed on), ``"skipped"`` (not data: ``reason``),
    ``"pending"`` (not reached: an earlier failure stopped the load).
    """

    path: str
    format: str | None
    status: FileStatus = "pending"
    first_row: int = 0
    rows: int = 0
    error: BaseException | None = None
    reason: str | None = None


@dataclass
class FilesSource(Source):
    """A :class:`Source` over several files, with an entry per file (``files``)."""

    files: list[FileEntry] = field(default_factory=list)


Opener = Callable[[], Iterator[pa.RecordBatch]]


def read_files(parts: list[tuple[FileEntry, Opener | None]], fail_fast: bool) -> Iterator[pa.RecordBatch]:
    """The batches of each file in turn, each checked against the first file's columns.

    A part without an opener failed when it was opened (its entry says why). A file that
    fails is recorded in its entry and the next one read; with ``fail_fast`` its error is
    raised, after the rows before it.
    """
    first: list[pa.Schema] = []
    offset = 0
    for entry, open_part in parts:
        if entry.status == "skipped":
            continue
        entry.first_row = offset
        if open_part is None:  # it failed when opened (with fail_fast, that was raised then)
            continue
        entry.status = "reading"
        try:
            for batch in _aligned(open_part(), first, entry.path):
                entry.rows += batch.num_rows
                offset += batch.num_rows
                yield batch
        except (InputError, OSError) as exc:
            entry.status, entry.error = "failed", _as_input_error(exc, entry.path)
            if fail_fast:
                raise entry.error from None
            continue
        entry.status = "read"


def _aligned(batches: Iterator[pa.RecordBatch], first: list[pa.Schema], name: str) -> Iterator[pa.RecordBatch]:
    """``batches`` with the first file's columns in its order (``first`` holds that schema
    once known); other columns or types are an :class:`InputError` naming the file."""
    for batch in batches:
        batch, errors = split_input_errors(batch)
        if not first:
            first.append(batch.schema)
        elif not batch.schema.equals(first[0]):
            check_same_columns(first[0], batch.schema, name)
            batch = batch.select(first[0].names)
            if not batch.schema.equals(first[0]):  # nullability or metadata only
                batch = pa.RecordBatch.from_arrays(batch.columns, schema=first[0])
        if errors is not None:
            batch = batch.append_column(pa.field(schemas.INPUT_ERROR, schemas.INPUT_ERROR_TYPE), errors)
        yield batch


def _as_input_error(exc: BaseException, path: str) -> InputError:
    if isinstance(exc, InputError):
        return exc
    return InputError(f"cannot read the file: {exc}", source=path)
