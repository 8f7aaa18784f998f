"""CSV and TSV files as sources, streamed with :func:`pyarrow.csv.open_csv`.

* Every column is read as text: IRIs, literals and ids are never type-inferred (``"042"``
  stays ``"042"``). The header row names the columns (or pass ``column_names=``).
* An empty *unquoted* field is null; a quoted empty field (``""``) is the empty string. That
  is how :func:`tg_connect.writers.write` writes nulls and empty strings, so they round trip
  (a spreadsheet's empty cell is therefore null, and an empty object literal must be quoted).
* A ``vector`` column (all kinds but ``rows``) holds a JSON array of numbers per row, e.g.
  ``"[0.1, -2, 3e-5]"``; it is parsed into ``list<float32>``. ``NaN``/``Infinity`` and
  ``null`` items are read (the load then rejects the row); an empty field is a null vector
  (rejected too).
* Syntax errors raise :class:`~tg_connect.errors.InputError` naming the file, and the line,
  row or column when known, after every batch before the fault was yielded: a malformed row
  (wrong number of fields, an unterminated quote), invalid UTF-8, a vector that is not an array
  of numbers. Values that parse but are wrong (nulls, NaN, mixed vector lengths) are the load's
  business: it rejects those rows into its report.
* An unterminated quote in the last field of the file's last row runs to the end of the file
  (pyarrow, like Python's csv module, accepts it); anywhere else it makes a malformed row.
* A row longer than the block size (a 10 MB literal) is handled by re-reading with larger
  blocks and skipping the rows already yielded.

Compressed files (``.gz``, ``.bz2``, ``.zst``) are decompressed as they are read.
"""

from __future__ import annotations

import csv as _csv
import io
import os
from typing import Any, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ..errors import InputError
from .base import Source, rebatch

DEFAULT_BLOCK_SIZE = 1 << 20
MAX_BLOCK_SIZE = 1 << 30
VECTOR_COLUMN = "vector"
_NUMBER = r"^(?:[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)|null)$"


def from_csv(
    path: str | os.PathLike[str],
    batch_size: int,
    *,
    kind: str = "triples",
    delimiter: str = ",",
    quote_char: str | bool = '"',
    column_names: Sequence[str] | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    compression: str | None = "detect",
) -> Source:
    """A source over a CSV file (``delimiter="\\t"`` for TSV); see the module docstring."""
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise InputError("no such file", source=name)
    parse_vectors = kind != "rows"
    options = _Options(name, delimiter, quote_char, column_names, compression)
    names = options.header()

    def batches() -> Iterator[pa.RecordBatch]:
        rows = 0
        for raw in _restarting(options, names, block_size):
            batch = _to_text(raw, name, rows, parse_vectors)
            rows += batch.num_rows
            yield batch
            if batch.num_rows < raw.num_rows:  # _to_text stopped at a bad value
                _to_text(raw.slice(batch.num_rows), name, rows, parse_vectors)
        if rows == 0:
            yield pa.RecordBatch.from_pylist([], schema=_text_schema(names, parse_vectors))

    return Source(name, lambda: rebatch(batches(), batch_size), None)


class _Options:
    def __init__(self, name: str, delimiter: str, quote_char: str | bool,
                 column_names: Sequence[str] | None, compression: str | None) -> None:
        if len(delimiter) != 1:
            raise ValueError(f"delimiter must be one character, not {delimiter!r}")
        self.name = name
        self.delimiter = delimiter
        self.quote_char = quote_char
        self.column_names = list(column_names) if column_names is not None else None
        self.compression = compression
        self.bad_rows: list[Any] = []

    def open(self, block_size: int, column_types: dict[str, pa.DataType] | None,
             use_threads: bool = True) -> pcsv.CSVStreamingReader:
        stream = pa.input_stream(self.name, compression=self.compression)
        read = pcsv.ReadOptions(block_size=block_size, use_threads=use_threads,
                                column_names=self.column_names)
        parse = pcsv.ParseOptions(delimiter=self.delimiter, quote_char=self.quote_char, newlines_in_values=True,
                                  invalid_row_handler=self._bad_row)
        convert = pcsv.ConvertOptions(column_types=column_types, strings_can_be_null=True,
                                      null_values=[""], quoted_strings_can_be_null=False)
        try:
            return pcsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
        except BaseException:
            stream.close()
            raise

    def _bad_row(self, row: Any) -> str:
        self.bad_rows.append(row)
        return "error"

    def header(self) -> list[str]:
        """The column names: ``column_names=``, or the first record, read with Python's csv
        module (so a malformed data row is reported when streaming reaches it, not here)."""
        if self.column_names is not None:
            names = list(self.column_names)
        else:
            names = self._first_record()
        if len(set(names)) != len(names):
            raise InputError(f"duplicate column names in the header: {names}", source=self.name)
        return names

    def _first_record(self) -> list[str]:
        size = 1 << 16
        while True:
            try:
                with pa.input_stream(self.name, compression=self.compression) as f:
                    data = f.read(size)
            except OSError as exc:
                raise InputError(f"cannot read the file: {exc}", source=self.name) from None
            at_end = len(data) < size
            try:
                text, valid_to_end = data.decode("utf-8-sig"), True
            except UnicodeDecodeError as exc:  # bad bytes (or a character cut by the read)
                text, valid_to_end = data[:exc.start].decode("utf-8-sig"), False
            if not text.strip() and valid_to_end:
                if at_end:
                    raise InputError("empty CSV file: no header row", source=self.name)
                size *= 4
                continue
            stream = io.StringIO(text, newline="")
            if self.quote_char is False:
                reader = _csv.reader(stream, delimiter=self.delimiter, quoting=_csv.QUOTE_NONE)
            else:
                quote = self.quote_char if isinstance(self.quote_char, str) else '"'
                reader = _csv.reader(stream, delimiter=self.delimiter, quotechar=quote)
            try:
                record = next(reader, None)
            except _csv.Error:
                record = None
            complete = record is not None and (stream.tell() < len(text) or (at_end and valid_to_end))
            if complete:
                assert record is not None
                return record
            if at_end or not valid_to_end and len(text) < len(data) - 3:
                problem = "invalid UTF-8 in the" if not valid_to_end else "a malformed"
                raise InputError(f"{problem} CSV header row", source=self.name)
            size *= 4

    def error(self, exc: BaseException, rows: int) -> InputError:
        """An :class:`InputError` for a pyarrow CSV error met after ``rows`` good rows."""
        text = str(exc)
        if _straddles(exc):
            return InputError(f"a CSV row is longer than {MAX_BLOCK_SIZE:,} bytes", source=self.name, row=rows)
        if self.bad_rows or "CSV parse error" in text:
            line = self._line_of_bad_row()
            where = f" at line {line}" if line is not None else ""
            return InputError(f"malformed CSV row{where} ({rows} rows before it were read): {text}",
                              source=self.name)
        return InputError(f"cannot read the CSV file after {rows} rows: {text}", source=self.name)

    def _line_of_bad_row(self) -> int | None:
        # The fast, multi-threaded parse does not know line numbers: parse again on one thread.
        self.bad_rows = []
        try:
            reader = self.open(MAX_BLOCK_SIZE // 16, None, use_threads=False)
            for _ in reader:
                pass
        except (pa.ArrowInvalid, OSError):
            pass
        numbers = [r.number for r in self.bad_rows if getattr(r, "number", None) is not None]
        return int(numbers[0]) if numbers else None


def _straddles(exc: BaseException) -> bool:
    return "straddl" in str(exc)


def _restarting(options: _Options, names: list[str], block_size: int) -> Iterator[pa.RecordBatch]:
    """The file's raw batches (binary columns); on a row longer than the block, start again
    with larger blocks and skip the rows already yielded."""
    done = 0
    types: dict[str, pa.DataType] = {n: pa.binary() for n in names}
    while True:
        skip = done
        try:
            reader = options.open(block_size, types)
            if reader.schema.names != names:  # Python's csv and pyarrow read the header differently
                reader.close()
                raise InputError(f"cannot read the header row consistently: {names} vs {reader.schema.names} "
                                 "(pass column_names=)", source=options.name)
            try:
                for batch in reader:
                    if skip:
                        if batch.num_rows <= skip:
                            skip -= batch.num_rows
                            continue
                        batch = batch.slice(skip)
                        skip = 0
                    done += batch.num_rows
                    yield batch
            finally:
                reader.close()
            return
        except pa.ArrowInvalid as exc:
            if _straddles(exc) and block_size < MAX_BLOCK_SIZE:
                block_size *= 4
                continue
            raise options.error(exc, done) from None
        except OSError as exc:
            raise InputError(f"cannot read the file after {done} rows: {exc}", source=options.name) from None


def _text_schema(names: list[str], parse_vectors: bool) -> pa.Schema:
    return pa.schema([(n, pa.list_(pa.float32()) if parse_vectors and n == VECTOR_COLUMN else pa.string())
                      for n in names])


def _to_text(raw: pa.RecordBatch, source: str, offset: int, parse_vectors: bool) -> pa.RecordBatch:
    """Binary columns -> strings (checking UTF-8) and the vector column -> lists of float32.

    On the first bad value, returns the rows before it; called again on the rest, it raises
    an :class:`InputError` naming the column and row (so earlier rows are yielded first).
    """
    batch, bad = _convert(raw, parse_vectors)
    if bad is None:
        return batch
    row, name, reason = bad
    if row == 0:
        raise InputError(reason, source=source, column=name, row=offset)
    return _convert(raw.slice(0, row), parse_vectors)[0]


def _convert(raw: pa.RecordBatch, parse_vectors: bool) -> tuple[pa.RecordBatch, tuple[int, str, str] | None]:
    columns: list[pa.Array] = []
    first_bad: tuple[int, str, str] | None = None
    for name, col in zip(raw.schema.names, raw.columns):
        try:
            text = col.cast(pa.string())
        except pa.ArrowInvalid:
            row = _first_invalid_utf8(col)
            first_bad = _earlier(first_bad, (row, name, "invalid UTF-8"))
            text = pa.nulls(len(col), pa.string())
        if parse_vectors and name == VECTOR_COLUMN:
            vectors, bad_row = parse_vector_text(text)
            if bad_row is not None:
                shown = text[bad_row].as_py()
                shown = shown if shown is None or len(shown) <= 80 else shown[:77] + "..."
                first_bad = _earlier(first_bad, (bad_row, name, f"not a JSON array of numbers: {shown!r}"))
            columns.append(vectors)
        else:
            columns.append(text)
    return pa.RecordBatch.from_arrays(columns, names=raw.schema.names), first_bad


def _earlier(a: tuple[int, str, str] | None, b: tuple[int, str, str]) -> tuple[int, str, str]:
    return b if a is None or b[0] < a[0] else a


def _first_invalid_utf8(col: pa.Array) -> int:
    for i, value in enumerate(col.to_pylist()):
        if value is not None:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                return i
    return len(col)


def parse_vector_text(text: pa.Array) -> tuple[pa.Array, int | None]:
    """JSON array texts (``"[0.1, 2]"``) -> ``list<float32>``, and the first unparseable row.

    A null text is a null vector; ``"[]"`` an empty one; a ``null`` item a null item.
    Vectorised (Arrow kernels only).
    """
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    trimmed = pc.utf8_trim_whitespace(text)
    bracketed = pc.and_(pc.starts_with(trimmed, "["), pc.ends_with(trimmed, "]"))
    bracketed = pc.and_(bracketed, pc.greater_equal(pc.utf8_length(trimmed), 2))
    inner = pc.utf8_trim_whitespace(pc.utf8_slice_codeunits(trimmed, 1, -1))
    inner = pc.if_else(bracketed, inner, "")
    empty = pc.equal(inner, "")
    items = pc.split_pattern(inner, ",")
    lengths = pc.if_else(empty, 0, pc.list_value_length(items))
    keep = pc.take(pc.invert(empty), pc.list_parent_indices(items))
    values = pc.utf8_trim_whitespace(pc.list_flatten(items).filter(keep))
    parents = pc.list_parent_indices(items).filter(keep)
    good_item = pc.match_substring_regex(values, _NUMBER, ignore_case=True)
    bad_rows: list[int] = []
    bad_items = pc.invert(pc.fill_null(good_item, False))
    if len(values) and pc.any(bad_items).as_py():
        bad_rows.append(int(pc.min(parents.filter(bad_items)).as_py()))
    unbracketed = pc.fill_null(pc.and_(pc.is_valid(text), pc.invert(bracketed)), False)
    if pc.any(unbracketed).as_py():
        bad_rows.append(int(pc.indices_nonzero(unbracketed)[0].as_py()))
    if bad_rows:
        return pa.nulls(len(text), pa.list_(pa.float32())), min(bad_rows)
    offsets = pa.concat_arrays([pa.array([0], pa.int32()),
                                pc.cast(pc.cumulative_sum(pc.fill_null(lengths, 0)), pa.int32())])
    floats = pc.cast(pc.if_else(pc.equal(values, "null"), None, values), pa.float32())
    mask = pc.is_null(text)
    vectors = pa.ListArray.from_arrays(offsets, floats, mask=mask if text.null_count else None)
    return vectors, None

