"""Prometheus queries through the gateway: ``api.metrics()`` and ``api.async_metrics()``.

:mod:`.core` holds the results and the two faces, :class:`AsyncMetrics` and :class:`Metrics`.
"""

from .core import GATEWAY_SELECTOR, AsyncMetrics, Metrics, MetricsResult, Series, parse_result

__all__ = ["GATEWAY_SELECTOR", "AsyncMetrics", "Metrics", "MetricsResult", "Series", "parse_result"]
