"""``/api/metrics/{path}``: the gateway's proxy to the Prometheus HTTP API (docs/protocol.md 12).

``query(promql)`` and ``query_range(...)`` return a :class:`MetricsResult` (typed series,
``.to_pandas()``); ``get(path, **params)`` returns the ``data`` of any Prometheus API path
(``query``, ``series``, ``labels``, ``label/<name>/values``, ``targets`` ...). Errors raise:
Prometheus's own (``bad_data``...) and the proxy's (502 when Prometheus is unreachable) as
:class:`~tg_connect.errors.ServiceError` of service ``metrics``; 401/403 as auth errors.

:class:`~.sync.Metrics` is generated from :class:`AsyncMetrics`: after changing it, run
``python scripts/gen_sync.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from ..errors import ProtocolError, ServiceError
from ..flow.transports import RestTransport

# What ``get()`` asks for when given nothing: every series the gateway exports.
GATEWAY_SELECTOR = '{__name__=~"tg_.+"}'


@dataclass(frozen=True)
class Series:
    """One time series: its labels (``__name__`` included) and ``(timestamp, value)`` points."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]

    @property
    def name(self) -> str | None:
        return self.labels.get("__name__")

    @property
    def value(self) -> float:
        """The last point's value (an instant vector has exactly one)."""
        return self.points[-1][1] if self.points else math.nan


@dataclass(frozen=True)
class MetricsResult:
    """A PromQL answer: ``result_type`` (``vector``, ``matrix``, ``scalar``, ``string``) and
    its series; a scalar's value is ``scalar``. ``to_pandas()`` has a column per label, then
    ``timestamp`` (UTC) and ``value``, one row per point."""

    result_type: str
    series: tuple[Series, ...] = ()
    scalar: float | str | None = None

    def __iter__(self) -> Iterator[Series]:
        return iter(self.series)

    def __len__(self) -> int:
        return len(self.series)

    def value(self, **labels: str) -> float | None:
        """The value of the one series whose labels include ``labels`` (None if none match)."""
        found = [s for s in self.series if all(s.labels.get(k) == v for k, v in labels.items())]
        if len(found) > 1:
            raise ValueError(f"{len(found)} series match {labels}; add labels to pick one")
        return found[0].value if found else None

    def to_arrow(self) -> pa.Table:
        names = sorted({k for s in self.series for k in s.labels})
        cols: dict[str, list[Any]] = {n: [] for n in names}
        stamps: list[datetime] = []
        values: list[float] = []
        for s in self.series:
            for ts, v in s.points:
                for n in names:
                    cols[n].append(s.labels.get(n))
                stamps.append(datetime.fromtimestamp(ts, tz=UTC))
                values.append(v)
        arrays = {n: pa.array(c, pa.string()) for n, c in cols.items()}
        arrays["timestamp"] = pa.array(stamps, pa.timestamp("ms", tz="UTC"))
        arrays["value"] = pa.array(values, pa.float64())
        return pa.table(arrays)

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()


def _number(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise ProtocolError(f"metrics: {text!r} is not a sample value") from None


def parse_result(data: Any) -> MetricsResult:
    """A :class:`MetricsResult` from the ``data`` of a query or query_range answer."""
    if not isinstance(data, Mapping) or "resultType" not in data:
        raise ProtocolError("metrics: the answer has no resultType")
    kind = str(data["resultType"])
    result = data.get("result")
    if kind in ("scalar", "string"):
        if not isinstance(result, (list, tuple)) or len(result) != 2:
            raise ProtocolError(f"metrics: a {kind} answer is not [time, value]")
        value = result[1]
        return MetricsResult(kind, (), _number(value) if kind == "scalar" else str(value))
    series = []
    for item in result or []:
        labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
        points: tuple[tuple[float, float], ...]
        if "value" in item:
            points = ((float(item["value"][0]), _number(item["value"][1])),)
        else:
            points = tuple((float(ts), _number(v)) for ts, v in item.get("values") or [])
        series.append(Series(labels, points))
    return MetricsResult(kind, tuple(series))


class AsyncMetrics:
    """Prometheus queries through the gateway, for asyncio code (``api.async_metrics()``)."""

    def __init__(self, transport: RestTransport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return f"AsyncMetrics({self._transport.target.url!r})"

    async def get(self, /, path: str = "query", **params: str) -> Any:
        """The ``data`` of ``GET /api/metrics/{path}?{params}``.

        With no arguments: ``query`` of every ``tg_*`` series (the gateway's own counters).
        """
        path = path.strip("/")
        if path == "query" and not params:
            params = {"query": GATEWAY_SELECTOR}
        status, body = await self._transport.client().get(f"/api/metrics/{path}", params)
        if isinstance(body, Mapping) and body.get("status") == "error":
            raise ServiceError("metrics", str(body.get("errorType") or "error"), str(body.get("error") or ""))
        if status != 200:
            text = body if isinstance(body, str) else str(body)
            raise ServiceError("metrics", f"http-{status}", text.strip()[:500])
        if not isinstance(body, Mapping) or body.get("status") != "success":
            raise ProtocolError(f"metrics: /api/metrics/{path} did not answer in the Prometheus API format")
        return body.get("data")

    async def query(self, promql: str, time: float | None = None) -> MetricsResult:
        """An instant query."""
        params = {"query": promql}
        if time is not None:
            params["time"] = repr(float(time))
        return parse_result(await self.get("query", **params))

    async def query_range(self, promql: str, start: float, end: float, step: float) -> MetricsResult:
        """A range query from ``start`` to ``end`` (Unix seconds) every ``step`` seconds."""
        return parse_result(
            await self.get(
                "query_range", query=promql, start=repr(float(start)), end=repr(float(end)), step=repr(float(step))
            )
        )

    async def labels(self) -> list[str]:
        return [str(x) for x in await self.get("labels") or []]

    async def label_values(self, name: str) -> list[str]:
        return [str(x) for x in await self.get(f"label/{name}/values") or []]
