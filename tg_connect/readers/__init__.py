"""Readers: turn inputs into a :class:`Source` of Arrow record batches.

One module per format; :func:`open_source` picks by the input's type, ``format=`` or the file
suffix. Every reader streams (memory is a few batches whatever the input size) and every
error about the input is an :class:`~tg_connect.errors.InputError` naming the file
(``source``) and, when known, the column, row or line; an error part way through a file is
raised after every good row before it was yielded.

A record that cannot be read but leaves the rest of the input readable (a malformed JSON
line or CSV row, a Python string with a lone surrogate) does not stop the reader: it keeps
its place as a row of nulls marked in the
:data:`~tg_connect.protocol.schemas.INPUT_ERROR` column, and the load rejects it or stops
there, as ``on_error`` says. Only what makes the rest unreadable stops a reader: bytes that
are not UTF-8 in a text file, an RDF syntax error, a corrupt Parquet page.

==========================  =============================================================
input                       reader
==========================  =============================================================
``Source``                  itself
``.parquet`` / ``.pq``      :func:`from_parquet` (metadata gives ``total_rows``)
directory, glob, list       :func:`from_paths`: file after file, each by its own reader;
                            columns checked across files; an account of each file
                            (:mod:`.files`: files that are not data are skipped, and a
                            file that fails stops only itself unless ``fail_fast``)
``.csv``, ``.tsv``          :func:`from_csv` (all text; ``vector`` as JSON array text)
``.jsonl`` / ``.ndjson``    :func:`from_jsonl`
``.nt .nq .ttl .trig``      :func:`from_rdf` (triples kind only)
``*.gz`` / ``.bz2``/``.zst``  the text formats above, decompressed as read
pandas DataFrame            :func:`from_pandas`
Arrow table / batch /       :func:`from_arrow`
reader / dataset, or any
``__arrow_c_stream__``
(polars, DuckDB...)
iterable of ``Triple``,     :func:`from_records`
dataclasses or dicts
==========================  =============================================================
"""

from __future__ import annotations

import glob as _glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..protocol import schemas
from ..wording import setting
from .arrow import from_arrow, from_pandas, is_arrow_producer
from .base import Source, rebatch
from .csv import from_csv
from .files import FileEntry, FilesSource, Opener, read_files
from .formats import (
    FORMATS,
    RDF_FORMATS,
    check_read_options,
    is_glob,
    normalise_format,
    options_for,
    sniffed_suffix,
    split_suffix,
)
from .jsonl import from_jsonl
from .parquet import from_parquet, from_parquet_files
from .rdf import from_rdf, is_rdf_xml
from .records import from_records, is_records

__all__ = [
    "FORMATS",
    "FileEntry",
    "FilesSource",
    "Source",
    "open_source",
    "open_path",
    "from_arrow",
    "from_pandas",
    "from_parquet",
    "from_parquet_files",
    "from_csv",
    "from_jsonl",
    "from_rdf",
    "from_records",
    "from_paths",
    "rebatch",
]

_PathLike = (str, os.PathLike)


def open_source(
    data: Any,
    batch_size: int,
    *,
    kind: str = "triples",
    format: str | None = None,
    dictionary_columns: Sequence[str] = (),
    fail_fast: bool = True,
    **reader_options: Any,
) -> Source:
    """A :class:`Source` over ``data`` yielding batches of at most ``batch_size`` rows.

    ``data`` is a path (by suffix, or ``format=``), a directory, a glob pattern (``*``, ``?``,
    ``[``), a list of paths, a pandas DataFrame, an Arrow producer (table, batch, reader,
    dataset, ``__arrow_c_stream__``), an iterable of :class:`~tg_connect.protocol.terms.Triple`,
    dataclasses or dicts, or a :class:`Source`. ``kind`` is the data kind being loaded: RDF
    files refuse any kind but ``triples``, and a ``vector`` column is parsed from text unless
    the kind is ``rows``. ``reader_options`` go to the file readers that take them:
    ``delimiter``, ``quote_char``, ``column_names``, ``block_size`` (CSV), ``base_iri``,
    ``lenient`` (RDF), ``compression`` (text formats; default: by suffix); a name no reader
    takes is an error. ``dictionary_columns`` are read from Parquet files as dictionary arrays
    (see :func:`from_parquet`); other formats ignore it. ``fail_fast``: see :func:`from_paths`
    (directories, globs and lists only).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    schemas.normalise_kind(kind)
    fmt = normalise_format(format) if format is not None else None
    if isinstance(data, Source):
        return data
    if isinstance(data, _PathLike):
        return open_path(
            data,
            batch_size,
            kind=kind,
            format=fmt,
            dictionary_columns=dictionary_columns,
            fail_fast=fail_fast,
            **reader_options,
        )
    if isinstance(data, (list, tuple)) and data and all(isinstance(p, _PathLike) for p in data):
        return from_paths(
            list(data),
            batch_size,
            kind=kind,
            format=fmt,
            dictionary_columns=dictionary_columns,
            fail_fast=fail_fast,
            **reader_options,
        )
    if fmt is not None or reader_options:
        raise TypeError("format= and reader options apply to files, not to in-memory data")
    if type(data).__module__.startswith("pandas") and hasattr(data, "columns"):
        return from_pandas(data, batch_size)
    if is_arrow_producer(data):
        return from_arrow(data, batch_size)
    if is_records(data):
        return from_records(data, batch_size)
    raise TypeError(
        f"cannot read {type(data).__name__}: expected a path, a DataFrame, Arrow data "
        "(__arrow_c_stream__), or an iterable of Triples, dataclasses or dicts"
    )


def open_path(
    path: str | os.PathLike[str],
    batch_size: int,
    *,
    kind: str = "triples",
    format: str | None = None,
    dictionary_columns: Sequence[str] = (),
    fail_fast: bool = True,
    **reader_options: Any,
) -> Source:
    """A source over a file, a directory or a glob pattern (see :func:`open_source`).

    In a directory (read recursively) or a glob's matches, files that are not data are
    skipped and listed in the source's ``files``: no suffix of a known format (a ``.c``, a
    ``README``) and no Parquet magic bytes, or an ``.xml`` file whose root is not ``rdf:RDF``.
    With ``format=``, every file is read as that format. A single file whose format cannot be
    told is an error.
    """
    text = os.fspath(path)
    fmt = normalise_format(format) if format is not None else None
    check_read_options(reader_options)
    if os.path.isdir(text):
        found = _directory_files(text)
        what = "no data files in the directory"
    elif not os.path.exists(text) and is_glob(text):
        found = sorted(f for f in _glob.glob(text, recursive=True) if os.path.isfile(f))
        what = "no files match the pattern" if not found else "no data files match the pattern"
    else:
        fmt = fmt or _format_of(text)
        return _open_file(text, batch_size, kind, fmt, reader_options, dictionary_columns)
    entries = [_classified(f, fmt) for f in found]
    if not any(e.status != "skipped" for e in entries):
        skipped = "; ".join(f"{e.path}: {e.reason}" for e in entries[:5])
        raise InputError(what + (f" (skipped {skipped})" if skipped else ""), source=text)
    return _many(entries, batch_size, kind, text, dictionary_columns, fail_fast, reader_options)


def from_paths(
    paths: Sequence[str | os.PathLike[str]],
    batch_size: int,
    *,
    kind: str = "triples",
    format: str | None = None,
    name: str | None = None,
    dictionary_columns: Sequence[str] = (),
    fail_fast: bool = True,
    **reader_options: Any,
) -> FilesSource:
    """One source streaming several files in order, each by its own reader.

    Every file must have the first file's columns and types (the order may differ). Each
    file has an entry in the source's ``files`` (:class:`FileEntry`: rows read, status,
    error). A file that fails (it cannot be opened or its format told, a syntax error part
    way, other columns than the first file's) is an :class:`InputError` naming it, raised
    after every row before it was yielded; with ``fail_fast=False`` it is recorded in its
    entry instead and the next file is read. ``total_rows`` is known when every file is
    Parquet (from the footers).
    """
    files = [os.fspath(p) for p in paths]
    if not files:
        raise InputError("no files given", source=name)
    fmt = normalise_format(format) if format is not None else None
    check_read_options(reader_options)
    entries = [FileEntry(f, fmt) for f in files]
    for entry in entries:
        if entry.format is None:
            try:
                entry.format = _format_of(entry.path)
            except InputError as exc:
                entry.status, entry.error = "failed", exc
    return _many(entries, batch_size, kind, name, dictionary_columns, fail_fast, reader_options)


def _many(
    entries: list[FileEntry],
    batch_size: int,
    kind: str,
    name: str | None,
    dictionary_columns: Sequence[str],
    fail_fast: bool,
    options: dict[str, Any],
) -> FilesSource:
    """A :class:`FilesSource` over ``entries`` (skipped ones and those that failed already stay so)."""
    parts: list[tuple[FileEntry, Opener | None]] = []
    totals: list[int | None] = []
    for entry in entries:
        if entry.status == "pending" and entry.format is not None:
            try:
                source = _open_file(entry.path, batch_size, kind, entry.format, options, dictionary_columns)
            except InputError as exc:
                entry.status, entry.error = "failed", exc
        if fail_fast and entry.error is not None:
            raise entry.error  # before anything is read: a file that cannot be opened
        if entry.status != "pending":
            parts.append((entry, None))
            continue
        parts.append((entry, source.open))
        totals.append(source.total_rows)
    data = [e.path for e in entries if e.status != "skipped"]
    label = name or (data[0] if len(data) == 1 else f"{data[0]} and {len(data) - 1} more")
    known = all(t is not None for t in totals)
    total = sum(t for t in totals if t is not None) if known and totals else None
    return FilesSource(label, lambda: read_files(parts, fail_fast), total, files=entries)


def _open_file(
    path: str,
    batch_size: int,
    kind: str,
    fmt: str,
    options: dict[str, Any],
    dictionary_columns: Sequence[str] = (),
) -> Source:
    """A source over one file of format ``fmt``, with the read options its reader takes."""
    if not os.path.exists(path):
        raise InputError("no such file", source=path)
    if os.path.isdir(path):
        raise InputError("a directory inside a list of files", source=path)
    _, compression = split_suffix(path)
    opts = options_for(fmt, options)
    if fmt == "parquet":
        if os.path.getsize(path) == 0:
            raise InputError("empty file", source=path)
        return from_parquet(path, batch_size, dictionary_columns)
    opts.setdefault("compression", "detect" if compression else None)
    if fmt in ("csv", "tsv"):
        if fmt == "tsv":
            opts.setdefault("delimiter", "\t")
        return from_csv(path, batch_size, kind=kind, **opts)
    if fmt == "jsonl":
        return from_jsonl(path, batch_size, kind=kind, **opts)
    if fmt in RDF_FORMATS:
        return from_rdf(path, batch_size, format=fmt, kind=kind, **opts)
    raise InputError(f"unsupported file type {fmt!r} (expected one of {', '.join(FORMATS)})", source=path)


def _classified(path: str, fmt: str | None) -> FileEntry:
    """A directory's or glob's file, with its format, or skipped (not data) with the reason."""
    if fmt is not None:
        return FileEntry(path, fmt)
    try:
        found, reason = _sniffed(path)
    except OSError as exc:
        entry = FileEntry(path, None, status="failed")
        entry.error = InputError(f"cannot read the file: {exc}", source=path)
        return entry
    if found is None:
        return FileEntry(path, None, status="skipped", reason=reason)
    return FileEntry(path, found)


def _sniffed(path: str) -> tuple[str | None, str]:
    """The format of ``path`` by its suffix and, where the suffix does not settle it, its first
    bytes; or ``None`` and why it is not a data file."""
    fmt, compression = split_suffix(path)
    if sniffed_suffix(path) is not None:
        if is_rdf_xml(path, compression):
            return "rdfxml", ""
        return None, "XML whose root element is not rdf:RDF (not RDF/XML)"
    if fmt is not None:
        return fmt, ""
    with open(path, "rb") as f:
        if f.read(4) == b"PAR1":
            return "parquet", ""
    return None, "not a data file (no suffix of a known format)"


def _format_of(path: str) -> str:
    """The format of a file named on its own: by suffix and first bytes, else an error saying
    how to name it."""
    if not os.path.exists(path):
        raise InputError("no such file", source=path)
    try:
        fmt, reason = _sniffed(path)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc}", source=path) from None
    if fmt is not None:
        return fmt
    raise InputError(
        f"cannot tell the format ({reason}): give the file a suffix of {', '.join(FORMATS)},"
        f" or pass {setting('format', 'NAME')} with one of those names",
        source=path,
    )


def _directory_files(directory: str) -> list[str]:
    """Files under ``directory``, recursively, sorted; hidden and ``_``-prefixed names (``_SUCCESS``,
    ``.crc``) are skipped, as pyarrow.dataset does."""
    out = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for n in sorted(names):
            if not n.startswith((".", "_")):
                out.append(str(Path(root) / n))
    return out
