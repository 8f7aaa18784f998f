"""Vectorised JSON text building over Arrow string columns.

Bulk import must not build one Python object per row, so message bodies are assembled from
Arrow compute kernels: strings are JSON-escaped column-wise and glued with literal JSON
punctuation. Only the characters JSON requires are escaped (``"``, ``\\`` and U+0000-U+001F);
all other text, non-BMP characters included, passes through as UTF-8, which JSON allows.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

_CONTROL = "[\\x00-\\x1f]"
_SHORT_ESCAPES = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """JSON-escape every string of ``values`` (without surrounding quotes); nulls stay null."""
    out = pc.replace_substring(values, "\\", "\\\\")
    out = pc.replace_substring(out, '"', '\\"')
    # Control characters are rare: test once, and only then pay for 32 passes.
    if pc.any(pc.match_substring_regex(out, _CONTROL)).as_py():
        for code in range(32):
            ch = chr(code)
            out = pc.replace_substring(out, ch, _SHORT_ESCAPES.get(ch, f"\\u{code:04x}"))
    return out


def quoted(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``values`` as JSON string literals (``"..."``); nulls stay null."""
    return concat('"', escape(values), '"')


def concat(*parts: object) -> pa.Array | pa.ChunkedArray:
    """Element-wise concatenation of arrays and Python strings; a null part makes the row null."""
    return pc.binary_join_element_wise(*parts, "")


def concat_skip_nulls(*parts: object) -> pa.Array | pa.ChunkedArray:
    """Element-wise concatenation where null parts count as empty strings."""
    return pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="")


def join_rows(rows: pa.Array, prefix: str, separator: str, suffix: str) -> bytes:
    """UTF-8 bytes of ``prefix + separator.join(rows) + suffix``, without a Python object per row.

    Each row is given its separator, then the whole character buffer is taken in one slice.
    """
    if len(rows) == 0:
        return (prefix + suffix).encode()
    if rows.null_count:
        raise ValueError("cannot join null rows")
    with_sep = pc.binary_join_element_wise(rows, separator, "")
    if isinstance(with_sep, pa.ChunkedArray):
        with_sep = with_sep.combine_chunks()
    if with_sep.type != pa.string():
        with_sep = with_sep.cast(pa.string())
    _validity, offsets_buf, data = with_sep.buffers()
    offsets = pa.Array.from_buffers(pa.int32(), len(with_sep) + 1, [None, offsets_buf], offset=with_sep.offset)
    start = offsets[0].as_py()
    end = offsets[len(with_sep)].as_py() - len(separator.encode())
    body = data.slice(start, end - start).to_pybytes() if data is not None and end > start else b""
    return prefix.encode() + body + suffix.encode()
