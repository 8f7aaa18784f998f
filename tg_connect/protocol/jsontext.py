"""Vectorised JSON text building over Arrow string columns.

Bulk import must not build one Python object per row, so message bodies are assembled from
Arrow compute kernels: strings are JSON-escaped column-wise and glued with literal JSON
punctuation. Only the characters JSON requires are escaped (``"``, ``\\`` and U+0000-U+001F);
all other text, non-BMP characters included, passes through as UTF-8, which JSON allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_SHORT_ESCAPES = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def deletion_table(wanted: bytes) -> bytes:
    """Every byte except ``wanted``: for ``bytes.translate(None, table)``, which then keeps
    only the wanted bytes. One C pass over a column's text, much cheaper than a kernel call
    per string, tells whether any value contains any of them."""
    return bytes(b for b in range(256) if b not in wanted)


_ESCAPE_TABLE = deletion_table(bytes(range(32)) + b'"\\')


def text_contains_any(values: Any, table: bytes) -> bool:
    """Whether the character data of a string column holds any byte kept by ``table``."""
    return bool(kept_bytes(values, table))


def kept_bytes(values: Any, table: bytes) -> bytes:
    """The bytes of a string column's text that ``table`` keeps (empty: none of them occur)."""
    found = b""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        if chunk.type not in (pa.string(), pa.large_string()):
            chunk = chunk.cast(pa.string())
        _validity, offsets_buf, data = chunk.buffers()
        if data is None:
            continue
        width = 8 if chunk.type == pa.large_string() else 4
        offsets = np.frombuffer(
            offsets_buf, dtype=np.int64 if width == 8 else np.int32, count=len(chunk) + 1, offset=chunk.offset * width
        )
        found += bytes(memoryview(data)[offsets[0] : offsets[-1]]).translate(None, table)
    return found


def escape(values: Any) -> Any:
    """JSON-escape every string of ``values`` (without surrounding quotes); nulls stay null.

    Most columns (IRIs, ids) need no escaping at all: one scan finds out, and only columns
    that need it pay for the replacement passes.
    """
    present = set(kept_bytes(values, _ESCAPE_TABLE))  # one pass says which passes are needed
    if not present:
        return values
    out = values
    if ord("\\") in present:
        out = pc.replace_substring(out, "\\", "\\\\")
    if ord('"') in present:
        out = pc.replace_substring(out, '"', '\\"')
    for code in sorted(present - {ord("\\"), ord('"')}):
        ch = chr(code)
        out = pc.replace_substring(out, ch, _SHORT_ESCAPES.get(ch, f"\\u{code:04x}"))
    return out


def quoted(values: Any) -> Any:
    """``values`` as JSON string literals (``"..."``); nulls stay null."""
    return concat('"', escape(values), '"')


def merged(parts: Sequence[Any]) -> list[Any]:
    """``parts`` with neighbouring Python strings joined: the join kernel pays for every
    part on every row, a constant as much as a column, so fewer parts is a faster join."""
    out: list[Any] = []
    for part in parts:
        if isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] += part
        else:
            out.append(part)
    return out


def concat(*parts: Any) -> Any:
    """Element-wise concatenation of arrays and Python strings; a null part makes the row null."""
    return pc.binary_join_element_wise(*merged(parts), "")


def concat_skip_nulls(*parts: Any) -> Any:
    """Element-wise concatenation where null parts count as empty strings."""
    return pc.binary_join_element_wise(*merged(parts), "", null_handling="replace", null_replacement="")
