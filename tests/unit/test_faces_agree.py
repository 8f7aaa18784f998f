"""Every sync face and its async twin agree: the same public members, and each method takes the
same parameters with the same defaults and types.

The sync faces are generated (``scripts/gen_sync.py``), the bulk clients written twice by
hand; either way a default that differs between the faces fails here. The differences meant
to be there are listed: ``aclose`` is ``close`` on a sync face, an async face's ``transport``
is its own, and only the sync bulk client has ``read_pandas``.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

import pytest

from tg_connect import metrics
from tg_connect.bulk.client import AsyncBulkClient, BulkClient
from tg_connect.flow import core, sync

PAIRS: list[tuple[type, type]] = [
    (core.AsyncFlowInstance, sync.FlowInstance),
    (core.AsyncConfig, sync.Config),
    (core.AsyncLibrary, sync.Library),
    (core.AsyncKnowledge, sync.Knowledge),
    (core.AsyncCollection, sync.Collection),
    (core.AsyncIam, sync.Iam),
    (core.AsyncFlow, sync.Flow),
    (core.AsyncSocketClient, sync.SocketClient),
    (metrics.AsyncMetrics, metrics.Metrics),
    (AsyncBulkClient, BulkClient),
]
RENAMED = {"aclose": "close"}
ASYNC_ONLY = {"transport"}
SYNC_ONLY = {BulkClient: {"read_pandas"}}
FACES = {
    core.AsyncFlowInstance: sync.FlowInstance,
    core.AsyncConfig: sync.Config,
    core.AsyncLibrary: sync.Library,
    core.AsyncKnowledge: sync.Knowledge,
    core.AsyncCollection: sync.Collection,
    core.AsyncIam: sync.Iam,
    core.AsyncFlow: sync.Flow,
}


def public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def parameters(fn: Any) -> list[inspect.Parameter]:
    return list(inspect.signature(fn).parameters.values())


def ids(pairs: list[tuple[type, type]]) -> list[str]:
    return [sync_cls.__name__ for _, sync_cls in pairs]


@pytest.mark.parametrize("async_cls, sync_cls", PAIRS, ids=ids(PAIRS))
def test_the_same_public_members(async_cls: type, sync_cls: type) -> None:
    expected = {RENAMED.get(name, name) for name in public(async_cls) - ASYNC_ONLY}
    assert public(sync_cls) - SYNC_ONLY.get(sync_cls, set()) == expected


@pytest.mark.parametrize("async_cls, sync_cls", PAIRS, ids=ids(PAIRS))
def test_the_same_parameters_defaults_and_types(async_cls: type, sync_cls: type) -> None:
    for name in sorted(public(async_cls) - ASYNC_ONLY):
        a, s = inspect.getattr_static(async_cls, name), inspect.getattr_static(sync_cls, RENAMED.get(name, name))
        if isinstance(a, property):
            assert isinstance(s, property), name
            a, s = a.fget, s.fget
        assert callable(s) and not inspect.iscoroutinefunction(s), name
        assert parameters(s) == parameters(a), f"{sync_cls.__name__}.{name} differs from its async twin"
        # The overloads too (Python 3.11 records them; on 3.10 both lists are empty).
        get_overloads = getattr(typing, "get_overloads", lambda fn: [])
        assert [parameters(o) for o in get_overloads(s)] == [parameters(o) for o in get_overloads(a)], name


def test_a_method_returning_a_face_returns_its_sync_twin() -> None:
    names = {a.__name__: s.__name__ for a, s in FACES.items()}
    checked = 0
    for async_cls, sync_cls in FACES.items():
        for name in public(async_cls) - ASYNC_ONLY:
            method = inspect.getattr_static(async_cls, name)
            if isinstance(method, property):
                continue
            returns = inspect.signature(method).return_annotation
            if returns in names:
                assert inspect.signature(getattr(sync_cls, name)).return_annotation == names[returns], name
                checked += 1
    assert checked == 7  # id, flow, config, library, knowledge, collection, iam


def test_the_aliases_name_the_same_faces() -> None:
    assert core.AsyncSocketFlowInstance is core.AsyncFlowInstance
    assert sync.SocketFlowInstance is sync.FlowInstance
