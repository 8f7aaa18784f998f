"""tg_connect: move knowledge in and out of TrustGraph as Arrow, pandas and Parquet.

Bulk entry points: :func:`to_trustgraph`, :func:`read_trustgraph`, :func:`read_batches`.
With no URL they use ``$TRUSTGRAPH_URL``, else ``http://localhost:8088``; the embedded
:class:`LocalGateway` is chosen explicitly, by passing its ``url``.
"""

from __future__ import annotations

from typing import Any

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


def __getattr__(name: str) -> Any:
    # The local gateway pulls in the server stack; import it only when asked for.
    if name == "LocalGateway":
        from .local import LocalGateway

        return LocalGateway
    raise AttributeError(name)
