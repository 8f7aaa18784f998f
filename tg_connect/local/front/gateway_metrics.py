"""The gateway's own counters, answered in the shape of the Prometheus HTTP API.

The real gateway proxies ``/api/metrics/{path}`` to a Prometheus server that scrapes it (job
``api-gateway``) and the back-end processors (job ``backend-group`` in the reference
deployment). The local gateway has no Prometheus, so it answers the few calls clients make
(``query?query=<selector>``, ``labels``, ``label/<name>/values``) from its own counters.
Queries are parsed by promql-parser (Prometheus' own grammar, not ours); the local gateway
evaluates instant-vector selectors (``name{l="v",l!="v",l=~"re",l!~"re"}``) and the aggregations
``sum``, ``count``, ``min``, ``max`` and ``avg`` over them, with ``by`` or ``without``, which is
what clients of the real gateway's Prometheus ask for; anything else is the same 400
``bad_data`` answer Prometheus gives for a query it cannot run.

Series, with the real 2.11.1 names and label sets:

* ``up`` and ``tg_gateway_request_total{service,status}`` (job ``api-gateway``);
* the store consumers' ``tg_consumer_processing_total{processor,consumer,status}`` (job
  ``backend-group``), one series per processor consuming a flow's store topic: on
  ``triples-store`` ``triples-write`` and ``kg-store``, on ``graph-embeddings-store``
  ``ge-write`` and ``kg-store``, on ``document-embeddings-store`` ``de-write``
  (``entity-contexts-load`` and ``rows-store`` have no consumer in the reference
  deployment). ``consumer`` is the topic, ``flow:tg:<workspace>:<interface>:<flow>``. As
  ``ConsumerMetrics`` does, both ``status`` series exist at 0 from the moment the consumer
  does (the flow starts), and each counts one per *message* handled; with them
  ``tg_consumer_request_duration_seconds_sum``/``_count{processor,consumer}``, the seconds
  spent on those messages (the real histogram's buckets are left out). A paced store counts
  its paced time as time spent, as a slow store's would show;
* ``TriplesStoreService``'s histograms ``tg_triples_store_write_batch_size`` (triples per
  write) and ``tg_triples_store_write_duration_seconds`` (``_bucket``/``_sum``/``_count``,
  label ``processor``) and the counter ``tg_triples_store_write_error_total``: a series
  appears at its first observation, as with prometheus_client's labelled metrics.

The reference deployment scrapes the gateway and the back end on two ports (two
``instance`` values); here both are this gateway's address.

Every back-end series is counted when the data is *stored* (the store commit returned, the
core item was written), not when the import frame arrived: a client tells delivered from
stored by comparing what it sent with these. The ``_created`` series prometheus_client also
exports are left out. Counters are updated from the store thread too, hence the lock.

No metrics library is installed, and a few dicts of counters are all this needs.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import promql_parser as promql

REQUEST_TOTAL = "tg_gateway_request_total"
JOB = "api-gateway"
BACKEND_JOB = "backend-group"  # the reference deployment's scrape job for the processors
CONSUMER_TOTAL = "tg_consumer_processing_total"
REQUEST_DURATION = "tg_consumer_request_duration_seconds"  # time spent on each message, per consumer
WRITE_BATCH = "tg_triples_store_write_batch_size"
WRITE_DURATION = "tg_triples_store_write_duration_seconds"
WRITE_ERRORS = "tg_triples_store_write_error_total"

# Processors consuming each store interface, by their ids in the reference deployment.
STORE_CONSUMERS: dict[str, tuple[str, ...]] = {
    "triples-store": ("triples-write", "kg-store"),
    "graph-embeddings-store": ("ge-write", "kg-store"),
    "document-embeddings-store": ("de-write",),
}
TRIPLES_WRITER = "triples-write"
CORE_WRITER = "kg-store"

# trustgraph-base's buckets: BUCKETS_STANDARD (durations) and the batch-size histogram's own.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0)


def _le(bound: float) -> str:
    """A bucket bound as prometheus_client writes it (``floatToGoString``): 1.0, 0.05, +Inf."""
    return "+Inf" if math.isinf(bound) else repr(float(bound))


class Histogram:
    """One labelled child of a Prometheus histogram: cumulative buckets, sum and count."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = (*bounds, math.inf)
        self.buckets = [0] * len(self.bounds)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.buckets[i] += 1
        self.sum += value
        self.count += 1


class Metrics:
    """The gateway's and the store consumers' counters, labelled like the real scrape."""

    def __init__(self) -> None:
        self.instance = ""
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str], int] = {}
        self._consumers: dict[tuple[str, str, str], int] = {}  # (processor, consumer, status)
        self._busy: dict[tuple[str, str], tuple[float, int]] = {}  # (processor, consumer): seconds, messages
        self._histograms: dict[tuple[str, str], Histogram] = {}  # (name, processor)
        self._write_errors: dict[str, int] = {}

    def count_request(self, service: str, ok: bool) -> None:
        key = (service, "ok" if ok else "error")
        with self._lock:
            self._requests[key] = self._requests.get(key, 0) + 1

    def add_consumers(self, interface: str, topic: str) -> None:
        """A flow's store topic got its consumers: their series start at 0 (ConsumerMetrics)."""
        with self._lock:
            for processor in STORE_CONSUMERS.get(interface, ()):
                for status in ("ok", "error"):
                    self._consumers.setdefault((processor, topic, status), 0)

    def consumed(self, processor: str, topic: str, ok: bool = True, seconds: float = 0.0) -> None:
        """``processor`` finished handling one message from ``topic``, which took ``seconds``."""
        key = (processor, topic, "ok" if ok else "error")
        with self._lock:
            self._consumers[key] = self._consumers.get(key, 0) + 1
            other = (processor, topic, "error" if ok else "ok")
            self._consumers.setdefault(other, 0)
            spent, count = self._busy.get((processor, topic), (0.0, 0))
            self._busy[(processor, topic)] = (spent + seconds, count + 1)

    def triples_written(self, count: int, seconds: float, processor: str = TRIPLES_WRITER) -> None:
        """One store write of ``count`` triples took ``seconds`` (TriplesStoreService.on_message)."""
        with self._lock:
            self._histogram(WRITE_DURATION, processor, DURATION_BUCKETS).observe(seconds)
            self._histogram(WRITE_BATCH, processor, BATCH_BUCKETS).observe(float(count))

    def triples_write_failed(self, processor: str = TRIPLES_WRITER) -> None:
        with self._lock:
            self._write_errors[processor] = self._write_errors.get(processor, 0) + 1

    def _histogram(self, name: str, processor: str, bounds: tuple[float, ...]) -> Histogram:
        found = self._histograms.get((name, processor))
        if found is None:
            found = self._histograms[(name, processor)] = Histogram(bounds)
        return found

    def value(self, name: str, **labels: str) -> float:
        """The sum of the series named ``name`` whose labels include ``labels`` (0 if none)."""
        return sum(
            v for ls, v in self.samples() if ls["__name__"] == name and all(ls.get(k) == w for k, w in labels.items())
        )

    def samples(self) -> list[tuple[dict[str, str], float]]:
        """Every series as (labels including ``__name__``, value)."""
        base = {"instance": self.instance, "job": JOB}
        back = {"instance": self.instance, "job": BACKEND_JOB}
        # Two scrape targets, as in the reference deployment: the gateway and the back end.
        out: list[tuple[dict[str, str], float]] = [({"__name__": "up", **base}, 1.0), ({"__name__": "up", **back}, 1.0)]
        with self._lock:
            for (service, status), value in sorted(self._requests.items()):
                labels = {"__name__": REQUEST_TOTAL, **base, "service": service, "status": status}
                out.append((labels, float(value)))
            for (processor, consumer, status), value in sorted(self._consumers.items()):
                labels = {
                    "__name__": CONSUMER_TOTAL,
                    **back,
                    "consumer": consumer,
                    "processor": processor,
                    "status": status,
                }
                out.append((labels, float(value)))
            for (processor, consumer), (spent, count) in sorted(self._busy.items()):
                labels = {**back, "consumer": consumer, "processor": processor}
                out.append(({"__name__": f"{REQUEST_DURATION}_sum", **labels}, spent))
                out.append(({"__name__": f"{REQUEST_DURATION}_count", **labels}, float(count)))
            for (name, processor), hist in sorted(self._histograms.items()):
                for bound, hits in zip(hist.bounds, hist.buckets, strict=True):
                    out.append(
                        ({"__name__": f"{name}_bucket", **back, "le": _le(bound), "processor": processor}, float(hits))
                    )
                out.append(({"__name__": f"{name}_count", **back, "processor": processor}, float(hist.count)))
                out.append(({"__name__": f"{name}_sum", **back, "processor": processor}, hist.sum))
            for processor, value in sorted(self._write_errors.items()):
                out.append(({"__name__": WRITE_ERRORS, **back, "processor": processor}, float(value)))
        return out


class BadQuery(ValueError):
    """A query the local gateway cannot evaluate (Prometheus ``bad_data``)."""


_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}  # by str(op)
_AGGREGATIONS: dict[str, Callable[[list[float]], float]] = {
    "sum": sum,
    "count": len,
    "min": min,
    "max": max,
    "avg": lambda values: sum(values) / len(values),
}
_SUPPORTED = "instant-vector selectors and sum, count, min, max and avg over them (with by or without)"

Matcher = tuple[str, str, str]  # (label, op, value)
Series = tuple[dict[str, str], float]


def parse_query(query: str) -> promql.Expr:
    """The query's syntax tree (promql-parser: Prometheus' own grammar); raises :class:`BadQuery`."""
    try:
        return promql.parse(query)
    except ValueError as exc:
        raise BadQuery(f'invalid parameter "query": 1:1: parse error: {exc}') from None


def _matchers(selector: promql.VectorSelector, query: str) -> list[Matcher]:
    if selector.offset is not None or selector.at is not None or selector.matchers.or_matchers:
        raise BadQuery(
            f'invalid parameter "query": unsupported expression {query!r}: the local gateway answers {_SUPPORTED}'
        )
    found = [("__name__", "=", selector.name)] if selector.name else []
    return found + [(m.name, _OPS[str(m.op)], m.value) for m in selector.matchers.matchers]


def _match(op: str, want: str, have: str) -> bool:
    if op == "=":
        return have == want
    if op == "!=":
        return have != want
    hit = re.fullmatch(want, have) is not None
    return hit if op == "=~" else not hit


def select(metrics: Metrics, matchers: list[Matcher]) -> list[Series]:
    return [
        (labels, value)
        for labels, value in metrics.samples()
        if all(_match(op, want, labels.get(label, "")) for label, op, want in matchers)
    ]


def evaluate(metrics: Metrics, query: str) -> list[Series]:
    """The instant vector ``query`` gives; raises :class:`BadQuery` beyond :data:`_SUPPORTED`."""
    return _evaluate(metrics, parse_query(query), query)


def _evaluate(metrics: Metrics, expr: promql.Expr, query: str) -> list[Series]:
    if isinstance(expr, promql.ParenExpr):
        return _evaluate(metrics, expr.expr, query)
    if isinstance(expr, promql.VectorSelector):
        return select(metrics, _matchers(expr, query))
    if isinstance(expr, promql.AggregateExpr) and str(expr.op) in _AGGREGATIONS and expr.param is None:
        return _aggregate(str(expr.op), expr.modifier, _evaluate(metrics, expr.expr, query))
    raise BadQuery(
        f'invalid parameter "query": unsupported expression {query!r}: the local gateway answers {_SUPPORTED}'
    )


def _aggregate(op: str, modifier: promql.AggModifier | None, series: list[Series]) -> list[Series]:
    """Prometheus' grouping: ``by`` keeps only the labels named, ``without`` drops them (and the
    metric name); either way the result has no ``__name__``."""
    groups: dict[tuple[tuple[str, str], ...], list[float]] = {}
    for labels, value in series:
        if modifier is None:
            kept: dict[str, str] = {}
        elif modifier.type == promql.AggModifierType.By:
            kept = {k: v for k, v in labels.items() if k in modifier.labels}
        else:
            kept = {k: v for k, v in labels.items() if k not in modifier.labels and k != "__name__"}
        groups.setdefault(tuple(sorted(kept.items())), []).append(value)
    return [(dict(key), float(_AGGREGATIONS[op](values))) for key, values in groups.items()]


def format_value(value: float) -> str:
    """Prometheus' sample text: integral values without a decimal point."""
    return str(int(value)) if value.is_integer() else repr(value)


def answer(metrics: Metrics, path: str, params: Mapping[str, str]) -> tuple[int, dict[str, Any] | None]:
    """(HTTP status, JSON body) for ``/api/metrics/{path}``; body ``None`` means 404."""
    now = round(time.time(), 3)
    try:
        if path == "query":
            result = [
                {"metric": dict(sorted(labels.items())), "value": [now, format_value(value)]}
                for labels, value in evaluate(metrics, params.get("query", ""))
            ]
            return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}
        if path == "labels":
            names = sorted({k for labels, _v in metrics.samples() for k in labels})
            return 200, {"status": "success", "data": names}
        m = re.fullmatch(r"label/([^/]+)/values", path)
        if m is not None:
            values = sorted({labels[m.group(1)] for labels, _v in metrics.samples() if m.group(1) in labels})
            return 200, {"status": "success", "data": values}
        if path in ("query_range", "series", "query_exemplars", "format_query", "parse_query"):
            raise BadQuery(f"the local gateway does not answer /api/v1/{path}; use query")
    except BadQuery as exc:
        return 400, {"status": "error", "errorType": "bad_data", "error": str(exc)}
    return 404, None
