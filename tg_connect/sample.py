"""A deterministic sample knowledge graph, for the demo, tests and benchmarks.

``sample_triples(n)`` makes ``n`` triples about people, companies and cities that exercise
every term feature a triples table can carry: IRIs, plain, typed and language-tagged
literals, blank nodes, and a named graph. The bundled ``data/sample_triples.parquet`` is
``sample_triples(5000)``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .protocol import schemas

EX = "http://example.org/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
PROVENANCE_GRAPH = EX + "graph/provenance"

# (predicate, object kind, datatype, language) per slot of each entity's group of 8 triples.
_SLOTS = [
    (RDF_TYPE, "iri", None, None),
    (RDFS_LABEL, "literal", None, "en"),
    (RDFS_LABEL, "literal", None, None),
    (EX + "age", "literal", XSD_INTEGER, None),
    (EX + "worksFor", "iri", None, None),
    (EX + "livesIn", "iri", None, None),
    (EX + "address", "blank", None, None),
    (EX + "source", "literal", None, None),  # in the named provenance graph
]


def sample_triples(n: int, seed: int = 7) -> pa.Table:
    """``n`` deterministic triples in the canonical triples schema."""
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    entity = i // len(_SLOTS)
    slot = i % len(_SLOTS)
    ent = pa.array(entity.astype(str))
    s = pc.binary_join_element_wise(EX + "person/", ent, "")
    p = pa.array([_SLOTS[k][0] for k in range(len(_SLOTS))]).take(pa.array(slot))
    o_type = pa.array([_SLOTS[k][1] for k in range(len(_SLOTS))]).take(pa.array(slot))
    o_datatype = pa.array([_SLOTS[k][2] for k in range(len(_SLOTS))], pa.string()).take(pa.array(slot))
    o_language = pa.array([_SLOTS[k][3] for k in range(len(_SLOTS))], pa.string()).take(pa.array(slot))
    company = pa.array((rng.integers(0, max(1, n // 200 + 1), n)).astype(str))
    city = pa.array((rng.integers(0, 50, n)).astype(str))
    ages = pa.array((rng.integers(18, 90, n)).astype(str))
    values = {
        0: pa.array([EX + "Person"] * n),
        1: pc.binary_join_element_wise("Person ", ent, ""),
        2: pc.binary_join_element_wise("Persona n.º ", ent, ' — «naïve» "quoted" \\ 😀', ""),
        3: ages,
        4: pc.binary_join_element_wise(EX + "company/", company, ""),
        5: pc.binary_join_element_wise(EX + "city/", city, ""),
        6: pc.binary_join_element_wise("addr", ent, ""),
        7: pa.array(["sample generator"] * n),
    }
    conditions = pc.make_struct(
        *[pc.equal(pa.array(slot), k) for k in range(len(_SLOTS))], field_names=[str(k) for k in range(len(_SLOTS))]
    )
    o = pc.case_when(conditions, *[values[k] for k in range(len(_SLOTS))])
    g = pc.if_else(pc.equal(pa.array(slot), 7), PROVENANCE_GRAPH, pa.nulls(n, pa.string()))
    n_iri = pa.array(["iri"] * n)
    return pa.table([s, n_iri, p, n_iri, o, o_type, o_datatype, o_language, g], schema=schemas.TRIPLES)


def sample_path() -> Path:
    """The bundled sample Parquet file (5,000 triples)."""
    return Path(str(resources.files("tg_connect") / "data" / "sample_triples.parquet"))
