"""CSV / TSV output with :class:`pyarrow.csv.CSVWriter`, batch by batch.

Every non-null value is quoted and a null is an empty unquoted field, so nulls and empty
strings stay apart (tg_connect's CSV reader reads them back as written). List columns
(vectors) are written as JSON array text, ``[0.1,0.2]`` (non-finite items as ``NaN`` /
``Infinity``), which the CSV reader parses back into ``list<float32>``. Struct and map
columns have no CSV form and are an error.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pcsv

from ..errors import InputError
from .base import Destination, WriteResult, as_reader, dest_name, is_file_object, open_output
from .text import json_arrays


def _is_list(t: pa.DataType) -> bool:
    return bool(pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t))


def _csv_schema(schema: pa.Schema, name: str) -> pa.Schema:
    fields = []
    for f in schema:
        if _is_list(f.type):
            fields.append(pa.field(f.name, pa.string()))
        elif pa.types.is_struct(f.type) or pa.types.is_map(f.type) or pa.types.is_union(f.type):
            raise InputError(f"a {f.type} column cannot be written as CSV", source=name, column=f.name)
        elif pa.types.is_dictionary(f.type):
            fields.append(pa.field(f.name, f.type.value_type))
        else:
            fields.append(f.remove_metadata())
    return pa.schema(fields)


def _csv_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    columns = []
    for f, col in zip(batch.schema, batch.columns, strict=True):
        if _is_list(f.type):
            col = json_arrays(col, f.name, non_finite="tokens")
        elif pa.types.is_dictionary(f.type):
            col = col.dictionary_decode()
        columns.append(col)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def write_csv(
    reader: pa.RecordBatchReader, dest: Destination, *, delimiter: str = ",", compression: str | None = None
) -> WriteResult:
    """Stream ``reader`` into a CSV file (``delimiter="\\t"`` for TSV); memory stays one batch."""
    reader = as_reader(reader)
    name = dest_name(dest)
    schema = _csv_schema(reader.schema, name)
    options = pcsv.WriteOptions(include_header=True, delimiter=delimiter, quoting_style="all_valid")
    rows = 0
    with open_output(dest, compression) as out:
        with pcsv.CSVWriter(out, schema, write_options=options) as writer:
            for batch in reader:
                writer.write_batch(_csv_batch(batch, schema))
                rows += batch.num_rows
    return WriteResult(rows, [] if is_file_object(dest) else [name])
