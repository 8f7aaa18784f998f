"""What every writer returns, and the output plumbing the writers share.

A file is written under a hidden temporary name next to its destination and renamed into place
when complete, so a failed write leaves no half file that looks finished: the temporary file
is removed, directories the write created are removed again if empty, and a file already at
the destination is left untouched. :func:`atomic_path` (one file) and :class:`AtomicFiles`
(several, all or none: rolling Parquet parts) do this for every writer and for
``export_core``. A destination that is an open binary file object is written to directly.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Union

import pyarrow as pa

Destination = Union[str, "os.PathLike[str]", BinaryIO]


@dataclass
class WriteResult:
    """Rows written, and the files written (in order; empty for a file object destination)."""

    rows: int = 0
    files: list[str] = field(default_factory=list)


def is_file_object(dest: Any) -> bool:
    return hasattr(dest, "write") and not isinstance(dest, (str, os.PathLike))


def as_reader(data: Any) -> pa.RecordBatchReader:
    """A record batch reader over ``data`` (a reader, table, batch or ``__arrow_c_stream__``)."""
    if isinstance(data, pa.RecordBatchReader):
        return data
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        return data.to_reader()
    if hasattr(data, "__arrow_c_stream__"):
        return pa.RecordBatchReader.from_stream(data)
    raise TypeError(f"expected a pyarrow.RecordBatchReader (or Arrow data), got {type(data).__name__}")


def make_directories(directory: str) -> list[str]:
    """Create ``directory`` and missing parents; returns those created, outermost first."""
    created: list[str] = []
    path = os.path.abspath(directory)
    while not os.path.isdir(path):
        created.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    created.reverse()
    os.makedirs(directory, exist_ok=True)
    return created


def remove_empty(directories: list[str]) -> None:
    """Remove ``directories`` (as :func:`make_directories` returned them) that are empty."""
    for directory in reversed(directories):
        with contextlib.suppress(OSError):
            os.rmdir(directory)


def temporary_path(final: str, created: list[str] | None = None) -> str:
    """A hidden temporary name next to ``final`` (its directory is created if needed; the
    directories created are appended to ``created``)."""
    directory = os.path.dirname(os.path.abspath(final))
    made = make_directories(directory)
    if created is not None:
        created.extend(made)
    return os.path.join(directory, f".{os.path.basename(final)}.{uuid.uuid4().hex[:12]}.tmp")


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str]) -> Iterator[str]:
    """A temporary path to write; renamed to ``dest`` on success. On failure (any exception,
    cancellation included) the temporary file and the directories made for it go, and
    whatever was at ``dest`` stays as it was."""
    with AtomicFiles() as files:
        yield files.add(dest)


class AtomicFiles:
    """Several files written under temporary names and renamed into place together, or none.

    ``add(dest)`` returns the temporary path to write for ``dest``. Leaving the ``with`` block
    normally renames every file into place, in order; leaving it with an exception removes the
    temporary files (and any already renamed, should a rename fail) and the directories made
    for them, if empty. Destinations must not exist already when more than one file is
    written (an existing one would be replaced, and could not be restored on failure).
    """

    def __init__(self) -> None:
        self._files: list[tuple[str, str]] = []
        self._created: list[str] = []

    def add(self, dest: str | os.PathLike[str]) -> str:
        final = os.fspath(dest)
        tmp = temporary_path(final, self._created)
        self._files.append((tmp, final))
        return tmp

    def __enter__(self) -> AtomicFiles:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc_type is None:
            renamed: list[str] = []
            try:
                for tmp, final in self._files:
                    os.replace(tmp, final)
                    renamed.append(final)
                return
            except BaseException:
                self._discard(renamed)
                raise
        self._discard([])

    def _discard(self, renamed: list[str]) -> None:
        for path in [tmp for tmp, _ in self._files] + renamed:
            with contextlib.suppress(OSError):
                os.remove(path)
        remove_empty(self._created)


@contextlib.contextmanager
def open_output(dest: Destination, compression: str | None = None) -> Iterator[Any]:
    """A writable binary stream for ``dest``: a file object as is, or a path written atomically
    (through a compressing stream when ``compression`` names a codec such as ``gzip``)."""
    if is_file_object(dest):
        if compression:
            raise ValueError("compression applies to a destination path, not to a file object")
        yield dest
        return
    with atomic_path(dest) as tmp:  # type: ignore[arg-type]
        stream = pa.output_stream(tmp, compression=compression)
        try:
            yield stream
        finally:
            stream.close()


def dest_name(dest: Destination) -> str:
    if is_file_object(dest):
        return str(getattr(dest, "name", None) or type(dest).__name__)
    return os.fspath(dest)  # type: ignore[arg-type]
