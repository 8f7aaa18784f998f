"""Vectorised JSON text building over Arrow string columns.

Bulk import must not build one Python object per row, so message bodies are assembled from
Arrow compute kernels: strings are JSON-escaped column-wise and glued with literal JSON
punctuation. Only the characters JSON requires are escaped (``"``, ``\\`` and U+0000-U+001F);
all other text, non-BMP characters included, passes through as UTF-8, which JSON allows.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

# RE2 character classes: what JSON must escape, and the control characters among them.
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'
_CONTROL = r"[\x00-\x1f]"
_SHORT_ESCAPES = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(values: Any) -> Any:
    """JSON-escape every string of ``values`` (without surrounding quotes); nulls stay null.

    Most columns (IRIs, ids) need no escaping at all: one scan finds out, and only columns
    that need it pay for the replacement passes.
    """
    if not pc.any(pc.match_substring_regex(values, _NEEDS_ESCAPE)).as_py():
        return values
    out = pc.replace_substring(values, "\\", "\\\\")
    out = pc.replace_substring(out, '"', '\\"')
    if pc.any(pc.match_substring_regex(out, _CONTROL)).as_py():
        for code in range(32):
            ch = chr(code)
            out = pc.replace_substring(out, ch, _SHORT_ESCAPES.get(ch, f"\\u{code:04x}"))
    return out


def quoted(values: Any) -> Any:
    """``values`` as JSON string literals (``"..."``); nulls stay null."""
    return concat('"', escape(values), '"')


def concat(*parts: Any) -> Any:
    """Element-wise concatenation of arrays and Python strings; a null part makes the row null."""
    return pc.binary_join_element_wise(*parts, "")


def concat_skip_nulls(*parts: Any) -> Any:
    """Element-wise concatenation where null parts count as empty strings."""
    return pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="")
