"""The gateway's own counters, answered in the shape of the Prometheus HTTP API.

The real gateway proxies ``/api/metrics/{path}`` to a Prometheus server that scrapes it. The
local gateway has no Prometheus, so it answers the few calls clients make
(``query?query=<selector>``, ``labels``, ``label/<name>/values``) from its own counters.
Only instant-vector selectors are supported (``name``, ``name{l="v",l!="v",l=~"re",l!~"re"}``,
``{__name__="name"}``): a PromQL engine is out of scope, and anything else is the same
400 ``bad_data`` answer Prometheus gives for a query it cannot run.

No metrics library is installed, and a dict of counters is all this needs.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Mapping

REQUEST_TOTAL = "tg_gateway_request_total"
JOB = "api-gateway"


class Metrics:
    """``tg_gateway_request_total{service,status}`` plus ``up``, labelled like the real scrape."""

    def __init__(self) -> None:
        self.instance = ""
        self._requests: dict[tuple[str, str], int] = {}

    def count_request(self, service: str, ok: bool) -> None:
        key = (service, "ok" if ok else "error")
        self._requests[key] = self._requests.get(key, 0) + 1

    def samples(self) -> list[tuple[dict[str, str], float]]:
        """Every series as (labels including ``__name__``, value)."""
        base = {"instance": self.instance, "job": JOB}
        out: list[tuple[dict[str, str], float]] = [({"__name__": "up", **base}, 1.0)]
        for (service, status), value in sorted(self._requests.items()):
            labels = {"__name__": REQUEST_TOTAL, **base, "service": service, "status": status}
            out.append((labels, float(value)))
        return out


class BadQuery(ValueError):
    """A query the local gateway cannot evaluate (Prometheus ``bad_data``)."""


_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
_SELECTOR = re.compile(rf"^\s*(?P<name>{_NAME})?\s*(?:\{{(?P<body>[^{{}}]*)\}})?\s*$")
_MATCHER = re.compile(rf"\s*(?P<label>{_LABEL})\s*(?P<op>=~|!~|!=|=)\s*(?P<value>{_STRING})\s*(?:,|$)")


def _unquote(text: str) -> str:
    if text.startswith("'"):
        text = '"' + text[1:-1].replace('\\\'', "'").replace('"', '\\"') + '"'
    return str(json.loads(text))


def parse_selector(query: str) -> list[tuple[str, str, str]]:
    """``[(label, op, value)]`` for an instant-vector selector; raises :class:`BadQuery`."""
    if not query.strip():
        raise BadQuery('invalid parameter "query": 1:1: parse error: no expression found in input')
    match = _SELECTOR.match(query)
    if match is None:
        raise BadQuery(
            f'invalid parameter "query": unsupported expression {query!r}: the local gateway'
            " answers instant-vector selectors only, e.g. name{label=\"value\"}"
        )
    matchers: list[tuple[str, str, str]] = []
    if match.group("name"):
        matchers.append(("__name__", "=", match.group("name")))
    body = (match.group("body") or "").strip()
    pos = 0
    while pos < len(body):
        m = _MATCHER.match(body, pos)
        if m is None or m.end() == pos:
            raise BadQuery(f'invalid parameter "query": 1:{pos + 1}: parse error: bad label matcher in {query!r}')
        try:
            value = _unquote(m.group("value"))
        except ValueError:
            raise BadQuery(f'invalid parameter "query": bad string in {query!r}') from None
        matchers.append((m.group("label"), m.group("op"), value))
        pos = m.end()
    if not matchers:
        raise BadQuery('invalid parameter "query": 1:1: parse error: no expression found in input')
    if all(_matches_empty(op, value) for _l, op, value in matchers):
        raise BadQuery(
            'invalid parameter "query": 1:1: parse error: vector selector must contain at least'
            " one non-empty matcher"
        )
    for _label, op, value in matchers:
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise BadQuery(f'invalid parameter "query": bad regexp {value!r}: {exc}') from None
    return matchers


def _matches_empty(op: str, value: str) -> bool:
    return _match(op, value, "")


def _match(op: str, want: str, have: str) -> bool:
    if op == "=":
        return have == want
    if op == "!=":
        return have != want
    hit = re.fullmatch(want, have) is not None
    return hit if op == "=~" else not hit


def select(metrics: Metrics, matchers: list[tuple[str, str, str]]) -> list[tuple[dict[str, str], float]]:
    return [
        (labels, value)
        for labels, value in metrics.samples()
        if all(_match(op, want, labels.get(label, "")) for label, op, want in matchers)
    ]


def format_value(value: float) -> str:
    """Prometheus' sample text: integral values without a decimal point."""
    return str(int(value)) if value.is_integer() else repr(value)


def answer(metrics: Metrics, path: str, params: Mapping[str, str]) -> tuple[int, dict[str, Any] | None]:
    """(HTTP status, JSON body) for ``/api/metrics/{path}``; body ``None`` means 404."""
    now = round(time.time(), 3)
    try:
        if path == "query":
            matchers = parse_selector(params.get("query", ""))
            result = [
                {"metric": dict(sorted(labels.items())), "value": [now, format_value(value)]}
                for labels, value in select(metrics, matchers)
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
