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
* **A malformed row (the wrong number of fields, an unterminated quote that swallows the
  lines after it) rejects that row only.** It keeps its place as a row of nulls marked with
  :data:`~tg_connect.protocol.schemas.INPUT_ERROR` (file, line, reason, raw text) and every
  other row is read; the load then rejects it (``on_error="skip"``: in ``report.rejections``,
  and in ``report.rejected_rows`` with its text in the
  :data:`~tg_connect.protocol.schemas.RAW_LINE` column) or stops there (``"raise"``: an
  ``InputError`` naming file and line, every row before it sent). Lines are 1-based physical
  lines, as an editor shows them (a quoted value with line breaks spans several); blank lines,
  which the parser skips without a trace, are not counted. The fast multi-threaded parse knows
  no line numbers: at the first malformed row the file is read again on one thread from the
  start, skipping what was already yielded.
* Invalid UTF-8 and a vector that is not an array of numbers raise an
  :class:`~tg_connect.errors.InputError` naming the file, column and row, after every row
  before it was yielded. Values that parse but are wrong (nulls, NaN, mixed vector lengths)
  are the load's business: it rejects those rows into its report.
* An unterminated quote in the last field of the file's last row runs to the end of the file
  (pyarrow, like Python's csv module, accepts it); anywhere else it makes a malformed row.
* A row longer than the block size (a 10 MB literal) is handled by re-reading with larger
  blocks and skipping the rows already yielded.

Compressed files (``.gz``, ``.bz2``, ``.zst``) are decompressed as they are read.
"""

from __future__ import annotations

import csv as _csv
import dataclasses
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ..errors import InputError
from ..protocol import schemas
from ..protocol.vectors import parse_vector_text
from .base import Source, interleave_unread, rebatch

DEFAULT_BLOCK_SIZE = 1 << 20
MAX_BLOCK_SIZE = 1 << 30
VECTOR_COLUMN = "vector"
_SHOWN_TEXT = 120  # characters of a malformed row quoted in its rejection
_METADATA = {schemas.LINE_TEXT_METADATA: b"csv"}


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
        for raw, malformed in _restarting(options, names, block_size):
            batch = _to_text(raw, name, rows, parse_vectors)
            whole = batch.num_rows == raw.num_rows
            placed = [m for m in malformed if whole or m.position <= batch.num_rows]
            if placed:
                batch = interleave_unread(batch, [(m.position, m.error(name)) for m in placed])
            rows += batch.num_rows
            yield batch.replace_schema_metadata(_METADATA)
            if not whole:  # _to_text stopped at a bad value: raise naming it
                _to_text(raw.slice(batch.num_rows - len(placed)), name, rows, parse_vectors)
        if rows == 0:
            yield pa.RecordBatch.from_pylist([], schema=_text_schema(names, parse_vectors)).replace_schema_metadata(
                _METADATA
            )

    return Source(name, lambda: rebatch(batches(), batch_size), None)


class _Options:
    def __init__(
        self,
        name: str,
        delimiter: str,
        quote_char: str | bool,
        column_names: Sequence[str] | None,
        compression: str | None,
    ) -> None:
        if len(delimiter) != 1:
            raise ValueError(f"delimiter must be one character, not {delimiter!r}")
        self.name = name
        self.delimiter = delimiter
        self.quote_char = quote_char
        self.column_names = list(column_names) if column_names is not None else None
        self.compression = compression
        self.bad_rows: list[Any] = []

    def open(
        self,
        block_size: int,
        column_types: dict[str, pa.DataType] | None,
        use_threads: bool = True,
        skip_malformed: bool = False,
    ) -> pcsv.CSVStreamingReader:
        """A streaming reader; a malformed row stops it, or with ``skip_malformed`` is noted
        in ``bad_rows`` and skipped."""
        stream = pa.input_stream(self.name, compression=self.compression)
        read = pcsv.ReadOptions(block_size=block_size, use_threads=use_threads, column_names=self.column_names)
        parse = pcsv.ParseOptions(
            delimiter=self.delimiter,
            quote_char=self.quote_char,
            newlines_in_values=True,
            invalid_row_handler=self._skip_row if skip_malformed else self._bad_row,
        )
        convert = pcsv.ConvertOptions(
            column_types=column_types, strings_can_be_null=True, null_values=[""], quoted_strings_can_be_null=False
        )
        try:
            return pcsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
        except BaseException:
            stream.close()
            raise

    def _bad_row(self, row: Any) -> str:
        self.bad_rows.append(row)
        return "error"

    def _skip_row(self, row: Any) -> str:
        self.bad_rows.append(row)
        return "skip"

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
                text, valid_to_end = data[: exc.start].decode("utf-8-sig"), False
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
        """An :class:`InputError` for a pyarrow CSV error met after ``rows`` rows."""
        if _straddles(exc):
            return InputError(f"a CSV row is longer than {MAX_BLOCK_SIZE:,} bytes", source=self.name, row=rows)
        return InputError(f"cannot read the CSV file after {rows} rows: {exc}", source=self.name, row=rows)


def _straddles(exc: BaseException) -> bool:
    return "straddl" in str(exc)


def _malformed(exc: BaseException, options: _Options) -> bool:
    return bool(options.bad_rows) or "CSV parse error" in str(exc)


@dataclass
class _Malformed:
    """A malformed row, to be put in a batch ``position`` rows into it."""

    position: int
    index: int  # among the file's malformed rows, in file order
    line: int
    text: str
    expected: int
    actual: int

    def error(self, source: str) -> dict[str, Any]:
        """Its :data:`schemas.INPUT_ERROR` value."""
        shown = self.text if len(self.text) <= _SHOWN_TEXT else self.text[:_SHOWN_TEXT] + "..."
        reason = (
            f"malformed CSV row at line {self.line}: Expected {self.expected} columns, got {self.actual};"
            f" the row: {shown!r}"
        )
        return {"source": source, "column": None, "reason": reason, "text": self.text}


class _Recovery:
    """Where a re-read after a malformed row stands: rows (good and malformed) already yielded
    are skipped when it starts again (with larger blocks, for a long row)."""

    def __init__(self, names: list[str], has_header: bool, good_done: int) -> None:
        self.good_done = good_done  # good rows yielded, by the fast parse and then by this
        self.bad_done = 0  # malformed rows yielded
        self.header_records = 1 if has_header else 0
        # The physical lines of the header record (a quoted name may span lines).
        self.header_lines = (1 + sum(n.count("\n") for n in names)) if has_header else 0

    def read(
        self, options: _Options, types: dict[str, pa.DataType], block_size: int
    ) -> Iterator[tuple[pa.RecordBatch, list[_Malformed]]]:
        """The file from the start on one thread, skipping malformed rows; yields the good rows
        not yielded before, each batch with the malformed rows that go among them."""
        options.bad_rows = []
        reader = options.open(block_size, types, use_threads=False, skip_malformed=True)
        good = 0  # good rows read in this pass
        lines = self.header_lines  # physical lines before the next record
        noted = 0  # malformed rows met so far in this pass
        pending: list[tuple[int, int, Any]] = []  # (good rows before it, its index among the malformed, row)
        try:
            for batch in reader:
                # The parser may have noted rows of blocks ahead (it reads ahead): each is placed
                # by its record number, counted over the good and malformed records before it.
                noted = self._note(options, pending, noted)
                spans = 1 + _line_breaks(batch)  # physical lines of each good row
                ends = np.cumsum(spans)
                here = [m for m in pending if m[0] < good + batch.num_rows]
                pending = [m for m in pending if m[0] >= good + batch.num_rows]
                out: list[_Malformed] = []
                for before, index, row in here:
                    at = before - good  # good rows of this batch before it
                    line = lines + (int(ends[at - 1]) if at else 0) + 1
                    out.append(
                        _Malformed(at, index, line, str(row.text), int(row.expected_columns), int(row.actual_columns))
                    )
                    lines += str(row.text).count("\n") + 1
                lines += int(ends[-1]) if batch.num_rows else 0
                yield from self._fresh(batch, good, out)
                good += batch.num_rows
            self._note(options, pending, noted)  # a last block of malformed rows only yields no batch
            out = []
            for before, index, row in pending:  # after the last good row
                out.append(
                    _Malformed(
                        before - good,
                        index,
                        lines + 1,
                        str(row.text),
                        int(row.expected_columns),
                        int(row.actual_columns),
                    )
                )
                lines += str(row.text).count("\n") + 1
            if out:
                empty = pa.RecordBatch.from_arrays([pa.array([], t) for t in types.values()], names=list(types))
                yield from self._fresh(empty, good, out)
        finally:
            reader.close()

    def _note(self, options: _Options, pending: list[tuple[int, int, Any]], noted: int) -> int:
        """Move the malformed rows the parser noted to ``pending``, each with the number of
        good rows before it (from its record number); returns how many were noted in all."""
        taken, options.bad_rows = options.bad_rows, []  # the handler appends to the new list
        for row in taken:
            pending.append((int(row.number) - 1 - self.header_records - noted, noted, row))
            noted += 1
        return noted

    def _fresh(
        self, batch: pa.RecordBatch, good: int, malformed: list[_Malformed]
    ) -> Iterator[tuple[pa.RecordBatch, list[_Malformed]]]:
        """The part of ``batch`` (whose first row is good row ``good`` of the file) and of its
        malformed rows not yielded before: records come in file order on every pass."""
        skip = max(0, min(self.good_done - good, batch.num_rows))
        fresh = [
            dataclasses.replace(m, position=max(0, m.position - skip)) for m in malformed if m.index >= self.bad_done
        ]
        if skip == batch.num_rows and not fresh:
            return
        self.good_done = max(self.good_done, good + batch.num_rows)
        if fresh:
            self.bad_done = fresh[-1].index + 1
        yield batch.slice(skip), fresh


def _line_breaks(batch: pa.RecordBatch) -> np.ndarray:
    """Line breaks inside each row's values (a quoted value may hold some)."""
    total = np.zeros(batch.num_rows, dtype=np.int64)
    for column in batch.columns:
        counts = pc.count_substring(column, "\n")
        total += pc.fill_null(counts, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    return total


def _restarting(
    options: _Options, names: list[str], block_size: int
) -> Iterator[tuple[pa.RecordBatch, list[_Malformed]]]:
    """The file's raw batches (binary columns), each with the malformed rows that go among its
    rows (see :class:`_Recovery`); on a row longer than the block, start again with larger
    blocks and skip what was already yielded."""
    done = 0
    types: dict[str, pa.DataType] = {n: pa.binary() for n in names}
    recovery: _Recovery | None = None
    while True:
        try:
            if recovery is not None:
                yield from recovery.read(options, types, block_size)
                return
            options.bad_rows = []
            reader = _open_checked(options, names, types, block_size)
            try:
                for batch in _after(reader, done):
                    done += batch.num_rows
                    yield batch, []
            finally:
                reader.close()
            return
        except pa.ArrowInvalid as exc:
            if _straddles(exc) and block_size < MAX_BLOCK_SIZE:
                block_size *= 4
                continue
            if recovery is None and _malformed(exc, options):
                recovery = _Recovery(names, options.column_names is None, done)
                continue
            raise options.error(exc, recovery.good_done + recovery.bad_done if recovery else done) from None
        except OSError as exc:
            raise InputError(f"cannot read the file after {done} rows: {exc}", source=options.name) from None


def _open_checked(
    options: _Options, names: list[str], types: dict[str, pa.DataType], block_size: int
) -> pcsv.CSVStreamingReader:
    """The file opened with blocks of ``block_size``, its header checked to read as ``names``."""
    reader = options.open(block_size, types)
    if reader.schema.names != names:  # Python's csv and pyarrow read the header differently
        reader.close()
        raise InputError(
            f"cannot read the header row consistently: {names} vs {reader.schema.names} (pass column_names=)",
            source=options.name,
        )
    return reader


def _after(batches: Iterable[pa.RecordBatch], skip: int) -> Iterator[pa.RecordBatch]:
    """``batches`` without their first ``skip`` rows (already yielded before a restart)."""
    for batch in batches:
        if skip:
            if batch.num_rows <= skip:
                skip -= batch.num_rows
                continue
            batch = batch.slice(skip)
            skip = 0
        yield batch


def _text_schema(names: list[str], parse_vectors: bool) -> pa.Schema:
    return pa.schema(
        [(n, pa.list_(pa.float32()) if parse_vectors and n == VECTOR_COLUMN else pa.string()) for n in names]
    )


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
    for name, col in zip(raw.schema.names, raw.columns, strict=True):
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
