"""Writers: Arrow record batches into files, one module per format, and DataFrames.

:func:`write` picks the format from ``format=`` or the destination's suffix:

===========================  ===========================================================
destination                  writer
===========================  ===========================================================
``.parquet`` / ``.pq``       :func:`write_parquet_file`; with ``max_rows_per_file=``,
directory, ``{i}`` pattern   :func:`write_parquet_files` (rolling ``part-00000.parquet``...)
``.csv`` / ``.tsv``          :func:`write_csv` (vectors as JSON array text)
``.jsonl`` / ``.ndjson``     :func:`write_jsonl`
``.nt .nq .ttl .trig``       :func:`write_rdf` (triples only; N-Triples/Turtle: no graphs)
``*.gz`` / ``.bz2``/``.zst``   the text formats above, compressed as written
===========================  ===========================================================

Every writer streams batch by batch (memory stays one batch) and writes a file under a
temporary name, renamed into place when complete. :func:`to_pandas` and :func:`to_polars`
collect the stream into a DataFrame.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import InputError
from ..protocol import schemas
from ..readers.formats import FORMATS, RDF_FORMATS, normalise_format, split_suffix
from .base import Destination, WriteResult, as_reader, dest_name, is_file_object
from .csv import write_csv
from .frames import to_pandas, to_polars, to_table
from .jsonl import write_jsonl
from .parquet import write_parquet, write_parquet_file, write_parquet_files
from .rdf import write_rdf

__all__ = [
    "FORMATS",
    "WriteResult",
    "write",
    "write_parquet",
    "write_parquet_file",
    "write_parquet_files",
    "write_csv",
    "write_jsonl",
    "write_rdf",
    "to_pandas",
    "to_polars",
    "to_table",
]


def write(
    reader: Any, dest: Destination, *, format: str | None = None, kind: str = "triples", **options: Any
) -> WriteResult:
    """Write a stream of record batches to ``dest``; returns the rows and files written.

    ``reader`` is a :class:`pyarrow.RecordBatchReader` (or a table, batch, or any
    ``__arrow_c_stream__`` producer). ``dest`` is a path (format from ``format=`` or its
    suffix; a ``.gz``/``.bz2``/``.zst`` suffix compresses text formats) or a binary file
    object (``format=`` required). ``kind`` is the data kind of the batches: RDF formats take
    only ``triples``. ``options`` go to the format's writer: ``max_rows_per_file`` and
    ``compression`` (Parquet), ``delimiter`` (CSV), ``drop_graphs``, ``prefixes``,
    ``base_iri`` (RDF).
    """
    kind_name = schemas.normalise_kind(kind)
    fmt = normalise_format(format) if format is not None else None
    compression = None
    rolling = options.pop("max_rows_per_file", None)
    if is_file_object(dest):
        if fmt is None:
            raise ValueError("format= is required when writing to a file object")
    else:
        path = os.fspath(dest)  # type: ignore[arg-type]
        suffix_format, compression = split_suffix(path)
        if rolling is not None or os.path.isdir(path) or "{" in path:
            return _write_rolling(reader, path, fmt or suffix_format, rolling, options)
        fmt = fmt or suffix_format
        if fmt is None:
            raise ValueError(f"cannot tell the format from {path!r}: pass format= (one of {', '.join(FORMATS)})")
    if fmt == "parquet":
        if compression is not None:
            raise ValueError("Parquet compresses internally: use compression= (e.g. 'zstd'), not a .gz suffix")
        if rolling is not None:
            raise ValueError("max_rows_per_file needs a destination path (a directory or a {i} pattern)")
        return write_parquet_file(reader, dest, **options)
    if rolling is not None:
        raise ValueError("max_rows_per_file applies to Parquet only")
    options.setdefault("compression", compression)
    return _write_text(reader, dest, fmt, kind_name, options)


def _write_rolling(
    reader: Any, path: str, fmt: str | None, rolling: int | None, options: dict[str, Any]
) -> WriteResult:
    """Rolling Parquet files under ``path`` (a directory or a ``{i}`` pattern)."""
    if (fmt or "parquet") != "parquet":
        raise ValueError("rolling files (max_rows_per_file=, a directory or a {i} pattern) are written as Parquet only")
    if rolling is None:
        raise ValueError(f"{path!r} is a directory or a {{i}} pattern: pass max_rows_per_file=")
    return write_parquet_files(reader, path, rolling, **options)


def _write_text(
    reader: Any, dest: Destination, fmt: str, kind_name: schemas.Kind, options: dict[str, Any]
) -> WriteResult:
    """``dest`` in one of the text formats: CSV/TSV, JSON Lines or RDF."""
    if fmt in ("csv", "tsv"):
        if fmt == "tsv":
            options.setdefault("delimiter", "\t")
        return write_csv(reader, dest, **options)
    if fmt == "jsonl":
        return write_jsonl(reader, dest, **options)
    if fmt in RDF_FORMATS:
        if kind_name != "triples":
            raise InputError(f"RDF holds triples; {kind_name} cannot be written as {fmt}", source=dest_name(dest))
        return write_rdf(as_reader(reader), dest, format=fmt, **options)
    raise ValueError(f"unsupported format {fmt!r}")
