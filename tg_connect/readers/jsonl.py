"""JSON Lines files as sources, streamed with :func:`pyarrow.json.open_json` (one object a line).

* Columns are given explicit types, so nothing is type-inferred from a sample: the kind's
  columns (``docs/schemas.md``) and the keys of the file's first lines are strings, except
  ``vector`` (all kinds but ``rows``), a JSON array of numbers read as ``list<float32>``. A
  ``rows`` field whose first values are numbers or booleans keeps that JSON type. A key first
  seen later in the file is type-inferred (the load then names it as a column the first batch
  lacked).
* A missing key is null. A value of the wrong JSON type for its column (a number where text
  is expected) is an :class:`~tg_connect.errors.InputError` naming the column and row.
* Invalid UTF-8 (which pyarrow would silently replace with U+FFFD) is checked as the file is
  read: every line before it is yielded, then an ``InputError`` names the line.
* A line longer than the block size (a 10 MB literal) is handled by re-reading with larger
  blocks and skipping the rows already yielded.

Syntax errors are reported after every complete block (~1 MB) before them was yielded; the
rows of the failing block before the bad line are not (pyarrow parses a block at once).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Iterator

import pyarrow as pa

import pyarrow.json as pj

from ..errors import InputError
from ..protocol import schemas
from .base import Source, rebatch

DEFAULT_BLOCK_SIZE = 1 << 20
MAX_BLOCK_SIZE = 1 << 30
_SAMPLE_BYTES = 1 << 20
_ROW = re.compile(r"in row (\d+)")
_COLUMN = re.compile(r"Column\(/([^)/\[]*)")


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
    rows_kind = schemas.normalise_kind(kind) == "rows"
    schema = _explicit_schema(name, compression, _kind_columns(kind), rows_kind)

    def batches() -> Iterator[pa.RecordBatch]:
        done = 0
        size = block_size
        while True:
            stream = _Utf8Lines(pa.input_stream(name, compression=compression))
            skip = done
            try:
                reader = pj.open_json(stream, read_options=pj.ReadOptions(block_size=size),
                                      parse_options=pj.ParseOptions(explicit_schema=schema))
                for batch in reader:
                    if skip:
                        if batch.num_rows <= skip:
                            skip -= batch.num_rows
                            continue
                        batch, skip = batch.slice(skip), 0
                    done += batch.num_rows
                    yield batch
            except pa.ArrowInvalid as exc:
                if "straddl" in str(exc) and size < MAX_BLOCK_SIZE:
                    size *= 4
                    continue
                if stream.error is not None:
                    break  # the invalid UTF-8, reported below, ended the stream mid-object
                raise _error(exc, name, done) from None
            except OSError as exc:
                raise InputError(f"cannot read the file after {done} rows: {exc}", source=name) from None
            finally:
                stream.close()
            break
        if stream.error is not None:
            raise InputError(f"invalid UTF-8 at line {stream.error}", source=name, row=done)
        if done == 0:
            yield pa.RecordBatch.from_pylist([], schema=schema)

    return Source(name, lambda: rebatch(batches(), batch_size), None)


def _error(exc: BaseException, name: str, done: int) -> InputError:
    text = str(exc)
    if "straddl" in text:
        return InputError(f"a JSON line is longer than {MAX_BLOCK_SIZE:,} bytes", source=name, row=done)
    row_match = _ROW.search(text)
    column_match = _COLUMN.search(text)
    if "empty" in text.lower() and done == 0:
        return InputError("empty JSON Lines file", source=name)
    return InputError(f"invalid JSON Lines: {text}", source=name,
                      column=column_match.group(1) if column_match else None,
                      row=done + int(row_match.group(1)) if row_match else None)


def _explicit_schema(name: str, compression: str | None, known: list[str], rows_kind: bool) -> pa.Schema:
    """The kind's columns, plus the keys of the first lines, with their types (see above)."""
    types: dict[str, pa.DataType] = {}
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
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            break  # reported with its row by pyarrow (or as invalid UTF-8) when streamed
        if not isinstance(obj, dict):
            raise InputError(f"line {number} is not a JSON object", source=name, row=number - 1)
        for key, value in obj.items():
            if key in types:
                continue
            if key == "vector" and not rows_kind:
                types[key] = pa.list_(pa.float32())
            elif rows_kind and isinstance(value, bool):
                types[key] = pa.bool_()
            elif rows_kind and isinstance(value, int):
                types[key] = pa.int64()
            elif rows_kind and isinstance(value, float):
                types[key] = pa.float64()
            elif value is None or isinstance(value, str):
                types[key] = pa.string()
            # anything else (a nested value) is left to inference, and the load names it
    if any(key in types for key in known):
        # The file is of this kind: give every column of the kind a type (as leading columns),
        # so a key that is absent at first does not change the schema part way.
        ordered = {key: pa.list_(pa.float32()) if key == "vector" else pa.string() for key in known}
        ordered.update({k: v for k, v in types.items() if k not in ordered})
        types = ordered
    return pa.schema(list(types.items()))


class _Utf8Lines:
    """A binary stream that passes on whole lines of valid UTF-8 only.

    pyarrow's JSON parser replaces invalid UTF-8 with U+FFFD; this stream stops before the line
    that holds any, and remembers the line number in ``error``, so the reader can yield every
    line before it and then say where the bad bytes are.
    """

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.carry = b""
        self.out = b""
        self.pos = 0
        self.line = 1
        self.eof = False
        self.error: int | None = None
        self.closed = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.raw.close()

    def read(self, n: int = -1) -> bytes:
        while self.pos >= len(self.out) and not self.eof:
            self._fill()
        if n is None or n < 0:
            n = len(self.out) - self.pos
        chunk = self.out[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk

    def _fill(self) -> None:
        data = self.raw.read(1 << 20)
        if data:
            buffer = self.carry + data
            cut = buffer.rfind(b"\n") + 1
            self.carry = buffer[cut:]
            buffer = buffer[:cut]
        else:
            buffer, self.carry, self.eof = self.carry, b"", True
        if not buffer:
            self.out, self.pos = b"", 0
            return
        try:
            buffer.decode("utf-8")
        except UnicodeDecodeError as exc:
            start = buffer.rfind(b"\n", 0, exc.start) + 1
            self.error = self.line + buffer.count(b"\n", 0, start)
            buffer = buffer[:start]
            self.eof = True
            self.carry = b""
        self.line += buffer.count(b"\n")
        self.out, self.pos = buffer, 0
