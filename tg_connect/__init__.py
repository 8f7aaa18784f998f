"""tg_connect: move knowledge in and out of TrustGraph as Arrow, pandas and Parquet.

Bulk entry points: :func:`to_trustgraph`, :func:`read_trustgraph`, :func:`read_batches`.
With no URL they use ``$TRUSTGRAPH_URL``, else ``http://localhost:8088``; the embedded
:class:`LocalGateway` is chosen explicitly, by passing its ``url``.

Importing the package is quick: the names below are imported on first use (PEP 562), so
``import tg_connect`` and ``tg-connect --help`` load neither pandas, pyarrow nor the socket
libraries. The ``df.tg`` DataFrame accessor is registered as soon as both pandas and
tg_connect are imported, in either order: at once when pandas is already loaded, else by a
one-shot import hook when pandas is first imported.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .errors import (
    AccessDeniedError,
    AuthenticationError,
    GatewayConnectionError,
    GatewayTimeoutError,
    InputError,
    NotFoundError,
    ProtocolError,
    ServiceError,
    TgConnectError,
)

if TYPE_CHECKING:
    from .api import Api
    from .bulk import (
        CoreTransfer,
        LoadReport,
        Progress,
        export_core,
        import_core,
        read_batches,
        read_trustgraph,
        to_trustgraph,
    )
    from .flow import (
        AgentAnswer,
        AgentObservation,
        AgentThought,
        Answer,
        AsyncFlow,
        AsyncFlowInstance,
        AsyncSocketClient,
        AsyncSocketFlowInstance,
        ChunkIterator,
        ChunkStream,
        ConfigKey,
        ConfigValue,
        ExplainEvent,
        Flow,
        FlowInstance,
        RAGChunk,
        SocketClient,
        SocketFlowInstance,
        StreamingChunk,
        TextChunk,
        TripleList,
    )
    from .local import LocalGateway
    from .metrics import AsyncMetrics, Metrics, MetricsResult
    from .protocol.conform import Rejection
    from .protocol.schemas import KINDS
    from .protocol.terms import Term, Triple

__version__ = "0.1.0"

__all__ = [
    "to_trustgraph",
    "read_trustgraph",
    "read_batches",
    "export_core",
    "import_core",
    "CoreTransfer",
    "LoadReport",
    "Progress",
    "Rejection",
    "LocalGateway",
    "Term",
    "Triple",
    "KINDS",
    "TgConnectError",
    "GatewayConnectionError",
    "GatewayTimeoutError",
    "AuthenticationError",
    "AccessDeniedError",
    "ServiceError",
    "ProtocolError",
    "InputError",
    "NotFoundError",
    "Api",
    "Flow",
    "FlowInstance",
    "AsyncFlow",
    "AsyncFlowInstance",
    "SocketClient",
    "SocketFlowInstance",
    "AsyncSocketClient",
    "AsyncSocketFlowInstance",
    "ChunkIterator",
    "ChunkStream",
    "Answer",
    "StreamingChunk",
    "AgentThought",
    "AgentObservation",
    "AgentAnswer",
    "RAGChunk",
    "TextChunk",
    "ExplainEvent",
    "TripleList",
    "ConfigKey",
    "ConfigValue",
    "Metrics",
    "AsyncMetrics",
    "MetricsResult",
]

_FLOW_NAMES = (
    "AgentAnswer AgentObservation AgentThought Answer AsyncFlow AsyncFlowInstance AsyncSocketClient"
    " AsyncSocketFlowInstance ChunkIterator ChunkStream ConfigKey ConfigValue ExplainEvent Flow FlowInstance"
    " RAGChunk SocketClient SocketFlowInstance StreamingChunk TextChunk TripleList"
).split()
# Where each lazily imported name lives (errors are imported above: they are light).
_WHERE: dict[str, str] = {
    **dict.fromkeys(
        ("to_trustgraph read_trustgraph read_batches export_core import_core CoreTransfer LoadReport Progress").split(),
        ".bulk",
    ),
    **dict.fromkeys(_FLOW_NAMES, ".flow"),
    **dict.fromkeys(("Metrics", "AsyncMetrics", "MetricsResult"), ".metrics"),
    "Api": ".api",
    "LocalGateway": ".local",
    "Rejection": ".protocol.conform",
    "KINDS": ".protocol.schemas",
    "Term": ".protocol.terms",
    "Triple": ".protocol.terms",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def _register_accessor() -> None:
    """Register ``df.tg`` (pandas is loaded by now)."""
    importlib.import_module(".bulk.accessor", __name__)


class _RegisteringLoader(importlib.abc.Loader):
    """pandas' own loader, which registers ``df.tg`` once pandas has finished importing.

    Everything else (resource readers, ``get_code``...) is pandas' loader's.
    """

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _AfterPandas.uninstall()
        try:
            _register_accessor()
        except Exception as exc:  # never fail the user's ``import pandas`` over df.tg
            import warnings

            warnings.warn(f"tg_connect could not register the df.tg accessor: {exc}", stacklevel=2)


class _AfterPandas(importlib.abc.MetaPathFinder):
    """A one-shot import hook: finds pandas as the other finders do and wraps its loader."""

    _searching = False

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "pandas" or self._searching:
            return None
        self._searching = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._searching = False
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisteringLoader(spec.loader)
        return spec

    @staticmethod
    def uninstall() -> None:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _AfterPandas)]


if "pandas" in sys.modules:
    _register_accessor()
elif not any(isinstance(f, _AfterPandas) for f in sys.meta_path):
    sys.meta_path.insert(0, _AfterPandas())
