# Generated from tg_connect/metrics/core.py by scripts/gen_sync.py; do not edit.
# Change the async face there, then run: python scripts/gen_faces.py
"""The sync face of :class:`~.core.AsyncMetrics`, running it on tg_connect's one background loop."""

from __future__ import annotations

from typing import Any

from ..transport import bridge
from . import core
from .core import MetricsResult


class Metrics:
    """Prometheus queries through the gateway (``api.metrics()``)."""

    def __init__(self, inner: core.AsyncMetrics) -> None:
        self._a: core.AsyncMetrics = inner

    def __repr__(self) -> str:
        return repr(self._a).replace("Async", "", 1)

    def get(self, /, path: str = "query", **params: str) -> Any:
        """The ``data`` of ``GET /api/metrics/{path}?{params}``.

        With no arguments: ``query`` of every ``tg_*`` series (the gateway's own counters).
        """
        return bridge.run(self._a.get(path, **params))

    def query(self, promql: str, time: float | None = None) -> MetricsResult:
        """An instant query."""
        return bridge.run(self._a.query(promql, time))

    def query_range(self, promql: str, start: float, end: float, step: float) -> MetricsResult:
        """A range query from ``start`` to ``end`` (Unix seconds) every ``step`` seconds."""
        return bridge.run(self._a.query_range(promql, start, end, step))

    def labels(self) -> list[str]:
        return bridge.run(self._a.labels())

    def label_values(self, name: str) -> list[str]:
        return bridge.run(self._a.label_values(name))
