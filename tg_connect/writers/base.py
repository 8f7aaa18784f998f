"""What every writer returns, and the output plumbing the writers share.

A file is written under a hidden temporary name next to its destination and renamed into place
when complete, so a failed write leaves no half file that looks finished (the temporary file
is removed). A destination that is an open binary file object is written to directly.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterator, Union

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


def temporary_path(final: str) -> str:
    """A hidden temporary name next to ``final`` (its directory is created if needed)."""
    directory = os.path.dirname(os.path.abspath(final))
    os.makedirs(directory, exist_ok=True)
    return os.path.join(directory, f".{os.path.basename(final)}.{uuid.uuid4().hex[:12]}.tmp")


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str]) -> Iterator[str]:
    """A temporary path to write; renamed to ``dest`` on success, removed on failure."""
    final = os.fspath(dest)
    tmp = temporary_path(final)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


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
