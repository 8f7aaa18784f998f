"""Loading from every input format, through the bulk layer, and reading back equal."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import tg_connect
from tg_connect.sample import sample_triples
from tg_connect.writers import write

KEYS = [(k, "ascending") for k in ("s", "s_type", "p", "p_type", "o", "o_type", "o_datatype", "o_language", "g")]


@pytest.mark.parametrize("name", ["g.parquet", "g.csv", "g.tsv", "g.jsonl.gz", "g.nq", "g.trig", "parts"])
def test_load_each_format(local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str, name: str) -> None:
    table = sample_triples(2000)
    dest = tmp_path / name
    options = {"max_rows_per_file": 700, "format": "parquet"} if name == "parts" else {}
    write(table, dest, **options)  # type: ignore[arg-type]
    source = str(dest / "*.parquet") if name == "parts" else dest  # a glob over rolled files
    report = tg_connect.to_trustgraph(source, url=local_gateway.url, collection=f"{run_id}{name}", progress=False)
    assert report.ok and report.rows_sent == 2000
    back = tg_connect.read_batches("triples", local_gateway.url, collection=f"{run_id}{name}").read_all()
    assert back.sort_by(KEYS).equals(table.sort_by(KEYS))


def test_rdf_is_only_triples(local_gateway: tg_connect.LocalGateway, tmp_path: Path) -> None:
    path = tmp_path / "g.nt"
    write(sample_triples(8).filter(pa.compute.is_null(sample_triples(8).column("g"))), path)
    with pytest.raises((tg_connect.InputError, ValueError), match="triples"):
        tg_connect.to_trustgraph(path, "graph-embeddings", url=local_gateway.url, progress=False)


def test_records_and_dataclasses(local_gateway: tg_connect.LocalGateway, run_id: str) -> None:
    from tg_connect import Term, Triple

    triples = [
        Triple(Term.iri(f"http://a/{i}"), Term.iri("http://p"), Term.literal(f"v{i}", language="en")) for i in range(10)
    ]
    report = tg_connect.to_trustgraph(iter(triples), url=local_gateway.url, collection=f"dc{run_id}", progress=False)
    assert report.rows_sent == 10
    back = tg_connect.read_trustgraph(url=local_gateway.url, collection=f"dc{run_id}")
    assert sorted(back["o"]) == sorted(f"v{i}" for i in range(10)) and set(back["o_language"]) == {"en"}
