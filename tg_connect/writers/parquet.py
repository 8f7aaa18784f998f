"""Parquet output, batch by batch: one file, or rolling files of at most N rows each.

Each file is written under a temporary name and renamed when complete (see :mod:`.base`). The
parts of a rolling export are renamed together once the whole stream has been written, so a
failed export leaves no part at all (a directory holding the first parts would read as a
complete, shorter export). ``options`` go to :class:`pyarrow.parquet.ParquetWriter`
(``compression=``...).
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .base import AtomicFiles, Destination, WriteResult, as_reader, atomic_path, dest_name, is_file_object

PART_PATTERN = "part-{i:05d}.parquet"


def write_parquet(reader: pa.RecordBatchReader, path: Destination, **options: Any) -> int:
    """Stream ``reader`` into one Parquet file; returns the rows written. Memory stays one batch."""
    return write_parquet_file(reader, path, **options).rows


def write_parquet_file(reader: pa.RecordBatchReader, dest: Destination, **options: Any) -> WriteResult:
    """Stream ``reader`` into one Parquet file (or binary file object)."""
    reader = as_reader(reader)
    if is_file_object(dest):
        return WriteResult(_write_one(reader.schema, iter(reader), dest, options), [])
    name = dest_name(dest)
    with atomic_path(name) as tmp:
        rows = _write_one(reader.schema, iter(reader), tmp, options)
    return WriteResult(rows, [name])


# Streams often arrive in small batches; a row group per batch would make the footer (held in
# memory until the file closes) grow with the input. Batches are gathered into row groups of
# about this many rows or bytes, whichever comes first: memory stays one row group.
ROW_GROUP_ROWS = 131_072
ROW_GROUP_BYTES = 64 * 1024 * 1024


class RowGroups:
    """Gathers batches for ``writer`` into row groups (see ``ROW_GROUP_ROWS``)."""

    def __init__(self, writer: pq.ParquetWriter, schema: pa.Schema) -> None:
        self.writer = writer
        self.schema = schema
        self.pending: list[pa.RecordBatch] = []
        self.rows = 0
        self.bytes = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self.pending.append(batch)
        self.rows += batch.num_rows
        self.bytes += batch.nbytes
        if self.rows >= ROW_GROUP_ROWS or self.bytes >= ROW_GROUP_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.writer.write_table(pa.Table.from_batches(self.pending, self.schema), row_group_size=max(self.rows, 1))
        self.pending, self.rows, self.bytes = [], 0, 0


def _write_one(schema: pa.Schema, batches: Any, sink: Any, options: dict[str, Any]) -> int:
    rows = 0
    with pq.ParquetWriter(sink, schema, **options) as writer:
        groups = RowGroups(writer, schema)
        for batch in batches:
            groups.add(batch)
            rows += batch.num_rows
        groups.flush()
    return rows


def part_paths(dest: str | os.PathLike[str]) -> Any:
    """The path of part ``i`` of a rolling export: ``dest`` formatted with ``i`` when it holds a
    ``{`` pattern (``out/part-{i:05d}.parquet``), else ``dest/part-00000.parquet`` and on."""
    text = os.fspath(dest)
    if "{" in text:
        text.format(i=0)  # fail early on a bad pattern
        return lambda i: text.format(i=i)
    return lambda i: os.path.join(text, PART_PATTERN.format(i=i))


def existing_parts(dest: str | os.PathLike[str]) -> list[str]:
    """Files already matching the part names of a rolling export to ``dest``."""
    text = os.fspath(dest)
    pattern = re.sub(r"\{[^}]*\}", "*", text) if "{" in text else os.path.join(text, "part-*.parquet")
    return sorted(glob.glob(glob.escape(os.path.dirname(pattern)) + os.sep + os.path.basename(pattern)))


def write_parquet_files(
    reader: pa.RecordBatchReader, dest: str | os.PathLike[str], max_rows_per_file: int, **options: Any
) -> WriteResult:
    """Stream ``reader`` into rolling Parquet files of at most ``max_rows_per_file`` rows each.

    ``dest`` is a directory (created if needed, even when named ``x.parquet``; files
    ``part-00000.parquet``, ...) or a pattern with ``{i}`` (e.g.
    ``"out/triples-{i:03d}.parquet"``). Part files already there are a ``FileExistsError``
    (a reader of the directory would mix them with the new ones). An empty input writes one
    empty part, so the schema is kept. Parts are written under temporary names (each closed
    when full, so memory stays one row group) and renamed into place together at the end: if
    the input fails midway, no part is left behind.
    """
    if max_rows_per_file < 1:
        raise ValueError("max_rows_per_file must be at least 1")
    reader = as_reader(reader)
    path_of = part_paths(dest)
    stale = existing_parts(dest)
    if stale:
        # A reader of the directory would mix old parts with new ones: refuse rather than guess.
        raise FileExistsError(
            f"{os.fspath(dest)!r} already holds part files ({os.path.basename(stale[0])}...): "
            "remove them or write elsewhere"
        )
    result = WriteResult()
    schema = reader.schema
    part: _Part | None = None
    with AtomicFiles() as files:
        try:
            for index, piece in _cut_into_parts(reader, max_rows_per_file):
                if part is None or index != part.index:
                    if part is not None:
                        part.finish()
                    path = path_of(index)
                    part = _Part(index, files.add(path), schema, options)
                    result.files.append(path)
                part.groups.add(piece)
                result.rows += piece.num_rows
            if part is None:  # nothing was read: one empty part keeps the schema
                path = path_of(0)
                part = _Part(0, files.add(path), schema, options)
                result.files.append(path)
            part.finish()
        except BaseException:
            if part is not None:
                part.abort()
            raise
    return result


def _cut_into_parts(batches: Iterable[pa.RecordBatch], max_rows_per_file: int) -> Iterator[tuple[int, pa.RecordBatch]]:
    """Batches cut at file boundaries: yields (part index, batch)."""
    index, in_part = 0, 0
    for batch in batches:
        start = 0
        while start < batch.num_rows:
            if in_part == max_rows_per_file:
                index, in_part = index + 1, 0
            take = min(max_rows_per_file - in_part, batch.num_rows - start)
            yield index, batch.slice(start, take)
            in_part += take
            start += take


class _Part:
    """One file of a rolling export, written to its temporary path (renamed by ``AtomicFiles``)."""

    def __init__(self, index: int, tmp: str, schema: pa.Schema, options: dict[str, Any]) -> None:
        self.index = index
        self.tmp = tmp
        self.done = False
        self.writer = pq.ParquetWriter(tmp, schema, **options)
        self.groups = RowGroups(self.writer, schema)

    def finish(self) -> None:
        """Write the last row group and the footer: the temporary file is a complete part."""
        self.done = True
        self.groups.flush()
        self.writer.close()

    def abort(self) -> None:
        """Close the writer of a failed export; its file is removed by ``AtomicFiles``. A
        failure to close is not raised over the error that caused the abort."""
        if not self.done:
            self.done = True
            with contextlib.suppress(Exception):
                self.writer.close()
