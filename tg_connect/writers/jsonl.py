"""JSON Lines output: one JSON object per row, every column a key (``null`` for nulls).

Encoding is vectorised (:mod:`.text`): each column becomes JSON value text with Arrow kernels
and the lines are joined into one buffer per batch. Vectors are JSON arrays of numbers (a
float32 is written in its shortest form and reads back exactly); JSON has no NaN or
infinity, so such items are written as ``null`` (a load rejects that row). Text that is not
a string, number, boolean or list (dates, decimals...) is written as a JSON string.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from .base import Destination, WriteResult, as_reader, dest_name, is_file_object, open_output
from .text import json_strings, json_values


def jsonl_lines(batch: pa.RecordBatch) -> pa.Array:
    """Each row of ``batch`` as a JSON object text followed by a newline."""
    if batch.num_columns == 0:
        return pa.array(["{}\n"] * batch.num_rows, pa.string())
    keys = json_strings(pa.array(batch.schema.names, pa.string())).to_pylist()
    parts: list[pa.Array | str] = []
    for i, (key, column) in enumerate(zip(keys, batch.columns, strict=True)):
        parts.append(("{" if i == 0 else ",") + key + ":")
        parts.append(json_values(column, batch.schema.names[i]))
    parts.append("}\n")
    return pc.binary_join_element_wise(*parts, "")


def _text_buffer(lines: pa.Array) -> pa.Buffer:
    """The bytes of a string array without nulls, concatenated (its data buffer, no copy)."""
    _, offsets_buffer, data = lines.buffers()[:3]
    offsets = pa.Array.from_buffers(pa.int32(), len(lines) + 1, [None, offsets_buffer], offset=lines.offset)
    start, end = offsets[0].as_py(), offsets[-1].as_py()
    return data.slice(start, end - start)


def write_jsonl(reader: pa.RecordBatchReader, dest: Destination, *, compression: str | None = None) -> WriteResult:
    """Stream ``reader`` into a JSON Lines file; memory stays one batch (and its text)."""
    reader = as_reader(reader)
    name = dest_name(dest)
    rows = 0
    with open_output(dest, compression) as out:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            lines = jsonl_lines(batch)
            out.write(_text_buffer(lines))
            rows += batch.num_rows
    return WriteResult(rows, [] if is_file_object(dest) else [name])
