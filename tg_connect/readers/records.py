"""Iterables of Python records as sources: :class:`~tg_connect.protocol.terms.Triple`\\ s,
other dataclasses, and dicts, gathered ``batch_size`` at a time.

* ``Triple`` objects become the canonical triples columns (literals normalised).
* Other dataclasses and dicts: each field or key is a column. A
  :class:`~tg_connect.protocol.terms.Term` value in column ``x`` is flattened into ``x`` and
  ``x_type`` (and ``x_datatype``, ``x_language`` for the object position ``o``). Other values
  are converted by Arrow (a list of floats or a numpy array is a vector).
* The columns and their types are fixed by the first batch (a column that is all null there
  is text); a later record with a field the first batch did not have, or a value of another
  type, is an :class:`~tg_connect.errors.InputError` naming the column and the record.
* A string that cannot be UTF-8 (a lone surrogate, ``"\\ud800"``) does not stop the read:
  the value is read as null and the record is marked as unreadable
  (:data:`~tg_connect.protocol.schemas.INPUT_ERROR`), so the load rejects it, naming record
  and column, and sends the rest.

A generator can be read once; a list or other re-iterable can be opened again.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pyarrow as pa

from ..errors import InputError
from ..protocol import schemas
from ..protocol.terms import LITERAL, Term, Triple, normalise_literal
from .base import Source, unencodable, with_input_errors

_NAME = "records"


def is_records(data: Any) -> bool:
    """Whether ``data`` is an iterable :func:`from_records` might take (checked lazily)."""
    if isinstance(data, (str, bytes, bytearray, memoryview, Mapping)):
        return False
    return isinstance(data, Iterable)


def from_records(data: Iterable[Any], batch_size: int, name: str | None = None) -> Source:
    """A source over Triples, dataclasses or dicts (see the module docstring)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    label = name or _NAME
    total = len(data) if isinstance(data, (list, tuple)) else None

    def batches() -> Iterator[pa.RecordBatch]:
        iterator = iter(data)
        first = next(iterator, None)
        if first is None:
            raise InputError("no records: the iterable is empty", source=label)
        records = itertools.chain([first], iterator)
        if isinstance(first, Triple):
            yield from _triples(records, batch_size, label)
        elif dataclasses.is_dataclass(first) and not isinstance(first, type):
            yield from _generic(records, batch_size, label, _dataclass_fields)
        elif isinstance(first, Mapping):
            yield from _generic(records, batch_size, label, _mapping_fields)
        else:
            raise InputError(
                f"records must be Triples, dataclasses or dicts, not {type(first).__name__}", source=label, row=0
            )

    return Source(label, batches, total)


def _triples(records: Iterator[Any], batch_size: int, name: str) -> Iterator[pa.RecordBatch]:
    row = 0
    while True:
        chunk = list(itertools.islice(records, batch_size))
        if not chunk:
            return
        cols: list[list[Any]] = [[] for _ in schemas.TRIPLES.names]
        s, st, p, pt, o, ot, odt, oln, g = (c.append for c in cols)
        for i, t in enumerate(chunk):
            if not isinstance(t, Triple):
                raise InputError(f"expected a Triple, got {type(t).__name__}", source=name, row=row + i)
            s(t.s.value)
            st(t.s.kind)
            p(t.p.value)
            pt(t.p.kind)
            o(t.o.value)
            ot(t.o.kind)
            if t.o.kind == LITERAL:
                datatype, language = normalise_literal(t.o.datatype, t.o.language)
            else:
                datatype = language = None
            odt(datatype)
            oln(language)
            g(t.g or None)
        errors: dict[int, tuple[str | None, str]] = {}
        arrays = [_array(c, pa.string(), column, errors) for c, column in zip(cols, schemas.TRIPLES.names, strict=True)]
        yield with_input_errors(pa.RecordBatch.from_arrays(arrays, schema=schemas.TRIPLES), errors)
        row += len(chunk)
        if len(chunk) < batch_size:
            return


def _dataclass_fields(record: Any) -> dict[str, Any]:
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        raise TypeError(f"expected a dataclass instance, got {type(record).__name__}")
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def _mapping_fields(record: Any) -> dict[str, Any]:
    if not isinstance(record, Mapping):
        raise TypeError(f"expected a dict, got {type(record).__name__}")
    return {str(k): v for k, v in record.items()}


def _generic(
    records: Iterator[Any], batch_size: int, name: str, fields: Callable[[Any], dict[str, Any]]
) -> Iterator[pa.RecordBatch]:
    schema: pa.Schema | None = None
    columns: list[str] | None = None
    row = 0
    while True:
        chunk = list(itertools.islice(records, batch_size))
        if not chunk:
            return
        flat = _flat_fields(chunk, fields, name, row)
        if columns is None:
            columns = _first_columns(flat)
        else:
            _check_known(flat, columns, name, row)
        errors: dict[int, tuple[str | None, str]] = {}
        arrays = [_column(flat, column, schema, errors, name, row) for column in columns]
        batch = pa.RecordBatch.from_arrays(arrays, names=columns)
        if schema is None:
            schema = batch.schema
        yield with_input_errors(batch, errors)
        row += len(chunk)
        if len(chunk) < batch_size:
            return


def _flat_fields(
    chunk: list[Any], fields: Callable[[Any], dict[str, Any]], name: str, row: int
) -> list[dict[str, Any]]:
    """Each record's fields, terms flattened into value and kind columns; ``row``: the first's."""
    flat: list[dict[str, Any]] = []
    for i, record in enumerate(chunk):
        try:
            flat.append(_flatten(fields(record)))
        except (TypeError, ValueError) as exc:
            raise InputError(str(exc), source=name, row=row + i) from None
    return flat


def _first_columns(flat: list[dict[str, Any]]) -> list[str]:
    """The fields of the first batch of records, in the order first seen: the columns."""
    seen: dict[str, None] = {}
    for values in flat:
        seen.update(dict.fromkeys(values))
    return list(seen)


def _check_known(flat: list[dict[str, Any]], columns: list[str], name: str, row: int) -> None:
    known = set(columns)
    for i, values in enumerate(flat):
        for key in values:
            if key not in known:
                raise InputError("field not in the first batch of records", source=name, column=key, row=row + i)


def _column(
    flat: list[dict[str, Any]],
    column: str,
    schema: pa.Schema | None,
    errors: dict[int, tuple[str | None, str]],
    name: str,
    row: int,
) -> pa.Array:
    """One column of the records as an Arrow array: of the type the first batch gave it (a
    first batch of nulls only: strings); values that do not convert are an error naming the row."""
    values_of = [values.get(column) for values in flat]
    try:
        if schema is None:
            array = _array(values_of, None, column, errors)
            return array.cast(pa.string()) if pa.types.is_null(array.type) else array
        return _array(values_of, schema.field(column).type, column, errors)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeEncodeError) as exc:
        at = row
        expected = ""
        if schema is not None:
            expected = f"; the first batch has {schema.field(column).type}"
            at = row + _first_unconvertible(values_of, schema.field(column).type)
        raise InputError(
            f"values cannot be converted to Arrow{expected}: {exc}", source=name, column=column, row=at
        ) from None


def _array(
    values: list[Any], type_: pa.DataType | None, column: str, errors: dict[int, tuple[str | None, str]]
) -> pa.Array:
    """``values`` as an Arrow array; a value that cannot be UTF-8 (a lone surrogate) becomes
    null and its row goes to ``errors`` (Python looks at the values only when Arrow fails)."""
    try:
        return pa.array(values) if type_ is None else pa.array(values, type_)
    except UnicodeEncodeError:
        cleaned = list(values)
        for i, value in enumerate(values):
            reason = unencodable(value)
            if reason is not None:
                cleaned[i] = None
                errors.setdefault(i, (column, reason))
        return pa.array(cleaned) if type_ is None else pa.array(cleaned, type_)


def _first_unconvertible(values: list[Any], type_: pa.DataType) -> int:
    for i, value in enumerate(values):
        try:
            pa.array([value], type_)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeEncodeError):
            return i
    return 0


def _flatten(values: dict[str, Any]) -> dict[str, Any]:
    if not any(isinstance(v, Term) for v in values.values()):
        return values
    out: dict[str, Any] = {}
    for key, value in values.items():
        if not isinstance(value, Term):
            out[key] = value
            continue
        out[key] = value.value
        out[f"{key}_type"] = value.kind
        if key == "o":
            datatype, language = normalise_literal(value.datatype, value.language)
            out["o_datatype"] = datatype if value.kind == LITERAL else None
            out["o_language"] = language if value.kind == LITERAL else None
        elif value.kind == LITERAL and (value.datatype or value.language):
            raise ValueError(f"field {key!r}: only the object 'o' may be a literal with a datatype or language")
    return out
