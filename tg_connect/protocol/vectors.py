"""Vectors written as text: a JSON array of numbers per value (``"[0.1, -2, 3e-5]"``).

CSV files hold vectors so, and so does a DataFrame read from one by pandas. The CSV reader
parses its ``vector`` column with :func:`parse_vector_text`; the conformer parses a vector
column that reached it as text (a column mapped onto ``vector`` by ``columns=``), and names
every value that is not such an array with :func:`bad_vector_rows`. Arrow kernels only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NUMBER = r"^(?:[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)|null)$"


@dataclass
class _Split:
    """A text column cut into items: each row's item count, the items and the row of each."""

    text: pa.Array
    lengths: pa.Array
    values: pa.Array
    parents: pa.Array
    bad_items: pa.Array  # per item: not a number
    unbracketed: pa.Array  # per row: a value that is not in [...]


def _split(text: pa.Array) -> _Split:
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
    good_item = pc.match_substring_regex(values, NUMBER, ignore_case=True)
    bad_items = pc.invert(pc.fill_null(good_item, False))
    unbracketed = pc.fill_null(pc.and_(pc.is_valid(text), pc.invert(bracketed)), False)
    return _Split(text, lengths, values, parents, bad_items, unbracketed)


def bad_vector_rows(text: pa.Array) -> list[int]:
    """The rows of ``text`` that are neither null nor a JSON array of numbers, in order."""
    split = _split(text)
    rows = set(pc.indices_nonzero(split.unbracketed).to_pylist())
    if len(split.values) and pc.any(split.bad_items).as_py():
        rows.update(pc.unique(split.parents.filter(split.bad_items)).to_pylist())
    return sorted(rows)


def parse_vector_text(text: pa.Array) -> tuple[pa.Array, int | None]:
    """JSON array texts (``"[0.1, 2]"``) -> ``list<float32>``, and the first unparseable row.

    A null text is a null vector; ``"[]"`` an empty one; a ``null`` item a null item.
    Vectorised (Arrow kernels only).
    """
    split = _split(text)
    text = split.text
    bad_rows: list[int] = []
    if len(split.values) and pc.any(split.bad_items).as_py():
        bad_rows.append(int(pc.min(split.parents.filter(split.bad_items)).as_py()))
    if pc.any(split.unbracketed).as_py():
        bad_rows.append(int(pc.indices_nonzero(split.unbracketed)[0].as_py()))
    if bad_rows:
        return pa.nulls(len(text), pa.list_(pa.float32())), min(bad_rows)
    # Offsets with no validity bitmap at all: pyarrow 25 refuses a mask beside offsets that have
    # one ("Ambiguous to specify both validity map and offsets with nulls"), even with no null.
    ends = np.cumsum(pc.fill_null(split.lengths, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    offsets = pc.cast(pa.array(np.concatenate((np.zeros(1, np.int64), ends))), pa.int32())
    floats = pc.cast(pc.if_else(pc.equal(split.values, "null"), None, split.values), pa.float32())
    mask = pc.is_null(text)
    vectors = pa.ListArray.from_arrays(offsets, floats, mask=mask if text.null_count else None)
    return vectors, None
