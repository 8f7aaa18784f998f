"""The flow layer: every gateway service as a method, over REST and the socket, sync and async.

Reach it through :class:`tg_connect.Api`. The per-service knowledge (request fields, reply
parsing, streaming, dropped-error checks) lives in :mod:`tg_connect.protocol.services`, the
values it returns in :mod:`tg_connect.types`;
:mod:`.core` holds the async faces (one implementation over any transport), :mod:`.sync`
their sync twins (generated from :mod:`.core` by ``scripts/gen_sync.py``, calling it through
:mod:`.blocking`), :mod:`.transports` the REST and socket transports.
"""

from ..types import (
    AgentAnswer,
    AgentObservation,
    AgentThought,
    Answer,
    ChunkMatch,
    ClozeResult,
    CollectionMetadata,
    ConfigKey,
    ConfigSnapshot,
    ConfigValue,
    DocumentMetadata,
    EntityMatch,
    ExplainEvent,
    IamUser,
    KnowledgeCore,
    KnowledgeItem,
    McpResult,
    ModelInfo,
    NlpQueryResult,
    ProcessingMetadata,
    RAGChunk,
    RerankResult,
    RowMatch,
    RowsResult,
    ScoringResult,
    Source,
    SparqlResult,
    StreamingChunk,
    StructuredDiagResult,
    StructuredQueryResult,
    Table,
    TextChunk,
    TripleList,
)
from .blocking import ChunkIterator
from .core import (
    AsyncCollection,
    AsyncConfig,
    AsyncFlow,
    AsyncFlowInstance,
    AsyncIam,
    AsyncKnowledge,
    AsyncLibrary,
    AsyncSocketClient,
    AsyncSocketFlowInstance,
    ChunkStream,
)
from .sync import (
    Collection,
    Config,
    Flow,
    FlowInstance,
    Iam,
    Knowledge,
    Library,
    SocketClient,
    SocketFlowInstance,
)

__all__ = [
    "AgentAnswer", "AgentObservation", "AgentThought", "Answer", "ChunkMatch", "ClozeResult",
    "CollectionMetadata", "ConfigKey", "ConfigSnapshot", "ConfigValue", "DocumentMetadata", "EntityMatch",
    "ExplainEvent", "IamUser", "KnowledgeCore", "KnowledgeItem", "McpResult", "ModelInfo", "NlpQueryResult",
    "ProcessingMetadata", "RAGChunk", "RerankResult", "RowMatch", "RowsResult", "ScoringResult", "Source",
    "SparqlResult", "StreamingChunk", "StructuredDiagResult", "StructuredQueryResult", "Table", "TextChunk",
    "TripleList", "AsyncCollection", "AsyncConfig", "AsyncFlow", "AsyncFlowInstance", "AsyncIam", "AsyncKnowledge",
    "AsyncLibrary", "AsyncSocketClient", "AsyncSocketFlowInstance", "ChunkStream", "ChunkIterator",
    "Collection", "Config", "Flow", "FlowInstance", "Iam", "Knowledge", "Library", "SocketClient", "SocketFlowInstance",
]
