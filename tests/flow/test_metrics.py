"""``metrics()`` / ``async_metrics()`` over ``/api/metrics/{path}`` on every gateway."""

from __future__ import annotations

import asyncio

import pytest

from tg_connect import Api, MetricsResult, ServiceError

from ..conftest import Gateway

NAME = "tg_gateway_request_total"


def test_metrics(gateway: Gateway) -> None:
    with Api(gateway.url, token=gateway.token) as api:
        api.flow().list()  # a counted request
        metrics = api.metrics()
        # Prometheus scrapes the real gateway periodically: wait for the counter.
        result = gateway.eventually(lambda: metrics.query(NAME), lambda r: len(r) > 0, timeout=60)
        assert isinstance(result, MetricsResult) and result.result_type == "vector"
        assert all(s.name == NAME and s.value >= 1 for s in result)
        frame = result.to_pandas()
        assert {"__name__", "service", "timestamp", "value"} <= set(frame.columns) and len(frame) == len(result)
        assert NAME in api.metrics().label_values("__name__")
        raw = metrics.get()  # every tg_* series, as Prometheus's data
        assert raw["resultType"] == "vector" and any(r["metric"]["__name__"] == NAME for r in raw["result"])
        assert metrics.get("query", query=NAME)["result"]
        with pytest.raises(ServiceError) as info:
            metrics.query("((")
        assert info.value.service == "metrics" and info.value.type == "bad_data"


def test_async_metrics(gateway: Gateway) -> None:
    async def main() -> MetricsResult:
        async with Api(gateway.url, token=gateway.token) as api:
            await api.async_flow().list()
            return await api.async_metrics().query(f'{NAME}{{service="flow"}}')

    result = gateway.eventually(lambda: asyncio.run(main()), lambda r: len(r) > 0, timeout=60)
    assert all(s.labels["service"] == "flow" for s in result)
