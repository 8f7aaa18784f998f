"""The bulk clients take their entry points' parameters: the same names, types and defaults.

A client is bound to a target, so the parameters that choose one (``url``, ``token``,
``workspace``, ``timeout``, ``tls_verify``) are not its own; the others follow ``data`` /
``kind`` as keyword-only (their positions would shift once ``url`` is gone). The one
deliberate difference: a client's ``load`` shows no progress unless asked.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import pytest

import tg_connect
from tg_connect.bulk.client import AsyncBulkClient, BulkClient

TARGET = {"url", "token", "workspace", "timeout", "tls_verify"}
LEADING = ("data", "kind")

CASES: list[tuple[Callable[..., Any], Callable[..., Any], dict[str, Any]]] = [
    (AsyncBulkClient.load, tg_connect.to_trustgraph, {"progress": False}),
    (BulkClient.load, tg_connect.to_trustgraph, {"progress": False}),
    (AsyncBulkClient.read_batches, tg_connect.read_batches, {}),
    (AsyncBulkClient.read, tg_connect.read_batches, {}),
    (BulkClient.read_batches, tg_connect.read_batches, {}),
    (BulkClient.read, tg_connect.read_batches, {}),
    (BulkClient.read_pandas, tg_connect.read_trustgraph, {}),
]


def shape(params: list[inspect.Parameter], hints: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
    """(name, kind, default, resolved type) of each parameter: types compared, not spellings."""
    return [(p.name, p.kind, p.default, hints.get(p.name, inspect.Parameter.empty)) for p in params]


def expected(function: Callable[..., Any], defaults: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
    params = []
    for p in inspect.signature(function).parameters.values():
        if p.name in TARGET:
            continue
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.name not in LEADING:
            p = p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        if p.name in defaults:
            p = p.replace(default=defaults[p.name])
        params.append(p)
    return shape(params, typing.get_type_hints(function))


def actual(method: Callable[..., Any]) -> list[tuple[str, Any, Any, Any]]:
    params = list(inspect.signature(method).parameters.values())
    assert params[0].name == "self"
    return shape(params[1:], typing.get_type_hints(method))


@pytest.mark.parametrize(
    "method, function, defaults", CASES, ids=[f"{m.__qualname__}~{f.__name__}" for m, f, _ in CASES]
)
def test_a_client_method_takes_its_entry_points_parameters(
    method: Callable[..., Any], function: Callable[..., Any], defaults: dict[str, Any]
) -> None:
    assert actual(method) == expected(function, defaults)


def test_no_client_method_takes_untyped_options() -> None:
    for method, _, _ in CASES:
        kinds = {p.kind for p in inspect.signature(method).parameters.values()}
        assert inspect.Parameter.VAR_KEYWORD not in kinds, method.__qualname__
        assert inspect.Parameter.VAR_POSITIONAL not in kinds, method.__qualname__


def test_read_trustgraph_takes_read_batches_parameters_and_a_dtype_backend() -> None:
    batches = inspect.signature(tg_connect.read_batches).parameters
    frame = dict(inspect.signature(tg_connect.read_trustgraph).parameters)
    assert frame.pop("dtype_backend").default is None
    assert list(frame.values()) == list(batches.values())
    hints = typing.get_type_hints(tg_connect.read_trustgraph)
    assert {k: v for k, v in hints.items() if k in batches} == {
        k: v for k, v in typing.get_type_hints(tg_connect.read_batches).items() if k in batches
    }
