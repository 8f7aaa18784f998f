"""The store consumers' metrics, with the real 2.11.1 names and labels, counted once stored."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest

import tg_connect
from tg_connect.local import LocalGateway
from tg_connect.local.front import gateway_metrics as m
from tg_connect.local.storage.triple_store import TripleStore

from .helpers import TOKEN, Http, import_frames

EX = "http://example.org/"
TRIPLES_TOPIC = "flow:tg:default:triples-store:default"
GE_TOPIC = "flow:tg:default:graph-embeddings-store:default"
DE_TOPIC = "flow:tg:default:document-embeddings-store:default"


def query(http: Http, selector: str) -> list[dict[str, Any]]:
    status, _headers, body = http.get("/api/metrics/query?query=" + quote(selector))
    assert status == 200, body
    reply = json.loads(body)
    assert reply["status"] == "success" and reply["data"]["resultType"] == "vector"
    return reply["data"]["result"]  # type: ignore[no-any-return]


def total(http: Http, selector: str) -> float:
    """What a client does: the sum of the series a selector matches."""
    return sum(float(r["value"][1]) for r in query(http, selector))


def by_processor(http: Http, topic: str) -> dict[str, float]:
    rows = query(http, f'tg_consumer_processing_total{{consumer="{topic}",status="ok"}}')
    return {r["metric"]["processor"]: float(r["value"][1]) for r in rows}


# -- unit: the counters and the selectors a client sends -------------------------------------------


def test_queries_a_client_sends() -> None:
    """Selectors with every matcher, and the aggregations a Prometheus client asks for."""
    metrics = m.Metrics()
    metrics.instance = "127.0.0.1:9"
    metrics.add_consumers("triples-store", TRIPLES_TOPIC)
    for _ in range(3):
        metrics.consumed("triples-write", TRIPLES_TOPIC, seconds=0.5)
    metrics.consumed("kg-store", TRIPLES_TOPIC)

    def values(query: str) -> dict[tuple[tuple[str, str], ...], float]:
        return {
            tuple(sorted((k, v) for k, v in labels.items() if k not in ("instance",))): value
            for labels, value in m.evaluate(metrics, query)
        }

    ok = values(f'tg_consumer_processing_total{{consumer="{TRIPLES_TOPIC}", status="ok"}}')
    assert sorted(ok.values()) == [1.0, 3.0]
    assert values('tg_consumer_processing_total{ processor = "kg-store" , status!="error", }') == {
        (
            ("__name__", "tg_consumer_processing_total"),
            ("consumer", TRIPLES_TOPIC),
            ("job", "backend-group"),
            ("processor", "kg-store"),
            ("status", "ok"),
        ): 1.0
    }
    assert len(values('{__name__=~"tg_consumer_.*", processor!~"kg.*"}')) == 4  # 2 statuses, _sum, _count
    assert values('sum(tg_consumer_processing_total{status="ok"})') == {(): 4.0}
    assert values("sum by (processor) (tg_consumer_processing_total)") == {
        (("processor", "kg-store"),): 1.0,
        (("processor", "triples-write"),): 3.0,
    }
    assert values("count by (job) (up)") == {(("job", "api-gateway"),): 1.0, (("job", "backend-group"),): 1.0}
    without = values("max without (status) (tg_consumer_processing_total)")
    assert sorted(without.values()) == [1.0, 3.0] and all(("status", "ok") not in k for k in without)
    assert values("avg(tg_consumer_request_duration_seconds_sum)") == {(): 0.75}  # (1.5 + 0) / 2
    for unsupported in ("rate(up[5m])", "up offset 5m", "up or up", "topk(1, up)", 'up{a="x"}[5m]'):
        with pytest.raises(m.BadQuery, match="unsupported expression"):
            m.evaluate(metrics, unsupported)
    for bad in ("", "sum(", '{x=""}'):
        with pytest.raises(m.BadQuery, match="parse error"):
            m.evaluate(metrics, bad)


def test_metrics_series_and_labels() -> None:
    metrics = m.Metrics()
    metrics.instance = "127.0.0.1:9"
    metrics.add_consumers("triples-store", TRIPLES_TOPIC)
    metrics.add_consumers("rows-store", "flow:tg:default:rows-store:default")  # no consumer there
    names = {labels["__name__"] for labels, _v in metrics.samples()}
    assert names == {"up", "tg_consumer_processing_total"}  # histograms appear at the first write
    zero = [(ls, v) for ls, v in metrics.samples() if ls["__name__"] == "tg_consumer_processing_total"]
    assert sorted((ls["processor"], ls["status"]) for ls, _v in zero) == [
        ("kg-store", "error"),
        ("kg-store", "ok"),
        ("triples-write", "error"),
        ("triples-write", "ok"),
    ]
    assert all(v == 0 for _ls, v in zero)
    assert zero[0][0] == {
        "__name__": "tg_consumer_processing_total",
        "instance": "127.0.0.1:9",
        "job": "backend-group",
        "consumer": TRIPLES_TOPIC,
        "processor": zero[0][0]["processor"],
        "status": zero[0][0]["status"],
    }

    metrics.triples_written(3, 0.07)
    metrics.triples_written(600, 0.2)
    metrics.consumed("triples-write", TRIPLES_TOPIC)
    metrics.consumed("triples-write", TRIPLES_TOPIC)
    metrics.consumed("triples-write", TRIPLES_TOPIC, ok=False)
    metrics.triples_write_failed()
    assert metrics.value("tg_consumer_processing_total", processor="triples-write", status="ok") == 2
    assert metrics.value("tg_consumer_processing_total", processor="triples-write", status="error") == 1
    assert metrics.value("tg_triples_store_write_batch_size_sum", processor="triples-write") == 603
    assert metrics.value("tg_triples_store_write_batch_size_count", processor="triples-write") == 2
    assert math.isclose(metrics.value("tg_triples_store_write_duration_seconds_sum"), 0.27)
    assert metrics.value("tg_triples_store_write_duration_seconds_count") == 2
    assert metrics.value("tg_triples_store_write_error_total", processor="triples-write") == 1
    buckets = {
        ls["le"]: v for ls, v in metrics.samples() if ls["__name__"] == "tg_triples_store_write_batch_size_bucket"
    }
    # prometheus_client's bucket labels and cumulative counts: 3 <= 5, 600 only in +Inf.
    assert buckets == {
        "1.0": 0,
        "5.0": 1,
        "10.0": 1,
        "20.0": 1,
        "50.0": 1,
        "100.0": 1,
        "200.0": 1,
        "500.0": 1,
        "+Inf": 2,
    }
    durations = {
        ls["le"]: v for ls, v in metrics.samples() if ls["__name__"] == "tg_triples_store_write_duration_seconds_bucket"
    }
    assert durations["0.05"] == 0 and durations["0.1"] == 1 and durations["0.25"] == 2 and durations["+Inf"] == 2
    status, body = m.answer(metrics, "query", {"query": "tg_triples_store_write_batch_size_sum"})
    assert status == 200 and body is not None
    [series] = body["data"]["result"]
    assert series["metric"] == {
        "__name__": "tg_triples_store_write_batch_size_sum",
        "instance": "127.0.0.1:9",
        "job": "backend-group",
        "processor": "triples-write",
    }
    assert series["value"][1] == "603"


# -- over HTTP, against a running local gateway ----------------------------------------------------


@pytest.fixture()
def gw() -> Iterator[LocalGateway]:
    """A fresh gateway per test: the counters are process totals, as in the real back end."""
    with LocalGateway(token=TOKEN, workspaces=["other"]) as gateway:
        yield gateway


def test_consumer_series_exist_at_zero_before_any_write(gw: LocalGateway) -> None:
    http = Http(gw.url, TOKEN)
    assert by_processor(http, TRIPLES_TOPIC) == {"triples-write": 0, "kg-store": 0}
    assert by_processor(http, GE_TOPIC) == {"ge-write": 0, "kg-store": 0}
    assert by_processor(http, DE_TOPIC) == {"de-write": 0}
    assert by_processor(http, "flow:tg:other:triples-store:default") == {"triples-write": 0, "kg-store": 0}
    assert query(http, "tg_triples_store_write_batch_size_sum") == []  # no write yet, no series
    # A new flow's store topics get their consumers.
    assert (
        http.post(
            "/api/v1/flow",
            {"operation": "start-flow", "flow-id": "f2", "blueprint-name": "local", "description": "second"},
        )[0]
        == 200
    )
    assert by_processor(http, "flow:tg:default:triples-store:f2") == {"triples-write": 0, "kg-store": 0}
    row = query(
        http,
        'tg_consumer_processing_total{consumer="flow:tg:default:triples-store:f2",processor="kg-store",status="error"}',
    )
    assert [r["metric"]["job"] for r in row] == ["backend-group"]


def test_to_trustgraph_load_is_counted_as_stored(gw: LocalGateway) -> None:
    http = Http(gw.url, TOKEN)
    pred = f"{EX}p/{uuid.uuid4().hex[:8]}"
    rows = 25_000
    df = pd.DataFrame(
        {"s": [f"{EX}s/{i}" for i in range(rows)], "p": [pred] * rows, "o": [f"value {i}" for i in range(rows)]}
    )
    report = tg_connect.to_trustgraph(
        df,
        url=gw.url,
        token=TOKEN,
        collection="metrics",
        batch_size=1000,
        document_id="metrics-doc",
        progress=False,
        max_rows_per_second=None,
    )  # unpaced: messages as encoded
    assert report.rows_sent == rows and report.batches == rows // 1000
    # The import socket's close handshake completed: everything is stored and counted.
    assert total(http, "tg_triples_store_write_batch_size_sum") == rows
    assert total(http, 'tg_triples_store_write_batch_size_sum{processor="triples-write"}') == rows
    assert total(http, "tg_triples_store_write_batch_size_count") == report.batches
    assert total(http, "tg_triples_store_write_duration_seconds_count") == report.batches
    assert total(http, "tg_triples_store_write_duration_seconds_sum") > 0
    assert by_processor(http, TRIPLES_TOPIC) == {"triples-write": report.batches, "kg-store": report.batches}
    assert total(http, f'tg_consumer_processing_total{{consumer="{TRIPLES_TOPIC}",status="error"}}') == 0
    assert query(http, "tg_triples_store_write_error_total") == []
    # What the counters say is what the store holds.
    status, reply = http.post(
        "/api/v1/flow/default/service/triples", {"collection": "metrics", "p": {"t": "i", "i": pred}, "limit": 100_000}
    )
    assert status == 200 and len(reply["response"]) == rows


def test_every_store_topic_counts_messages(gw: LocalGateway) -> None:
    http = Http(gw.url, TOKEN)
    meta = {"id": "d1", "collection": "c"}
    triples = [{"s": {"t": "i", "i": f"{EX}a"}, "p": {"t": "i", "i": f"{EX}b"}, "o": {"t": "l", "v": "x"}}]
    import_frames(
        gw.url, "triples", [{"metadata": meta, "triples": triples * 3}, {"metadata": meta, "triples": []}], TOKEN
    )
    import_frames(
        gw.url,
        "graph-embeddings",
        [{"metadata": meta, "entities": [{"entity": {"t": "i", "i": f"{EX}a"}, "vector": [0.5, 0.5]}]}] * 2,
        TOKEN,
    )
    import_frames(
        gw.url, "document-embeddings", [{"metadata": meta, "chunks": [{"chunk_id": "c1", "vector": [0.1]}]}], TOKEN
    )
    import_frames(
        gw.url,
        "entity-contexts",
        [{"metadata": meta, "entities": [{"entity": {"t": "i", "i": f"{EX}a"}, "context": "ctx"}]}],
        TOKEN,
    )
    import_frames(gw.url, "triples", [{"metadata": meta, "triples": triples}], TOKEN, workspace="other")
    # An empty triples message is one message for both processors and a write of 0 triples.
    assert by_processor(http, TRIPLES_TOPIC) == {"triples-write": 2, "kg-store": 2}
    assert total(http, "tg_triples_store_write_batch_size_sum") == 4
    assert total(http, "tg_triples_store_write_batch_size_count") == 3
    assert by_processor(http, GE_TOPIC) == {"ge-write": 2, "kg-store": 2}
    assert by_processor(http, DE_TOPIC) == {"de-write": 1}
    assert by_processor(http, "flow:tg:other:triples-store:default") == {"triples-write": 1, "kg-store": 1}
    # entity-contexts-load has no consumer in the reference deployment: no series.
    assert query(http, 'tg_consumer_processing_total{consumer=~".*entity-contexts.*"}') == []
    # A malformed message is refused before the broker: not counted.
    import_frames(gw.url, "triples", [{"metadata": {"id": "x"}, "triples": triples}], TOKEN)
    assert by_processor(http, TRIPLES_TOPIC) == {"triples-write": 2, "kg-store": 2}
    # load-kg-core republishes a core on the store topics: counted like any message.
    assert (
        http.post(
            "/api/v1/knowledge", {"operation": "load-kg-core", "id": "d1", "flow": "default", "collection": "copy"}
        )[0]
        == 200
    )
    assert by_processor(http, TRIPLES_TOPIC)["triples-write"] == 2 + 1  # one non-empty core item
    assert by_processor(http, GE_TOPIC)["ge-write"] == 2 + 2


def test_a_failed_store_write_counts_as_an_error(gw: LocalGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    http = Http(gw.url, TOKEN)
    real_commit = TripleStore.commit
    calls = []

    def failing_once(self: TripleStore, quads: Any) -> None:
        calls.append(len(quads))
        if len(calls) == 1:
            raise OSError("disk full")
        real_commit(self, quads)

    monkeypatch.setattr(TripleStore, "commit", failing_once)
    meta = {"id": "f1", "collection": "c"}
    triples = [{"s": {"t": "i", "i": f"{EX}a"}, "p": {"t": "i", "i": f"{EX}b"}, "o": {"t": "l", "v": "x"}}]
    import_frames(gw.url, "triples", [{"metadata": meta, "triples": triples}], TOKEN)
    import_frames(gw.url, "triples", [{"metadata": meta, "triples": triples * 2}], TOKEN)
    assert calls == [1, 2]
    assert total(http, 'tg_triples_store_write_error_total{processor="triples-write"}') == 1
    assert (
        total(
            http, f'tg_consumer_processing_total{{consumer="{TRIPLES_TOPIC}",processor="triples-write",status="error"}}'
        )
        == 1
    )
    assert by_processor(http, TRIPLES_TOPIC) == {"triples-write": 1, "kg-store": 2}
    assert total(http, "tg_triples_store_write_batch_size_sum") == 2  # only the write that happened
