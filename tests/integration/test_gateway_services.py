"""Gateway services the foundation relies on (flows, config, collections, the socket mux,
metrics), through tg_connect's transport clients, against every gateway under test."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from tg_connect.errors import AuthenticationError, ServiceError
from tg_connect.transport import bridge
from tg_connect.transport.mux_client import AsyncMuxClient
from tg_connect.transport.rest import AsyncRestClient

from ..conftest import Gateway


def rest(gateway: Gateway, coro_fn: Any) -> Any:
    async def main() -> Any:
        client = AsyncRestClient(gateway.url, gateway.token)
        try:
            return await coro_fn(client)
        finally:
            await client.aclose()

    return bridge.run(main())


def mux(gateway: Gateway, coro_fn: Any, token: str | None = "same") -> Any:
    async def main() -> Any:
        client = AsyncMuxClient(gateway.url, gateway.token if token == "same" else token, workspace="default")
        try:
            return await coro_fn(client)
        finally:
            await client.aclose()

    return bridge.run(main())


def test_flows(gateway: Gateway) -> None:
    flows = rest(gateway, lambda c: c.global_service("flow", {"operation": "list-flows"}))
    assert "default" in flows["flow-ids"]
    flow = rest(gateway, lambda c: c.global_service("flow", {"operation": "get-flow", "flow-id": "default"}))
    definition = json.loads(flow["flow"])
    assert {"triples-store", "graph-embeddings-store", "triples"} <= set(definition["interfaces"])
    blueprints = rest(gateway, lambda c: c.global_service("flow", {"operation": "list-blueprints"}))
    assert blueprints["blueprint-names"]


def test_config_put_get_list_delete(gateway: Gateway, run_id: str) -> None:
    t = f"tgc{run_id}"
    put = {"operation": "put", "workspace": "default", "values": [{"type": t, "key": "k", "value": "v1"}]}
    rest(gateway, lambda c: c.global_service("config", put))
    got = rest(
        gateway,
        lambda c: c.global_service(
            "config", {"operation": "get", "workspace": "default", "keys": [{"type": t, "key": "k"}]}
        ),
    )
    assert [v["value"] for v in got["values"]] == ["v1"]
    listed = rest(
        gateway, lambda c: c.global_service("config", {"operation": "list", "workspace": "default", "type": t})
    )
    assert listed["directory"] == ["k"]
    rest(
        gateway,
        lambda c: c.global_service(
            "config", {"operation": "delete", "workspace": "default", "keys": [{"type": t, "key": "k"}]}
        ),
    )
    listed = rest(
        gateway, lambda c: c.global_service("config", {"operation": "list", "workspace": "default", "type": t})
    )
    assert listed["directory"] == []


def test_rest_errors(gateway: Gateway) -> None:
    with pytest.raises(ServiceError, match="unknown operation"):
        rest(gateway, lambda c: c.global_service("flow", {"operation": "no-such-op"}))
    with pytest.raises(ServiceError, match="Invalid flow default/nope"):
        rest(gateway, lambda c: c.flow_service("nope", "triples", {"limit": 1}))


def test_collections(gateway: Gateway, run_id: str) -> None:
    name = f"col{run_id}"
    rest(
        gateway,
        lambda c: c.global_service(
            "collection-management",
            {"operation": "update-collection", "workspace": "default", "collection": name, "name": name},
        ),
    )
    listed = rest(
        gateway,
        lambda c: c.global_service("collection-management", {"operation": "list-collections", "workspace": "default"}),
    )
    assert name in [c["collection"] for c in listed["collections"]]


def test_mux_concurrent_requests(gateway: Gateway) -> None:
    async def many(client: AsyncMuxClient) -> list[Any]:
        return await asyncio.gather(*[client.request("flow", {"operation": "list-flows"}) for _ in range(40)])

    results = mux(gateway, many)
    assert len(results) == 40 and all("default" in r[-1]["flow-ids"] for r in results)


def test_mux_errors(gateway: Gateway) -> None:
    with pytest.raises(ServiceError, match="Invalid flow"):
        mux(gateway, lambda c: c.request("triples", {"limit": 1}, flow="nope"))
    with pytest.raises(AuthenticationError):
        mux(gateway, lambda c: c.request("flow", {"operation": "list-flows"}), token="bad")


def test_mux_streaming_triples_frames(gateway: Gateway, run_id: str) -> None:
    import pyarrow.compute as pc

    import tg_connect
    from tg_connect.sample import sample_triples

    table = sample_triples(50)
    pred = f"http://run-{run_id}.example/p"
    table = table.set_column(2, "p", pc.cast(pc.if_else(True, pred, table.column("p")), "string"))
    table = table.filter(pc.and_(pc.is_null(table.column("g")), pc.equal(table.column("o_type"), "iri")))
    tg_connect.to_trustgraph(table, url=gateway.url, token=gateway.token, collection=f"c{run_id}", progress=False)
    request = {
        "collection": f"c{run_id}",
        "limit": 1000,
        "streaming": True,
        "batch-size": 7,
        "p": {"t": "i", "i": pred},
    }
    frames = gateway.eventually(
        lambda: mux(gateway, lambda c: c.request("triples", request, flow="default")),
        lambda fr: sum(len(f["response"]) for f in fr) >= len(table),
    )
    sizes = [len(f["response"]) for f in frames]
    assert sum(sizes) == len(table) and all(s == 7 for s in sizes[:-1]) and 0 < sizes[-1] <= 7


def test_metrics_query(gateway: Gateway) -> None:
    async def get(path: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {gateway.token}"} if gateway.token else {}
        async with aiohttp.ClientSession() as s:
            async with s.get(gateway.url + path, headers=headers) as r:
                return r.status, json.loads(await r.text())

    # make sure a counted request happened first
    rest(gateway, lambda c: c.global_service("flow", {"operation": "list-flows"}))
    # Prometheus scrapes the real gateway periodically: wait for the counter to show up.
    status, body = gateway.eventually(
        lambda: bridge.run(get("/api/metrics/query?query=tg_gateway_request_total")),
        lambda r: r[0] == 200 and bool(r[1]["data"]["result"]),
        timeout=60,
    )
    assert status == 200 and body["status"] == "success" and body["data"]["resultType"] == "vector"
    assert all(r["metric"]["__name__"] == "tg_gateway_request_total" for r in body["data"]["result"])
    # An aggregation, as dashboards and Prometheus clients send (the local gateway evaluates the
    # common ones): one series per scrape job, labelled by the job alone.
    status, body = bridge.run(get("/api/metrics/query?query=count%20by%20%28job%29%20%28up%29"))
    assert status == 200 and body["data"]["resultType"] == "vector"
    assert {r["metric"]["job"] for r in body["data"]["result"]} == {"api-gateway", "backend-group"}
    assert all(list(r["metric"]) == ["job"] and r["value"][1] == "1" for r in body["data"]["result"])
    status, body = bridge.run(get("/api/metrics/query?query=%28%28"))
    assert status == 400 and body["status"] == "error" and body["errorType"] == "bad_data"
