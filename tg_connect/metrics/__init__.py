"""Prometheus queries through the gateway: ``api.metrics()`` and ``api.async_metrics()``.

:mod:`.core` holds the results and the async face, :class:`AsyncMetrics`; :mod:`.sync` its
sync twin, :class:`Metrics`, generated from it by ``scripts/gen_sync.py``.
"""

from .core import GATEWAY_SELECTOR, AsyncMetrics, MetricsResult, Series, parse_result
from .sync import Metrics

__all__ = ["GATEWAY_SELECTOR", "AsyncMetrics", "Metrics", "MetricsResult", "Series", "parse_result"]
