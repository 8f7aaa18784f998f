"""Parquet files and datasets as sources, streamed batch by batch (never read whole).

One file is read with :class:`pyarrow.parquet.ParquetFile`; several (a directory, a glob, a
list) through :mod:`pyarrow.dataset`, one fragment (file) after another, so an error names the
file. ``total_rows`` comes from the footers, which are read when the source is made: a file
whose footer is missing (a truncated file) is an error before anything is streamed. Files are
read row group by row group, so a file that is corrupt part way is an error after every row
of the row groups before the damage was yielded (a row group is Parquet's unit: the rows of a
damaged one cannot be assembled).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..errors import InputError
from .base import Source, chain, rebatch


def _footer_error(name: str, exc: BaseException) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError("no such Parquet file", source=name)
    return InputError(f"not a readable Parquet file (truncated or not Parquet?): {exc}", source=name)


def from_parquet(path: str | os.PathLike[str], batch_size: int, dictionary_columns: Sequence[str] = ()) -> Source:
    """A source over one Parquet file; a missing or malformed file is an error naming it.

    ``dictionary_columns`` are read as Arrow dictionary arrays, as Parquet stores them, instead
    of decoding every value: for a column of few distinct values (a term kind, a predicate)
    that is several times cheaper, and a consumer can work on the distinct values only.
    """
    name = os.fspath(path)
    try:
        with pq.ParquetFile(name) as meta:
            total = meta.metadata.num_rows
            as_dictionary = [c for c in dictionary_columns if c in meta.schema_arrow.names]
    except (pa.ArrowInvalid, OSError) as exc:
        raise _footer_error(name, exc) from None

    def batches() -> Iterator[pa.RecordBatch]:
        rows = 0
        try:
            with pq.ParquetFile(name, read_dictionary=as_dictionary) as f:
                # Row group by row group, so a damaged group costs no rows of the groups before it.
                for group in range(f.num_row_groups):
                    for batch in f.iter_batches(batch_size=batch_size, row_groups=[group]):
                        rows += batch.num_rows
                        yield batch
                if rows == 0:
                    yield pa.RecordBatch.from_pylist([], schema=f.schema_arrow)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(
                f"Parquet file is corrupt part way, after {rows} good rows: {exc}", source=name, row=rows
            ) from None

    # Row groups rarely hold a multiple of batch_size rows: their remainders pass on as
    # smaller batches rather than being copied together with the next group's rows.
    return Source(name, lambda: rebatch(batches(), batch_size, min_rows=batch_size // 2), total)


def from_parquet_files(
    paths: Sequence[str | os.PathLike[str]],
    batch_size: int,
    name: str | None = None,
    dictionary_columns: Sequence[str] = (),
) -> Source:
    """A source over several Parquet files in order, through :mod:`pyarrow.dataset`.

    Every file must have the first file's columns and types (the order may differ); a file
    that differs is an :class:`InputError` naming it and the column. ``dictionary_columns``:
    as for :func:`from_parquet`.
    """
    names = [os.fspath(p) for p in paths]
    if not names:
        raise InputError("no Parquet files", source=name)
    for one in names:
        if not os.path.isfile(one):
            raise InputError("no such Parquet file", source=one)
    fragments = _fragments(names, dictionary_columns, name)

    def batches() -> Iterator[pa.RecordBatch]:
        parts = [(f.path, functools.partial(_fragment_batches, f, batch_size)) for f in fragments]
        return rebatch(chain(parts), batch_size, min_rows=batch_size // 2)

    label = name or (names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} more")
    return Source(label, batches, _total_rows(fragments))


def _fragments(names: list[str], dictionary_columns: Sequence[str], name: str | None) -> list[ds.ParquetFileFragment]:
    """The files as dataset fragments, in order; an unreadable footer is an error naming its file."""
    try:
        options = ds.ParquetReadOptions(dictionary_columns=list(dictionary_columns))
        dataset = ds.dataset(names, format=ds.ParquetFileFormat(read_options=options))
        return list(dataset.get_fragments())
    except (pa.ArrowInvalid, OSError) as exc:
        for one in names:  # name the file at fault
            try:
                pq.read_metadata(one)
            except (pa.ArrowInvalid, OSError) as file_exc:
                raise _footer_error(one, file_exc) from None
        raise InputError(f"cannot open the Parquet files: {exc}", source=name or names[0]) from None


def _total_rows(fragments: list[ds.ParquetFileFragment]) -> int:
    total = 0
    for fragment in fragments:
        try:
            total += fragment.metadata.num_rows
        except (pa.ArrowInvalid, OSError) as exc:
            raise _footer_error(fragment.path, exc) from None
    return total


def _fragment_batches(fragment: ds.ParquetFileFragment, batch_size: int) -> Iterator[pa.RecordBatch]:
    """One file's batches; a file corrupt part way is an error after the rows before the damage."""
    rows = 0
    try:
        # Row group by row group, so a damaged group costs no rows of the groups before it.
        for group in fragment.split_by_row_group():
            for batch in group.to_batches(batch_size=batch_size):
                rows += batch.num_rows
                yield batch
        if rows == 0:
            yield pa.RecordBatch.from_pylist([], schema=fragment.physical_schema)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(
            f"Parquet file is corrupt part way, after {rows} good rows: {exc}", source=fragment.path, row=rows
        ) from None
