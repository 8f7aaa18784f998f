"""Shared data and helpers for the reader and writer tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from tg_connect.protocol import schemas
from tg_connect.protocol.terms import quoted_triple_text
from tg_connect.readers import Source, open_source
from tg_connect.sample import sample_triples

EX = "http://example.org/"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"


def quoted(s: dict[str, Any], p: str, o: dict[str, Any]) -> str:
    return quoted_triple_text({"s": s, "p": {"t": "i", "i": p}, "o": o})


def quoted_rows() -> list[dict[str, Any]]:
    """Triples whose object is a quoted triple (one nested two deep), in and out of a graph."""
    inner = quoted({"t": "i", "i": EX + "alice"}, EX + "says", {"t": "l", "v": 'hi "there"', "ln": "en"})
    nested = quoted(
        {"t": "b", "d": "b7"},
        EX + "believes",
        {
            "t": "t",
            "tr": {
                "s": {"t": "i", "i": EX + "bob"},
                "p": {"t": "i", "i": EX + "age"},
                "o": {"t": "l", "v": "42", "dt": XSD_INTEGER},
            },
        },
    )
    base = {"s_type": "iri", "p_type": "iri", "o_type": "triple", "o_datatype": None, "o_language": None}
    return [
        {**base, "s": EX + "claim/1", "p": EX + "about", "o": inner, "g": None},
        {**base, "s": EX + "claim/2", "p": EX + "about", "o": nested, "g": EX + "graph/claims"},
    ]


def triples_table(n: int = 200) -> pa.Table:
    """The sample (IRIs, blank nodes, typed and language literals, unicode, quotes, a named
    graph) plus quoted triples, in the canonical schema."""
    extra = pa.Table.from_pylist(quoted_rows(), schema=schemas.TRIPLES)
    return pa.concat_tables([sample_triples(n), extra])


def graph_embeddings(n: int = 50, dim: int = 8) -> pa.Table:
    values = [((i * 31 + j * 7) % 97) / 97.0 - 0.5 + 1e-7 * j for i in range(n) for j in range(dim)]
    vector = pa.FixedSizeListArray.from_arrays(pa.array(values, pa.float32()), dim)
    entity = pa.array([f"{EX}entity/{i}" if i % 3 else f'label «{i}», "q"' for i in range(n)])
    kinds = pa.array(["iri" if i % 3 else "literal" for i in range(n)])
    return pa.Table.from_arrays([entity, kinds, vector], schema=schemas.graph_embeddings_schema(dim))


def document_embeddings(n: int = 40, dim: int = 5) -> pa.Table:
    values = [float(i) / 3.0 - float(j) * 1.25e-3 for i in range(n) for j in range(dim)]
    vector = pa.FixedSizeListArray.from_arrays(pa.array(values, pa.float32()), dim)
    ids = pa.array([f"doc/{i // 4}/chunk/{i % 4}" for i in range(n)])
    return pa.Table.from_arrays([ids, vector], schema=schemas.document_embeddings_schema(dim))


def read_all(source: Source) -> pa.Table:
    batches = list(source.open())
    return pa.Table.from_batches(batches)


def read_path(path: Path | str, batch_size: int = 64, **kw: Any) -> pa.Table:
    return read_all(open_source(path, batch_size, **kw))


def row_set(table: pa.Table) -> set[tuple[Any, ...]]:
    return {tuple(r.values()) for r in table.to_pylist()}


def collect_until_error(source: Source) -> tuple[list[pa.RecordBatch], BaseException | None]:
    """The batches a source yields before it raises, and the error (None if it did not)."""
    got: list[pa.RecordBatch] = []
    try:
        for batch in source.open():
            got.append(batch)
    except Exception as exc:  # noqa: BLE001 - the tests look at what was raised
        return got, exc
    return got, None


def rows_of(batches: list[pa.RecordBatch]) -> list[dict[str, Any]]:
    return [row for b in batches for row in b.to_pylist()]
