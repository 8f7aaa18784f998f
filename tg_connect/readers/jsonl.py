"""JSON Lines files as sources: one object a line, parsed by :func:`pyarrow.json.read_json`
a block of whole lines at a time.

* Columns are given explicit types, so nothing is type-inferred from a sample: the kind's
  columns (``docs/schemas.md``) and the keys of the file's first lines are strings, except
  ``vector`` (all kinds but ``rows``), a JSON array of numbers read as ``list<float32>``. A
  ``rows`` field whose first values are numbers or booleans keeps that JSON type. A key first
  seen later in the file is type-inferred (the load then names it as a column the first batch
  lacked).
* A missing key is null.
* **A line that cannot be read rejects that line only.** Malformed JSON, a line that is not
  an object, a value of the wrong JSON type for its column (a number where text is
  expected), a lone surrogate (``"\\ud800"``, which no UTF-8 text can hold), a number too big
  for a double: the line keeps its place as a row of nulls marked with
  :data:`~tg_connect.protocol.schemas.INPUT_ERROR` (file, line, column when known, reason, and
  the raw text), and every other line of the file is read. The load then rejects that row
  (``on_error="skip"``: in ``report.rejections``, and in ``report.rejected_rows`` as a row of
  nulls whose :data:`~tg_connect.protocol.schemas.RAW_LINE` column holds the line's text) or
  stops there (``"raise"``: an ``InputError`` naming the file and line, every line before it
  sent). Line numbers are 1-based, as an editor shows them; blank lines are skipped but
  counted. Batches carry :data:`~tg_connect.protocol.schemas.LINE_TEXT_METADATA` in their
  schema metadata to say so.
* Invalid UTF-8 is an encoding problem of the file, not of one line (it would recur on every
  line with non-ASCII text): every line before it is yielded, then an ``InputError`` names
  the line.
* A line longer than the block size (a 10 MB literal) makes its block longer: a block always
  ends at a line end.

Only a block that fails to parse is looked at line by line: its halves are parsed again
until the bad lines are found, so a bad line costs a few re-parses of its block, and the
good lines around it are parsed by pyarrow as usual.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from ..errors import InputError
from ..protocol import schemas
from .base import Source, rebatch

DEFAULT_BLOCK_SIZE = 1 << 20
MAX_BLOCK_SIZE = 1 << 30
_SAMPLE_BYTES = 1 << 20
_SHOWN_TEXT = 120  # characters of a bad line quoted in its rejection
_COLUMN = re.compile(r"Column\(/([^)/\[]*)")
_CHANGED = re.compile(r"changed from (\w+) to (\w+)")
_METADATA = {schemas.LINE_TEXT_METADATA: b"jsonl"}
_PARSE_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)
# pyarrow 26's JSON reader crashes the process on text whose first value is a bare ``null``
# (a later one is read as a row of nulls). Text starting so is never handed to it.
_NULL_FIRST = re.compile(rb"\s*null")


def _kind_columns(kind: str) -> list[str]:
    name = schemas.normalise_kind(kind)
    if name == "triples":
        return list(schemas.TRIPLES.names)
    if name == "graph-embeddings":
        return ["entity", "entity_type", "vector"]
    if name == "document-embeddings":
        return ["chunk_id", "vector"]
    if name == "entity-contexts":
        return list(schemas.ENTITY_CONTEXTS.names)
    return [schemas.ROWS_SCHEMA_NAME]


def from_jsonl(
    path: str | os.PathLike[str],
    batch_size: int,
    *,
    kind: str = "triples",
    block_size: int = DEFAULT_BLOCK_SIZE,
    compression: str | None = "detect",
) -> Source:
    """A source over a JSON Lines file; see the module docstring."""
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise InputError("no such file", source=name)
    if block_size < 1:
        raise ValueError("block_size must be at least 1")
    rows_kind = schemas.normalise_kind(kind) == "rows"
    schema = _explicit_schema(name, compression, _kind_columns(kind), rows_kind)
    metadata = {**_METADATA, **(schema.metadata or {})}

    def batches() -> Iterator[pa.RecordBatch]:
        rows = 0
        try:
            stream = pa.input_stream(name, compression=compression)
        except OSError as exc:
            raise InputError(f"cannot read the file: {exc}", source=name) from None
        lines = _Lines(stream, block_size, name)
        try:
            for first_line, block in lines:
                for batch in _Block(block, first_line, schema, name).batches():
                    rows += batch.num_rows
                    yield batch.replace_schema_metadata(metadata)
        except OSError as exc:
            raise InputError(f"cannot read the file after {rows} rows: {exc}", source=name, row=rows) from None
        finally:
            stream.close()
        if lines.bad_utf8_line is not None:
            raise InputError(f"invalid UTF-8 at line {lines.bad_utf8_line}", source=name, row=rows)
        if rows == 0:
            yield pa.RecordBatch.from_pylist([], schema=schema).replace_schema_metadata(metadata)

    return Source(name, lambda: rebatch(batches(), batch_size), None)


class _Lines:
    """The lines of a binary stream in blocks: ``(number of the block's first line, bytes)``.

    A block holds whole lines only (the last may lack its newline at the end of the file), of
    about ``block_size`` bytes or one longer line. The text is checked to be UTF-8 as it is
    read (pyarrow's JSON parser would silently replace bad bytes with U+FFFD): iteration stops
    before the line holding bad bytes, and ``bad_utf8_line`` names it.
    """

    def __init__(self, raw: Any, block_size: int, name: str) -> None:
        self.raw = raw
        self.block_size = block_size
        self.name = name
        self.bad_utf8_line: int | None = None

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        line = 1
        carry = b""
        while True:
            data = self.raw.read(self.block_size)
            if not data:
                buffer, carry = carry, b""
            elif (cut := data.rfind(b"\n") + 1) == 0:  # no line ends in this read: a long line
                buffer, carry = self._to_line_end(carry, data, line)
            else:
                buffer, carry = carry + data[:cut], data[cut:]
            if not buffer:
                return
            if line == 1 and buffer.startswith(b"\xef\xbb\xbf"):
                buffer = buffer[3:]  # a UTF-8 byte order mark is not part of the first line
            try:
                buffer.decode("utf-8")
            except UnicodeDecodeError as exc:
                start = buffer.rfind(b"\n", 0, exc.start) + 1
                self.bad_utf8_line = line + buffer.count(b"\n", 0, start)
                if start:
                    yield line, buffer[:start]
                return
            yield line, buffer
            line += buffer.count(b"\n")

    def _to_line_end(self, carry: bytes, data: bytes, line: int) -> tuple[bytes, bytes]:
        """After ``carry`` and a read ``data`` with no line end, read on to one (or to the end
        of the file): the whole lines, and what follows them."""
        pieces = [carry, data]
        cut = 0
        while cut == 0:
            if sum(len(p) for p in pieces) > MAX_BLOCK_SIZE:
                raise InputError(
                    f"line {line} or a later one is longer than {MAX_BLOCK_SIZE:,} bytes", source=self.name
                )
            data = self.raw.read(self.block_size)
            if not data:
                return b"".join(pieces), b""  # the end of the file
            cut = data.rfind(b"\n") + 1
            pieces.append(data)
        pieces[-1] = data[:cut]
        return b"".join(pieces), data[cut:]


@dataclass
class _Bad:
    """A line that pyarrow could not parse: where it is and what pyarrow said."""

    index: int  # the line's index in its block
    message: str


class _Block:
    """One block of whole lines, parsed into batches with every unreadable line kept as a
    marked row of nulls in its place (see the module docstring)."""

    def __init__(self, data: bytes, first_line: int, schema: pa.Schema, name: str) -> None:
        self.data = data
        self.first_line = first_line
        self.schema = schema
        self.name = name

    def batches(self) -> list[pa.RecordBatch]:
        if not _NULL_FIRST.match(self.data):
            try:
                batches: list[pa.RecordBatch] = self._parse(self.data).to_batches()
                return batches  # the usual case: the whole block parses
            except _PARSE_ERRORS:
                pass
        starts = np.concatenate([[0], np.flatnonzero(np.frombuffer(self.data, dtype=np.uint8) == 10) + 1])
        if starts[-1] != len(self.data):
            starts = np.append(starts, len(self.data))  # the file's last line, without a newline
        parts: list[pa.Table | _Bad] = []
        self._search(starts, 0, len(starts) - 1, parts)
        return self._assemble(parts, starts)

    def _parse(self, data: bytes) -> pa.Table:
        # One pyarrow block for the whole text: a block ends at a line end, so no line straddles.
        return pj.read_json(
            pa.BufferReader(data),
            read_options=pj.ReadOptions(block_size=len(data) + 1, use_threads=False),
            parse_options=pj.ParseOptions(explicit_schema=self.schema),
        )

    def _search(self, starts: np.ndarray, lo: int, hi: int, parts: list[pa.Table | _Bad]) -> None:
        """Parse lines ``lo..hi`` (exclusive), halving any part that fails down to its bad
        lines; the parsed tables and the bad lines go to ``parts`` in line order."""
        text = self.data[int(starts[lo]) : int(starts[hi])]
        if not text.strip():
            return  # blank lines: no rows
        if _NULL_FIRST.match(text):  # pyarrow must not see it (see _NULL_FIRST): halve without parsing
            if hi - lo == 1:
                parts.append(_Bad(lo, "a JSON null, not an object"))
                return
        else:
            try:
                parts.append(self._parse(text))
                return
            except _PARSE_ERRORS as exc:
                if hi - lo == 1:
                    parts.append(_Bad(lo, str(exc)))
                    return
        middle = (lo + hi) // 2
        self._search(starts, lo, middle, parts)
        self._search(starts, middle, hi, parts)

    def _assemble(self, parts: list[pa.Table | _Bad], starts: np.ndarray) -> list[pa.RecordBatch]:
        """One table of the parts in line order, a bad line being a row of nulls with its
        :data:`schemas.INPUT_ERROR`; good rows have a null there."""
        tables = [p for p in parts if isinstance(p, pa.Table)]
        schema = self.schema
        if tables:  # keys type-inferred in this block (not in the explicit schema) are kept
            try:
                schema = pa.unify_schemas([t.schema for t in tables], promote_options="permissive")
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise InputError(
                    f"a key first seen after line {self.first_line} has values of different JSON types: {exc}",
                    source=self.name,
                ) from None
        pieces: list[pa.Table] = []
        for part in parts:
            if isinstance(part, pa.Table):
                error = pa.nulls(part.num_rows, schemas.INPUT_ERROR_TYPE)
                pieces.append(part.append_column(pa.field(schemas.INPUT_ERROR, schemas.INPUT_ERROR_TYPE), error))
                continue
            raw = self.data[int(starts[part.index]) : int(starts[part.index + 1])]
            line = self.first_line + part.index
            column, reason = _diagnose(
                raw, line, part.message, last=int(starts[part.index + 1]) == len(self.data) and not raw.endswith(b"\n")
            )
            error = pa.array(
                [
                    {
                        "source": self.name,
                        "column": column,
                        "reason": reason,
                        "text": raw.rstrip(b"\r\n").decode("utf-8"),
                    }
                ],
                schemas.INPUT_ERROR_TYPE,
            )
            columns = [pa.nulls(1, f.type) for f in schema] + [error]
            pieces.append(
                pa.Table.from_arrays(
                    columns, schema=schema.append(pa.field(schemas.INPUT_ERROR, schemas.INPUT_ERROR_TYPE))
                )
            )
        table = pa.concat_tables(pieces, promote_options="permissive")
        batches: list[pa.RecordBatch] = table.combine_chunks().to_batches()
        return batches


def _diagnose(raw: bytes, line: int, message: str, last: bool) -> tuple[str | None, str]:
    """``(column, reason)`` for a line pyarrow could not parse: Python's JSON parser says
    where a syntax error is; pyarrow's message names a column of the wrong type."""
    text = raw.decode("utf-8").rstrip("\r\n")
    truncated = " (the file's last line, without a line end: is the file cut short?)" if last else ""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        what = re.sub(r"( starting)? at$", "", exc.msg)  # the position is given as line and column
        return None, f"malformed JSON at line {line}, column {exc.colno}: {what}{truncated}; the line: {_shown(text)}"
    except RecursionError:
        return None, f"JSON nested too deeply at line {line}"
    if not isinstance(obj, dict):
        return None, f"line {line} is not a JSON object but {_json_type(obj)}: {_shown(text)}"
    for key, value in obj.items():
        surrogate = _lone_surrogate(value)
        if surrogate is not None:
            return key, (
                f"a lone surrogate ({surrogate}) in a JSON string at line {line}: not valid Unicode,"
                " so it cannot be sent as UTF-8"
            )
        if _has_infinity(value):
            return key, f"a number too large for a double (beyond about ±1.8e308) at line {line}"
    found = _COLUMN.search(message)
    column = found.group(1) if found and found.group(1) else None
    detail = re.sub(r"\s*in row \d+$", "", message.replace("JSON parse error: ", ""))
    changed = _CHANGED.search(message)
    if column is not None and changed is not None:
        detail = f"the value is {_article(changed.group(2))} where the column holds {changed.group(1)} values"
    elif column is not None and "specified twice" in message:
        detail = f"the key {column!r} appears twice in the object"
    return column, f"cannot read line {line}: {detail}"


def _has_infinity(value: Any) -> bool:
    """Whether a decoded JSON value holds a number Python read as infinite (``1e400``)."""
    if isinstance(value, float):
        return value in (float("inf"), float("-inf"))
    if isinstance(value, list):
        return any(_has_infinity(v) for v in value)
    if isinstance(value, dict):
        return any(_has_infinity(v) for v in value.values())
    return False


def _lone_surrogate(value: Any) -> str | None:
    """The first lone surrogate in a decoded JSON value, as ``\\\\udxxx``, if any."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return None
        except UnicodeEncodeError as exc:
            return f"\\u{ord(value[exc.start]):04x}"
    if isinstance(value, list):
        for item in value:
            found = _lone_surrogate(item)
            if found is not None:
                return found
    if isinstance(value, dict):
        for key, item in value.items():
            found = _lone_surrogate(key) or _lone_surrogate(item)
            if found is not None:
                return found
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _article(json_kind: str) -> str:
    return f"an {json_kind}" if json_kind[:1] in "aeiou" else f"a {json_kind}"


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN_TEXT else text[:_SHOWN_TEXT] + "...")


def _sample_objects(name: str, compression: str | None) -> Iterator[dict[str, Any]]:
    """The JSON objects of the file's first lines; lines that are not are skipped here (each is
    reported with its line number when it is read)."""
    try:
        with pa.input_stream(name, compression=compression) as f:
            sample = f.read(_SAMPLE_BYTES)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc}", source=name) from None
    if not sample.strip():
        raise InputError("empty JSON Lines file", source=name)
    lines = sample.split(b"\n")
    if len(sample) == _SAMPLE_BYTES:
        lines = lines[:-1] or lines  # the last line may be cut short
    for line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError):
            continue
        if isinstance(obj, dict):
            yield obj


def _sampled_type(key: str, value: Any, rows_kind: bool) -> pa.DataType | None:
    """The column type a sampled value gives its key; ``None``: left to inference (a nested
    value, which the load names)."""
    if key == "vector" and not rows_kind:
        return pa.list_(pa.float32())
    if rows_kind and isinstance(value, bool):
        return pa.bool_()
    if rows_kind and isinstance(value, int):
        return pa.int64()
    if rows_kind and isinstance(value, float):
        return pa.float64()
    if value is None or isinstance(value, str):
        return pa.string()
    return None


def _explicit_schema(name: str, compression: str | None, known: list[str], rows_kind: bool) -> pa.Schema:
    """The kind's columns, plus the keys of the first lines, with their types (see above)."""
    types: dict[str, pa.DataType] = {}
    for obj in _sample_objects(name, compression):
        for key, value in obj.items():
            if key not in types:
                sampled = _sampled_type(key, value, rows_kind)
                if sampled is not None:
                    types[key] = sampled
    if not types or any(key in types for key in known):
        # The file is of this kind: give every column of the kind a type (as leading columns),
        # so a key that is absent at first does not change the schema part way. So too when no
        # line of the sample could be read: each is then rejected with its reason.
        ordered = {key: pa.list_(pa.float32()) if key == "vector" else pa.string() for key in known}
        added = [key for key in known if key not in types]
        ordered.update({k: v for k, v in types.items() if k not in ordered})
        if added:  # named, so that a columns= mapping onto one of them replaces it
            return pa.schema(list(ordered.items()), metadata={schemas.ADDED_COLUMNS_METADATA: ",".join(added)})
        types = ordered
    return pa.schema(list(types.items()))
