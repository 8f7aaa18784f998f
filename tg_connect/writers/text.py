"""Arrow columns as JSON text, with Arrow kernels only (no per-row Python).

Used by the JSON Lines writer (every value) and the CSV writer (vectors as JSON array text).
Strings are escaped as JSON requires (``"``, ``\\`` and control characters); floats use
Arrow's shortest round-trip form (a float32 reads back as the same float32).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError

_CONTROL = "[\\x00-\\x1f]"
_SHORT_ESCAPES = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def json_strings(arr: pa.Array) -> pa.Array:
    """Each string as a JSON string literal (quoted and escaped); nulls stay null."""
    x = pc.replace_substring(arr, "\\", "\\\\")
    x = pc.replace_substring(x, '"', '\\"')
    if pc.any(pc.match_substring_regex(x, _CONTROL)).as_py():
        for code in range(32):
            char = chr(code)
            if pc.any(pc.match_substring(x, char)).as_py():
                x = pc.replace_substring(x, char, _SHORT_ESCAPES.get(char, f"\\u{code:04x}"))
    return pc.binary_join_element_wise('"', x, '"', "")


def json_numbers(arr: pa.Array, non_finite: str = "null") -> pa.Array:
    """Numbers as JSON number text; NaN and infinities as ``non_finite`` (JSON has none).

    ``non_finite="tokens"`` writes ``NaN``, ``Infinity`` and ``-Infinity`` (as Python's json
    module and JavaScript do; tg_connect's CSV reader reads them).
    """
    text = pc.cast(arr, pa.string())
    if pa.types.is_floating(arr.type):
        finite = pc.is_finite(arr)
        if not pc.all(pc.fill_null(finite, True)).as_py():
            if non_finite == "tokens":
                token = pc.if_else(pc.is_nan(arr), "NaN", pc.if_else(pc.greater(arr, 0), "Infinity", "-Infinity"))
            else:
                token = pa.array([non_finite] * len(arr), pa.string())
            text = pc.if_else(pc.fill_null(finite, True), text, token)
    return text


def json_arrays(arr: pa.Array, column: str, non_finite: str = "null") -> pa.Array:
    """A list column of numbers (or strings) as JSON array text; a null list stays null."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_fixed_size_list(arr.type):
        size = arr.type.list_size
        flat = arr.flatten()  # honours the array's offset
        offsets = pa.array(range(0, (len(arr) + 1) * size, size), pa.int32())
        lists = pa.ListArray.from_arrays(
            offsets, json_values(flat, column, non_finite), mask=pc.is_null(arr) if arr.null_count else None
        )
    else:
        offsets = arr.offsets
        values = json_values(arr.values, column, non_finite)
        lists = pa.ListArray.from_arrays(offsets, values, mask=pc.is_null(arr) if arr.null_count else None)
    joined = pc.binary_join(lists, ",")
    return pc.binary_join_element_wise("[", joined, "]", "")


def json_values(arr: pa.Array, column: str, non_finite: str = "null") -> pa.Array:
    """Any supported Arrow column as JSON value text; nulls as ``null``."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or getattr(pa.types, "is_string_view", lambda _t: False)(t):
        text = json_strings(arr.cast(pa.string()))
    elif pa.types.is_integer(t) or pa.types.is_floating(t):
        text = json_numbers(arr, non_finite)
    elif pa.types.is_boolean(t):
        text = pc.if_else(arr, "true", "false")
    elif pa.types.is_null(t):
        text = pa.nulls(len(arr), pa.string())
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        if pa.types.is_large_list(t):
            arr = arr.cast(pa.list_(t.value_type))
        text = json_arrays(arr, column, non_finite)
    else:
        try:
            text = json_strings(arr.cast(pa.string()))  # dates, timestamps, decimals: as text
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InputError(f"column type {t} cannot be written as JSON text", column=column) from None
    return pc.fill_null(text, "null")
