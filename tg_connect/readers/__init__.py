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
directory, glob, list       :func:`from_paths`: Parquet files through ``pyarrow.dataset``;
                            other formats file after file; columns checked across files
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
from .arrow import from_arrow, from_pandas, is_arrow_producer
from .base import Source, chain, rebatch
from .csv import from_csv
from .formats import FORMATS, RDF_FORMATS, is_glob, normalise_format, split_suffix
from .jsonl import from_jsonl
from .parquet import from_parquet, from_parquet_files
from .rdf import from_rdf
from .records import from_records, is_records

__all__ = [
    "FORMATS",
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
    **reader_options: Any,
) -> Source:
    """A :class:`Source` over ``data`` yielding batches of at most ``batch_size`` rows.

    ``data`` is a path (by suffix, or ``format=``), a directory, a glob pattern (``*``, ``?``,
    ``[``), a list of paths, a pandas DataFrame, an Arrow producer (table, batch, reader,
    dataset, ``__arrow_c_stream__``), an iterable of :class:`~tg_connect.protocol.terms.Triple`,
    dataclasses or dicts, or a :class:`Source`. ``kind`` is the data kind being loaded: RDF
    files refuse any kind but ``triples``, and a ``vector`` column is parsed from text unless
    the kind is ``rows``. ``reader_options`` go to the file reader: ``delimiter``,
    ``quote_char``, ``column_names``, ``block_size`` (CSV), ``base_iri``, ``lenient`` (RDF),
    ``compression`` (text formats; default: by suffix). ``dictionary_columns`` are read from
    Parquet files as dictionary arrays (see :func:`from_parquet`); other formats ignore it.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    schemas.normalise_kind(kind)
    fmt = normalise_format(format) if format is not None else None
    if isinstance(data, Source):
        return data
    if isinstance(data, _PathLike):
        return open_path(
            data, batch_size, kind=kind, format=fmt, dictionary_columns=dictionary_columns, **reader_options
        )
    if isinstance(data, (list, tuple)) and data and all(isinstance(p, _PathLike) for p in data):
        return from_paths(
            list(data), batch_size, kind=kind, format=fmt, dictionary_columns=dictionary_columns, **reader_options
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
    **reader_options: Any,
) -> Source:
    """A source over a file, a directory or a glob pattern (see :func:`open_source`)."""
    text = os.fspath(path)
    fmt = normalise_format(format) if format is not None else None
    if os.path.isdir(text):
        files = _directory_files(text)
        if not files:
            raise InputError("no data files in the directory", source=text)
        return from_paths(
            files, batch_size, kind=kind, format=fmt, name=text, dictionary_columns=dictionary_columns, **reader_options
        )
    if not os.path.exists(text) and is_glob(text):
        files = sorted(f for f in _glob.glob(text, recursive=True) if os.path.isfile(f))
        if not files:
            raise InputError("no files match the pattern", source=text)
        return from_paths(
            files, batch_size, kind=kind, format=fmt, name=text, dictionary_columns=dictionary_columns, **reader_options
        )
    return _open_file(text, batch_size, kind, fmt, reader_options, dictionary_columns)


def from_paths(
    paths: Sequence[str | os.PathLike[str]],
    batch_size: int,
    *,
    kind: str = "triples",
    format: str | None = None,
    name: str | None = None,
    dictionary_columns: Sequence[str] = (),
    **reader_options: Any,
) -> Source:
    """One source streaming several files in order.

    All Parquet: one :mod:`pyarrow.dataset` over them. Otherwise each file is read by its own
    reader, in order; every file must have the first file's columns and types (a file with
    other columns is an :class:`InputError` naming it). ``total_rows`` is known when every
    file is Parquet.
    """
    files = [os.fspath(p) for p in paths]
    if not files:
        raise InputError("no files given", source=name)
    fmt = normalise_format(format) if format is not None else None
    formats = [fmt or _format_of(f) for f in files]
    if all(f == "parquet" for f in formats):
        if reader_options:
            raise TypeError(f"Parquet files take no reader options: {sorted(reader_options)}")
        return from_parquet_files(files, batch_size, name=name, dictionary_columns=dictionary_columns)
    sources = [_open_file(f, batch_size, kind, fmt, reader_options, dictionary_columns) for f in files]
    label = name or (files[0] if len(files) == 1 else f"{files[0]} and {len(files) - 1} more")
    totals = [s.total_rows for s in sources]
    total = sum(t for t in totals if t is not None) if all(t is not None for t in totals) else None
    return Source(label, lambda: rebatch(chain([(s.name, s.open) for s in sources]), batch_size), total)


def _open_file(
    path: str,
    batch_size: int,
    kind: str,
    fmt: str | None,
    options: dict[str, Any],
    dictionary_columns: Sequence[str] = (),
) -> Source:
    if not os.path.exists(path):
        raise InputError("no such file", source=path)
    if os.path.isdir(path):
        raise InputError("a directory inside a list of files", source=path)
    fmt = fmt or _format_of(path)
    _, compression = split_suffix(path)
    if fmt == "parquet":
        if options:
            raise TypeError(f"Parquet files take no reader options: {sorted(options)}")
        if os.path.getsize(path) == 0:
            raise InputError("empty file", source=path)
        return from_parquet(path, batch_size, dictionary_columns)
    opts = dict(options)
    opts.setdefault("compression", "detect" if compression else None)
    if fmt in ("csv", "tsv"):
        if fmt == "tsv":
            opts.setdefault("delimiter", "\t")
        return from_csv(path, batch_size, kind=kind, **opts)
    if fmt == "jsonl":
        return from_jsonl(path, batch_size, kind=kind, **opts)
    if fmt in RDF_FORMATS:
        return from_rdf(path, batch_size, format=fmt, kind=kind, **opts)
    raise InputError(f"unsupported file type (expected one of {', '.join(FORMATS)}; pass format=)", source=path)


def _format_of(path: str) -> str:
    fmt, _ = split_suffix(path)
    if fmt is not None:
        return fmt
    try:
        with open(path, "rb") as f:
            if f.read(4) == b"PAR1":
                return "parquet"
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc}", source=path) from None
    raise InputError(
        f"cannot tell the format from the file name (expected a suffix of {', '.join(FORMATS)}; pass format=)",
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
