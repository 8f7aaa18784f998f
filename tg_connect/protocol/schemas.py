"""The Arrow schemas that are tg_connect's data contract, one per bulk data kind.

``docs/schemas.md`` is the prose version of this module. Every reader produces, and every
bulk operation consumes, record batches of exactly these schemas; :mod:`.conform` turns a
user's table into them (guessing term kinds, mapping types) or says which column is wrong.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa

Kind = Literal["triples", "graph-embeddings", "document-embeddings", "entity-contexts", "rows"]
KINDS: tuple[Kind, ...] = (
    "triples",
    "graph-embeddings",
    "document-embeddings",
    "entity-contexts",
    "rows",
)
# Kinds whose gateway has an export socket (there is no /export/rows).
EXPORTABLE_KINDS: tuple[Kind, ...] = KINDS[:4]
# Columns that hold few distinct values in any real data (term kinds, predicates, datatypes,
# languages, graphs): worth reading as dictionaries where a file stores them so.
FEW_DISTINCT: dict[str, tuple[str, ...]] = {
    "triples": ("s_type", "p", "p_type", "o_type", "o_datatype", "o_language", "g"),
    "graph-embeddings": ("entity_type",),
    "entity-contexts": ("entity_type",),
}


def normalise_kind(kind: str) -> Kind:
    """The gateway's name for a data kind; underscores are accepted for hyphens."""
    name = str(kind).strip().lower().replace("_", "-")
    for known in KINDS:
        if name == known:
            return known
    raise ValueError(f"unknown data kind {kind!r}; expected one of {', '.join(KINDS)}")


def _term_fields(position: str, literal: bool) -> list[pa.Field]:
    fields = [
        pa.field(position, pa.string()),
        pa.field(f"{position}_type", pa.string()),
    ]
    if literal:
        fields += [
            pa.field(f"{position}_datatype", pa.string()),
            pa.field(f"{position}_language", pa.string()),
        ]
    return fields


TRIPLES = pa.schema(
    _term_fields("s", False) + _term_fields("p", False) + _term_fields("o", True) + [pa.field("g", pa.string())]
)

ENTITY_CONTEXTS = pa.schema(_term_fields("entity", False) + [pa.field("context", pa.string())])


def vector_type(dim: int) -> pa.DataType:
    """The vector column type: ``FixedSizeList<float32, dim>``."""
    return pa.list_(pa.float32(), dim)


def graph_embeddings_schema(dim: int) -> pa.Schema:
    return pa.schema(_term_fields("entity", False) + [pa.field("vector", vector_type(dim))])


def document_embeddings_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("chunk_id", pa.string()),
            pa.field("vector", vector_type(dim)),
        ]
    )


# Rows: ``schema_name`` plus one string column per field of that row schema.
ROWS_SCHEMA_NAME = "schema_name"

# -- records a reader could not read -------------------------------------------------------
# A reader that meets a record it cannot read (a malformed JSON line, a text value that is not
# valid Unicode) keeps the record's place in the stream instead of failing the whole input:
# the record is a row of nulls (or of what could be read), and the batch carries one more
# column, INPUT_ERROR, saying where and why (null on every good row). The conformer then
# treats such a row like any bad row: ``on_error="raise"`` stops there, ``"skip"`` rejects it
# into the report; either way the column is never part of the job's schema. Batches without
# such rows do not have the column.
INPUT_ERROR = "_tg_input_error"
INPUT_ERROR_TYPE = pa.struct(
    [
        pa.field("source", pa.string()),  # the file, when it is not the job's whole input
        pa.field("column", pa.string()),  # the column at fault, when known
        pa.field("reason", pa.string()),  # what is wrong and where (a line number, for text files)
        pa.field("text", pa.string()),  # the record's raw text (a line), when there is one
    ]
)
# A line-oriented reader stamps this key in its batches' schema metadata: the job's rejected
# rows then carry one more column, RAW_LINE, with the raw text of each line that could not be
# read (null for rows that were read). Decided by the first batch, so it holds for the whole
# job and every part of ``LoadReport.rejected_rows`` has the same columns.
LINE_TEXT_METADATA = b"tg_connect.line_text"
RAW_LINE = "_tg_raw_line"
RESERVED_COLUMNS: tuple[str, ...] = (INPUT_ERROR, RAW_LINE)
# A reader that adds a kind's column the input does not have (JSON Lines gives every column of
# the kind a type, so that a key first seen late does not change the schema part way) names
# such columns, comma-separated, in this key of its batches' schema metadata. They are
# placeholders, not the input's: a ``columns=`` mapping onto one replaces it.
ADDED_COLUMNS_METADATA = b"tg_connect.added_columns"

# Required columns are described in docs/schemas.md; fields stay nullable so that batches
# built by Arrow kernels compare equal to these schemas.

# Columns a term position may carry, and which of them a user must supply.
TERM_POSITIONS: dict[Kind, tuple[str, ...]] = {
    "triples": ("s", "p", "o"),
    "graph-embeddings": ("entity",),
    "entity-contexts": ("entity",),
    "document-embeddings": (),
    "rows": (),
}
