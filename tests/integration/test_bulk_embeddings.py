"""Graph embeddings (and the other vector and context kinds) through the bulk sockets."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import tg_connect

from ..conftest import Gateway


def embeddings_frame(run_id: str, n: int, dim: int = 16) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    return pd.DataFrame(
        {
            "entity": [f"http://example.org/{run_id}/entity/{i}" for i in range(n)],
            "vector": list(vectors),
        }
    )


def as_rows(df: pd.DataFrame) -> set[tuple[str, tuple[float, ...]]]:
    return {
        (e, tuple(np.asarray(v, dtype=np.float32).tolist())) for e, v in zip(df["entity"], df["vector"], strict=True)
    }


def test_graph_embeddings_round_trip_through_the_knowledge_core(gateway: Gateway, run_id: str) -> None:
    df = embeddings_frame(run_id, 300)
    doc = f"ge-{run_id}"
    report = tg_connect.to_trustgraph(
        df,
        "graph_embeddings",
        url=gateway.url,
        token=gateway.token,
        collection=f"c{run_id}",
        document_id=doc,
        progress=False,
        batch_size=100,
        max_rows_per_second=None,
    )  # unpaced: messages as encoded
    assert report.ok and report.rows_sent == 300 and report.batches == 3
    got = gateway.eventually(
        lambda: tg_connect.read_trustgraph(
            "graph-embeddings", url=gateway.url, token=gateway.token, source="core", core_id=doc
        ),
        lambda d: len(d) >= 300,
        timeout=max(gateway.settle_seconds, 5),
    )
    assert list(got.columns) == ["entity", "entity_type", "vector"]
    assert set(got["entity_type"]) == {"iri"}
    assert as_rows(got) == as_rows(df)
    reader = tg_connect.read_batches("graph-embeddings", gateway.url, token=gateway.token, source="core", core_id=doc)
    assert reader.schema.field("vector").type == pa.list_(pa.float32(), 16)


def test_graph_embeddings_tap(gateway: Gateway, run_id: str) -> None:
    df = embeddings_frame(run_id, 50, dim=4)
    received: list[pa.RecordBatch] = []

    def tap() -> None:
        received.extend(
            tg_connect.read_batches(
                "graph-embeddings", gateway.url, token=gateway.token, source="tail", max_rows=50, idle_timeout=30
            )
        )

    thread = threading.Thread(target=tap)
    thread.start()
    time.sleep(1.5)  # the tap binds its queue after the handshake
    tg_connect.to_trustgraph(
        df, "graph-embeddings", url=gateway.url, token=gateway.token, collection=f"c{run_id}", progress=False
    )
    thread.join(60)
    got = pa.Table.from_batches(received).to_pandas()
    got = got[got["entity"].str.contains(run_id)]
    assert as_rows(got) == as_rows(df)


def test_document_embeddings_and_entity_contexts_taps(gateway: Gateway, run_id: str) -> None:
    de = pd.DataFrame(
        {
            "chunk_id": [f"urn:{run_id}:chunk:{i}" for i in range(20)],
            "vector": [np.full(8, i, dtype=np.float32) for i in range(20)],
        }
    )
    ec = pd.DataFrame(
        {
            "entity": [f"http://example.org/{run_id}/e{i}" for i in range(20)],
            "context": [f'context «{i}» "q"\n' for i in range(20)],
        }
    )
    for kind, df, key in (("document-embeddings", de, "chunk_id"), ("entity-contexts", ec, "entity")):
        received: list[pa.RecordBatch] = []
        thread = threading.Thread(
            target=lambda k=kind, received=received: received.extend(
                tg_connect.read_batches(
                    k, gateway.url, token=gateway.token, source="tail", max_rows=20, idle_timeout=30
                )
            )
        )
        thread.start()
        time.sleep(1.5)
        tg_connect.to_trustgraph(
            df, kind, url=gateway.url, token=gateway.token, collection=f"c{run_id}", progress=False
        )
        thread.join(60)
        got = pa.Table.from_batches(received).to_pandas()
        got = got[got[key].str.contains(run_id)].sort_values(key).reset_index(drop=True)
        want = df.sort_values(key).reset_index(drop=True)
        if kind == "document-embeddings":
            assert list(got["chunk_id"]) == list(want["chunk_id"])
            assert [list(v) for v in got["vector"]] == [list(v) for v in want["vector"]]
        else:
            assert list(got["context"]) == list(want["context"]) and list(got["entity"]) == list(want["entity"])


def test_bad_vectors_are_rejected_and_the_rest_loads(local_gateway: tg_connect.LocalGateway, run_id: str) -> None:
    df = embeddings_frame(run_id, 10, dim=4)
    df.at[3, "vector"] = np.array([np.nan, 1, 2, 3], dtype=np.float32)
    df.at[6, "vector"] = np.array([1.0, 2.0], dtype=np.float32)
    with pytest.raises(tg_connect.InputError) as err:
        tg_connect.to_trustgraph(df, "graph-embeddings", url=local_gateway.url, progress=False)
    assert err.value.row == 3 and err.value.column == "vector"
    report = tg_connect.to_trustgraph(
        df, "graph-embeddings", url=local_gateway.url, progress=False, on_error="skip", document_id=f"skip-{run_id}"
    )
    assert report.rows_sent == 8 and [r.row for r in report.rejections] == [3, 6]
    got = tg_connect.read_trustgraph("graph-embeddings", url=local_gateway.url, source="core", core_id=f"skip-{run_id}")
    assert len(got) == 8


def test_rows_import(gateway: Gateway, run_id: str) -> None:
    df = pd.DataFrame(
        {"schema_name": ["person", "person", "company"], "name": ["Ann", "Bo", "Acme"], "age": [31, None, None]}
    )
    report = tg_connect.to_trustgraph(
        df, "rows", url=gateway.url, token=gateway.token, collection=f"c{run_id}", progress=False, compression="deflate"
    )
    assert report.ok and report.rows_sent == 3 and report.batches == 2
    with pytest.raises(ValueError, match="no export socket"):
        tg_connect.read_trustgraph("rows", url=gateway.url, token=gateway.token, source="tail", max_rows=1)
