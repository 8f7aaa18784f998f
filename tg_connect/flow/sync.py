"""The sync faces: the async faces run on tg_connect's one background event loop.

Every method has the signature of its async twin and returns what the coroutine returns;
streaming methods return a :class:`ChunkIterator`. Calls go through
:mod:`tg_connect.transport.bridge`, so they work from any number of threads and inside a
running event loop (Jupyter), and a streamed answer crosses threads through a bounded
queue (a slow consumer slows the socket, it does not grow memory).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    Literal,
    ParamSpec,
    TypeVar,
    overload,
)

from ..protocol import services as sv
from ..protocol.services import (
    AgentChunk,
    Answer,
    KnowledgeCore,
    KnowledgeItem,
    RAGEvent,
    SparqlResult,
    TermArg,
    TextChunk,
    TripleList,
)
from ..transport import bridge
from . import core
from .core import ChunkStream

if TYPE_CHECKING:
    from typing_extensions import Unpack

C = TypeVar("C")
R = TypeVar("R")
P = ParamSpec("P")


def wait(awaitable: Awaitable[R]) -> R:
    """Run ``awaitable`` on the background loop and return its result."""
    async def run() -> R:
        return await awaitable
    return bridge.run(run())


class ChunkIterator(Generic[C]):
    """A sync iterator over a streamed answer; ``close()`` (or ``with``) ends the request.

    At most 64 chunks wait between the socket and the consumer (on top of the socket's own
    bounded channel), so a slow consumer slows the socket.
    """

    def __init__(self, stream: AsyncIterator[C], what: str = "stream") -> None:
        self._what = what
        self._it: Iterator[C] = bridge.iterate(stream, prefetch=64)

    def __repr__(self) -> str:
        return f"<ChunkIterator {self._what}>"

    def __iter__(self) -> ChunkIterator[C]:
        return self

    def __next__(self) -> C:
        return next(self._it)

    def close(self) -> None:
        close: Callable[[], None] | None = getattr(self._it, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> ChunkIterator[C]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sync(fn: Callable[Concatenate[Any, P], Awaitable[R]]) -> Callable[Concatenate[Any, P], R]:
    """The sync twin of an async face method: same name, signature and docstring."""
    name = fn.__name__

    @functools.wraps(fn)
    def method(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
        coroutine: Awaitable[R] = getattr(self._a, name)(*args, **kwargs)
        return wait(coroutine)

    return method


def _run(result: Awaitable[R] | ChunkStream[C]) -> R | ChunkIterator[C]:
    if isinstance(result, ChunkStream):
        return ChunkIterator(result, repr(result))
    return wait(result)


class _SyncFace:
    _a: core._Face

    def __repr__(self) -> str:
        return repr(self._a).replace("Async", "", 1)

    def close(self) -> None:
        """Close this face's connection (shared with its Api; the next call reconnects)."""
        wait(self._a.aclose())


class FlowInstance(_SyncFace):
    """The flow-scoped services of one flow (``api.flow().id("default")``, ``api.socket().flow("default")``)."""

    def __init__(self, inner: core.AsyncFlowInstance) -> None:
        self._a: core.AsyncFlowInstance = inner

    @property
    def id(self) -> str:
        return self._a.id

    @overload
    def text_completion(self, system: str, prompt: str, *, streaming: Literal[False] = False,
                        **kw: Unpack[sv.TextCompletionOptions]) -> Answer: ...
    @overload
    def text_completion(self, system: str, prompt: str, *, streaming: Literal[True],
                        **kw: Unpack[sv.TextCompletionOptions]) -> ChunkIterator[TextChunk]: ...
    @overload
    def text_completion(self, system: str, prompt: str, *, streaming: bool,
                        **kw: Unpack[sv.TextCompletionOptions]) -> Answer | ChunkIterator[TextChunk]: ...
    def text_completion(self, system: str, prompt: str, *, streaming: bool = False,
                        **kw: Unpack[sv.TextCompletionOptions]) -> Answer | ChunkIterator[TextChunk]:
        return _run(self._a.text_completion(system, prompt, streaming=streaming, **kw))

    @overload
    def prompt(self, id: str, variables: Mapping[str, Any] | None = None, *, streaming: Literal[False] = False,
               **kw: Unpack[sv.PromptOptions]) -> Answer: ...
    @overload
    def prompt(self, id: str, variables: Mapping[str, Any] | None = None, *, streaming: Literal[True],
               **kw: Unpack[sv.PromptOptions]) -> ChunkIterator[TextChunk]: ...
    @overload
    def prompt(self, id: str, variables: Mapping[str, Any] | None = None, *, streaming: bool,
               **kw: Unpack[sv.PromptOptions]) -> Answer | ChunkIterator[TextChunk]: ...
    def prompt(self, id: str, variables: Mapping[str, Any] | None = None, *, streaming: bool = False,
               **kw: Unpack[sv.PromptOptions]) -> Answer | ChunkIterator[TextChunk]:
        return _run(self._a.prompt(id, variables, streaming=streaming, **kw))

    @overload
    def agent(self, question: str, *, streaming: Literal[False] = False,
              **kw: Unpack[sv.AgentOptions]) -> Answer: ...
    @overload
    def agent(self, question: str, *, streaming: Literal[True],
              **kw: Unpack[sv.AgentOptions]) -> ChunkIterator[AgentChunk]: ...
    @overload
    def agent(self, question: str, *, streaming: bool,
              **kw: Unpack[sv.AgentOptions]) -> Answer | ChunkIterator[AgentChunk]: ...
    def agent(self, question: str, *, streaming: bool = False,
              **kw: Unpack[sv.AgentOptions]) -> Answer | ChunkIterator[AgentChunk]:
        return _run(self._a.agent(question, streaming=streaming, **kw))

    @overload
    def graph_rag(self, query: str, *, streaming: Literal[False] = False,
                  **kw: Unpack[sv.GraphRagOptions]) -> Answer: ...
    @overload
    def graph_rag(self, query: str, *, streaming: Literal[True],
                  **kw: Unpack[sv.GraphRagOptions]) -> ChunkIterator[RAGEvent]: ...
    @overload
    def graph_rag(self, query: str, *, streaming: bool,
                  **kw: Unpack[sv.GraphRagOptions]) -> Answer | ChunkIterator[RAGEvent]: ...
    def graph_rag(self, query: str, *, streaming: bool = False,
                  **kw: Unpack[sv.GraphRagOptions]) -> Answer | ChunkIterator[RAGEvent]:
        return _run(self._a.graph_rag(query, streaming=streaming, **kw))

    @overload
    def document_rag(self, query: str, *, streaming: Literal[False] = False,
                     **kw: Unpack[sv.DocumentRagOptions]) -> Answer: ...
    @overload
    def document_rag(self, query: str, *, streaming: Literal[True],
                     **kw: Unpack[sv.DocumentRagOptions]) -> ChunkIterator[RAGEvent]: ...
    @overload
    def document_rag(self, query: str, *, streaming: bool,
                     **kw: Unpack[sv.DocumentRagOptions]) -> Answer | ChunkIterator[RAGEvent]: ...
    def document_rag(self, query: str, *, streaming: bool = False,
                     **kw: Unpack[sv.DocumentRagOptions]) -> Answer | ChunkIterator[RAGEvent]:
        return _run(self._a.document_rag(query, streaming=streaming, **kw))

    @overload
    def triples_query(self, s: TermArg = None, p: TermArg = None, o: TermArg = None, g: str | None = None, *,
                      streaming: Literal[False] = False, **kw: Unpack[sv.QueryOptions]) -> TripleList: ...
    @overload
    def triples_query(self, s: TermArg = None, p: TermArg = None, o: TermArg = None, g: str | None = None, *,
                      streaming: Literal[True], **kw: Unpack[sv.QueryOptions]) -> ChunkIterator[TripleList]: ...
    @overload
    def triples_query(self, s: TermArg = None, p: TermArg = None, o: TermArg = None, g: str | None = None, *,
                      streaming: bool, **kw: Unpack[sv.QueryOptions]) -> TripleList | ChunkIterator[TripleList]: ...
    def triples_query(self, s: TermArg = None, p: TermArg = None, o: TermArg = None, g: str | None = None, *,
                      streaming: bool = False, **kw: Unpack[sv.QueryOptions]) -> TripleList | ChunkIterator[TripleList]:
        return _run(self._a.triples_query(s, p, o, g, streaming=streaming, **kw))

    @overload
    def sparql_query(self, query: str, *, streaming: Literal[False] = False,
                     **kw: Unpack[sv.QueryOptions]) -> SparqlResult: ...
    @overload
    def sparql_query(self, query: str, *, streaming: Literal[True],
                     **kw: Unpack[sv.QueryOptions]) -> ChunkIterator[SparqlResult]: ...
    @overload
    def sparql_query(self, query: str, *, streaming: bool,
                     **kw: Unpack[sv.QueryOptions]) -> SparqlResult | ChunkIterator[SparqlResult]: ...
    def sparql_query(self, query: str, *, streaming: bool = False,
                     **kw: Unpack[sv.QueryOptions]) -> SparqlResult | ChunkIterator[SparqlResult]:
        return _run(self._a.sparql_query(query, streaming=streaming, **kw))

    @overload
    def request(self, service: str, body: Mapping[str, Any], *,
                streaming: Literal[False] = False) -> Mapping[str, Any]: ...
    @overload
    def request(self, service: str, body: Mapping[str, Any], *,
                streaming: Literal[True]) -> ChunkIterator[Mapping[str, Any]]: ...
    @overload
    def request(self, service: str, body: Mapping[str, Any], *, streaming: bool
                ) -> Mapping[str, Any] | ChunkIterator[Mapping[str, Any]]: ...
    def request(self, service: str, body: Mapping[str, Any], *, streaming: bool = False
                ) -> Mapping[str, Any] | ChunkIterator[Mapping[str, Any]]:
        return _run(self._a.request(service, body, streaming=streaming))

    list_models = _sync(core.AsyncFlowInstance.list_models)
    embeddings = _sync(core.AsyncFlowInstance.embeddings)
    graph_embeddings_query = _sync(core.AsyncFlowInstance.graph_embeddings_query)
    document_embeddings_query = _sync(core.AsyncFlowInstance.document_embeddings_query)
    row_embeddings_query = _sync(core.AsyncFlowInstance.row_embeddings_query)
    rows_query = _sync(core.AsyncFlowInstance.rows_query)
    nlp_query = _sync(core.AsyncFlowInstance.nlp_query)
    structured_query = _sync(core.AsyncFlowInstance.structured_query)
    structured_diag = _sync(core.AsyncFlowInstance.structured_diag)
    mcp_tool = _sync(core.AsyncFlowInstance.mcp_tool)
    reranker = _sync(core.AsyncFlowInstance.reranker)
    image_to_text = _sync(core.AsyncFlowInstance.image_to_text)
    cloze = _sync(core.AsyncFlowInstance.cloze)
    decision_scoring = _sync(core.AsyncFlowInstance.decision_scoring)
    field_extraction = _sync(core.AsyncFlowInstance.field_extraction)


class Config(_SyncFace):
    """The configuration service (``api.config()``)."""

    def __init__(self, inner: core.AsyncConfig) -> None:
        self._a = inner

    get = _sync(core.AsyncConfig.get)
    put = _sync(core.AsyncConfig.put)
    delete = _sync(core.AsyncConfig.delete)
    list = _sync(core.AsyncConfig.list)
    get_values = _sync(core.AsyncConfig.get_values)
    get_values_all_workspaces = _sync(core.AsyncConfig.get_values_all_workspaces)
    all = _sync(core.AsyncConfig.all)


class Library(_SyncFace):
    """The librarian (``api.library()``)."""

    def __init__(self, inner: core.AsyncLibrary) -> None:
        self._a = inner

    add_document = _sync(core.AsyncLibrary.add_document)
    get_documents = _sync(core.AsyncLibrary.get_documents)
    get_document = _sync(core.AsyncLibrary.get_document)
    get_document_content = _sync(core.AsyncLibrary.get_document_content)
    update_document = _sync(core.AsyncLibrary.update_document)
    remove_document = _sync(core.AsyncLibrary.remove_document)
    start_processing = _sync(core.AsyncLibrary.start_processing)
    stop_processing = _sync(core.AsyncLibrary.stop_processing)
    get_processings = _sync(core.AsyncLibrary.get_processings)


class Knowledge(_SyncFace):
    """Knowledge cores (``api.knowledge()``); reading a core needs the socket."""

    def __init__(self, inner: core.AsyncKnowledge) -> None:
        self._a: core.AsyncKnowledge = inner

    @overload
    def get_kg_core(self, id: str, *, streaming: Literal[False] = False) -> KnowledgeCore: ...
    @overload
    def get_kg_core(self, id: str, *, streaming: Literal[True]) -> ChunkIterator[KnowledgeItem]: ...
    @overload
    def get_kg_core(self, id: str, *, streaming: bool) -> KnowledgeCore | ChunkIterator[KnowledgeItem]: ...
    def get_kg_core(self, id: str, *, streaming: bool = False) -> KnowledgeCore | ChunkIterator[KnowledgeItem]:
        return _run(self._a.get_kg_core(id, streaming=streaming))

    @overload
    def get_de_core(self, id: str, *, streaming: Literal[False] = False) -> KnowledgeCore: ...
    @overload
    def get_de_core(self, id: str, *, streaming: Literal[True]) -> ChunkIterator[KnowledgeItem]: ...
    @overload
    def get_de_core(self, id: str, *, streaming: bool) -> KnowledgeCore | ChunkIterator[KnowledgeItem]: ...
    def get_de_core(self, id: str, *, streaming: bool = False) -> KnowledgeCore | ChunkIterator[KnowledgeItem]:
        return _run(self._a.get_de_core(id, streaming=streaming))

    list_kg_cores = _sync(core.AsyncKnowledge.list_kg_cores)
    put_kg_core = _sync(core.AsyncKnowledge.put_kg_core)
    delete_kg_core = _sync(core.AsyncKnowledge.delete_kg_core)
    load_kg_core = _sync(core.AsyncKnowledge.load_kg_core)
    unload_kg_core = _sync(core.AsyncKnowledge.unload_kg_core)
    list_de_cores = _sync(core.AsyncKnowledge.list_de_cores)
    put_de_core = _sync(core.AsyncKnowledge.put_de_core)
    delete_de_core = _sync(core.AsyncKnowledge.delete_de_core)
    load_de_core = _sync(core.AsyncKnowledge.load_de_core)


class Collection(_SyncFace):
    """Collection management (``api.collection()``)."""

    def __init__(self, inner: core.AsyncCollection) -> None:
        self._a = inner

    list_collections = _sync(core.AsyncCollection.list_collections)
    update_collection = _sync(core.AsyncCollection.update_collection)
    delete_collection = _sync(core.AsyncCollection.delete_collection)


class Flow(_SyncFace):
    """One transport's entry point (``api.flow()`` over REST, ``api.socket()`` over the socket):
    flow management, a flow's services (``id(flow)`` or ``flow(flow)``), the global services."""

    def __init__(self, inner: core.AsyncFlow) -> None:
        self._a: core.AsyncFlow = inner

    def id(self, flow_id: str = "default") -> FlowInstance:
        return FlowInstance(self._a.id(flow_id))

    def flow(self, flow_id: str = "default") -> FlowInstance:
        return FlowInstance(self._a.flow(flow_id))

    def config(self) -> Config:
        return Config(self._a.config())

    def library(self) -> Library:
        return Library(self._a.library())

    def knowledge(self) -> Knowledge:
        return Knowledge(self._a.knowledge())

    def collection(self) -> Collection:
        return Collection(self._a.collection())

    @overload
    def request(self, service: str, body: Mapping[str, Any], *,
                streaming: Literal[False] = False) -> Mapping[str, Any]: ...
    @overload
    def request(self, service: str, body: Mapping[str, Any], *,
                streaming: Literal[True]) -> ChunkIterator[Mapping[str, Any]]: ...
    @overload
    def request(self, service: str, body: Mapping[str, Any], *, streaming: bool
                ) -> Mapping[str, Any] | ChunkIterator[Mapping[str, Any]]: ...
    def request(self, service: str, body: Mapping[str, Any], *, streaming: bool = False
                ) -> Mapping[str, Any] | ChunkIterator[Mapping[str, Any]]:
        return _run(self._a.request(service, body, streaming=streaming))

    list = _sync(core.AsyncFlow.list)
    get = _sync(core.AsyncFlow.get)
    start = _sync(core.AsyncFlow.start)
    stop = _sync(core.AsyncFlow.stop)
    list_blueprints = _sync(core.AsyncFlow.list_blueprints)
    get_blueprint = _sync(core.AsyncFlow.get_blueprint)
    put_blueprint = _sync(core.AsyncFlow.put_blueprint)
    delete_blueprint = _sync(core.AsyncFlow.delete_blueprint)


class SocketClient(Flow):
    """:class:`Flow` over the socket (``api.socket()``)."""


SocketFlowInstance = FlowInstance
