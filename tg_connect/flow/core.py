"""The async faces: every service as a method, implemented once over any transport.

``AsyncFlow`` is what ``Api.async_flow()`` (REST) and ``Api.async_socket()`` (the socket)
return; the two differ only in the transport they were given. Each method picks a builder
from :mod:`tg_connect.protocol.services` and hands the :class:`~tg_connect.protocol.services.Call`
to :meth:`Face._result` (non-streaming: await it) or :meth:`Face._stream` (streaming: an
async iterator of typed chunks). The non-streaming result is the collected stream.

Streaming methods return a :class:`ChunkStream` without awaiting: ``async for chunk in
flow.agent(q, streaming=True)``. ``await`` on it returns the stream itself, so ``async for
chunk in await flow.agent(q, streaming=True)`` works too. Closing it (``async with``, or
``aclose()``) ends the request at once; the timeout restarts at every chunk.

The methods between each class's registry markers are written by ``scripts/gen_faces.py`` from
the builders registered in :mod:`tg_connect.protocol.registry` (``@method(face)``); the others
do more than send one call and are written here. The sync faces (:mod:`.sync`) are generated
from this module. After changing a builder or a face, run ``python scripts/gen_faces.py`` (a
test fails until the files agree).
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Mapping, Sequence
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Literal,
    TypeVar,
    overload,
)

from ..errors import InputError, ServiceError
from ..protocol import services as sv
from ..protocol.replies import error_of
from ..protocol.services import TermArg
from ..protocol.terms import Triple
from ..types import (
    AgentChunk,
    AgentOptions,
    Answer,
    ChunkMatch,
    ClozeResult,
    CollectionMetadata,
    ConfigKey,
    ConfigSnapshot,
    ConfigValue,
    DocumentMetadata,
    DocumentRagOptions,
    EntityMatch,
    GraphRagOptions,
    IamUser,
    KnowledgeCore,
    KnowledgeItem,
    McpResult,
    ModelInfo,
    NlpQueryResult,
    ProcessingMetadata,
    PromptOptions,
    QueryOptions,
    RAGEvent,
    RerankResult,
    RowMatch,
    RowsResult,
    ScoringResult,
    SparqlResult,
    StructuredDiagResult,
    StructuredQueryResult,
    Table,
    TextChunk,
    TextCompletionOptions,
    TripleList,
)
from .transports import Transport

if TYPE_CHECKING:
    from typing_extensions import Unpack

C = TypeVar("C")
R = TypeVar("R")


class ChunkStream(Generic[C]):
    """An async iterator of typed chunks; the request is sent when iteration starts.

    Buffering is bounded: the socket reader stops while chunks wait unread, so a slow
    consumer slows the socket instead of growing memory.
    """

    def __init__(self, source: Callable[[], AsyncIterator[C]], what: str = "stream") -> None:
        self._source = source
        self._what = what
        self._it: AsyncIterator[C] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<ChunkStream {self._what}>"

    def __aiter__(self) -> ChunkStream[C]:
        return self

    async def __anext__(self) -> C:
        if self._it is None:
            if self._closed:
                raise StopAsyncIteration
            self._it = self._source()
        return await self._it.__anext__()

    async def aclose(self) -> None:
        """End the request (a socket request is abandoned; its slot is freed)."""
        self._closed = True
        it, self._it = self._it, None
        aclose = getattr(it, "aclose", None)
        if aclose is not None:
            await aclose()

    def __await__(self) -> Generator[Any, None, ChunkStream[C]]:
        async def itself() -> ChunkStream[C]:
            return self

        return itself().__await__()

    async def __aenter__(self) -> ChunkStream[C]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _has_error(response: Mapping[str, Any]) -> bool:
    """Whether a reply carries an ``error`` (string or object), as :func:`error_of` decides."""
    if type(response) is dict:
        err = response.get("error")
        return err is not None and err != {} and err != ""
    return error_of(response) is not None


class Face:
    """Runs calls over a transport; ``flow`` is the flow id for flow-scoped services."""

    def __init__(self, transport: Transport, flow: str | None = None) -> None:
        self._transport = transport
        self._flow = flow

    def __repr__(self) -> str:
        where = f", flow={self._flow!r}" if self._flow is not None else ""
        return f"{type(self).__name__}({self._transport!r}{where})"

    @property
    def transport(self) -> Transport:
        return self._transport

    def _start(self, call: sv.Call[Any, Any]) -> AsyncIterator[Mapping[str, Any]]:
        """The reply frames of ``call``, after the checks made before anything is sent."""
        spec = call.service
        if call.needs_every_frame and not self._transport.every_frame:
            raise InputError(
                f"{spec.name} {call.operation or ''}".rstrip() + " answers in several frames and REST returns"
                " only the last one; use api.socket() or api.async_socket()"
            )
        flow = self._flow if spec.scope == "flow" else None
        if spec.scope == "flow" and not flow:
            raise InputError(f"{spec.name} is a flow service: call it on a flow (api.flow().id('default'))")
        return self._transport.frames(spec.name, call.wire_body(self._transport.every_frame), flow=flow)

    async def _chunks(self, call: sv.Call[C, Any]) -> AsyncIterator[C]:
        frames = self._start(call)
        try:
            async for response in frames:
                if _has_error(response):
                    if call.on_error is not None:
                        for chunk in call.on_error(response):
                            yield chunk
                    raise sv.service_error(call.service.name, response)
                for chunk in call.parse(response):
                    yield chunk
        finally:
            await frames.aclose()  # type: ignore[attr-defined]

    async def _result(self, call: sv.Call[Any, R]) -> R:
        chunks: list[Any] = []
        frames = self._start(call)
        try:
            async for response in frames:
                if _has_error(response):
                    raise sv.service_error(call.service.name, response)
                chunks.extend(call.parse(response))
                if getattr(frames, "done", False):  # the socket's final frame: no need to ask for more
                    break
        finally:
            await frames.aclose()  # type: ignore[attr-defined]
        return call.collect(chunks)

    def _stream(self, call: sv.Call[C, Any]) -> ChunkStream[C]:
        return ChunkStream(lambda: self._chunks(call), call.service.name)

    def _dispatch(self, call: sv.Call[C, R]) -> Awaitable[R] | ChunkStream[C]:
        return self._stream(call) if call.streaming else self._result(call)

    async def aclose(self) -> None:
        """Close this face's transport (the connection it shares with its Api)."""
        await self._transport.aclose()


class AsyncFlowInstance(Face):
    """The flow-scoped services of one flow (``api.async_flow().id("default")``)."""

    @property
    def id(self) -> str:
        assert self._flow is not None
        return self._flow

    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --
    @overload
    def text_completion(
        self, system: str, prompt: str, *, streaming: Literal[False] = False, **kw: Unpack[TextCompletionOptions]
    ) -> Awaitable[Answer]: ...
    @overload
    def text_completion(
        self, system: str, prompt: str, *, streaming: Literal[True], **kw: Unpack[TextCompletionOptions]
    ) -> ChunkStream[TextChunk]: ...
    @overload
    def text_completion(
        self, system: str, prompt: str, *, streaming: bool, **kw: Unpack[TextCompletionOptions]
    ) -> Awaitable[Answer] | ChunkStream[TextChunk]: ...
    def text_completion(
        self, system: str, prompt: str, *, streaming: bool = False, **kw: Unpack[TextCompletionOptions]
    ) -> Awaitable[Answer] | ChunkStream[TextChunk]:
        """The flow's LLM: an :class:`Answer` (a str with usage), or :class:`TextChunk` s."""
        return self._dispatch(sv.text_completion(system, prompt, streaming=streaming, **kw))

    async def list_models(self) -> list[ModelInfo]:
        """The models of the flow's LLM (text-completion ``list-models``)."""
        return await self._result(sv.list_models())

    @overload
    def prompt(
        self,
        id: str,
        variables: Mapping[str, Any] | None = None,
        *,
        streaming: Literal[False] = False,
        **kw: Unpack[PromptOptions],
    ) -> Awaitable[Answer]: ...
    @overload
    def prompt(
        self,
        id: str,
        variables: Mapping[str, Any] | None = None,
        *,
        streaming: Literal[True],
        **kw: Unpack[PromptOptions],
    ) -> ChunkStream[TextChunk]: ...
    @overload
    def prompt(
        self, id: str, variables: Mapping[str, Any] | None = None, *, streaming: bool, **kw: Unpack[PromptOptions]
    ) -> Awaitable[Answer] | ChunkStream[TextChunk]: ...
    def prompt(
        self,
        id: str,
        variables: Mapping[str, Any] | None = None,
        *,
        streaming: bool = False,
        **kw: Unpack[PromptOptions],
    ) -> Awaitable[Answer] | ChunkStream[TextChunk]:
        """A prompt template; a JSON template's value is ``answer.object``.

        ``variables`` are any JSON values; ``terms`` are already JSON-encoded strings."""
        return self._dispatch(sv.prompt(id, variables, streaming=streaming, **kw))

    @overload
    def agent(
        self, question: str, *, streaming: Literal[False] = False, **kw: Unpack[AgentOptions]
    ) -> Awaitable[Answer]: ...
    @overload
    def agent(
        self, question: str, *, streaming: Literal[True], **kw: Unpack[AgentOptions]
    ) -> ChunkStream[AgentChunk]: ...
    @overload
    def agent(
        self, question: str, *, streaming: bool, **kw: Unpack[AgentOptions]
    ) -> Awaitable[Answer] | ChunkStream[AgentChunk]: ...
    def agent(
        self, question: str, *, streaming: bool = False, **kw: Unpack[AgentOptions]
    ) -> Awaitable[Answer] | ChunkStream[AgentChunk]:
        """The agent: an :class:`Answer` (with ``thoughts``, ``observations``, ``explain``), or
        AgentThought / AgentObservation / AgentAnswer / ExplainEvent chunks."""
        return self._dispatch(sv.agent(question, streaming=streaming, **kw))

    @overload
    def graph_rag(
        self, query: str, *, streaming: Literal[False] = False, **kw: Unpack[GraphRagOptions]
    ) -> Awaitable[Answer]: ...
    @overload
    def graph_rag(
        self, query: str, *, streaming: Literal[True], **kw: Unpack[GraphRagOptions]
    ) -> ChunkStream[RAGEvent]: ...
    @overload
    def graph_rag(
        self, query: str, *, streaming: bool, **kw: Unpack[GraphRagOptions]
    ) -> Awaitable[Answer] | ChunkStream[RAGEvent]: ...
    def graph_rag(
        self, query: str, *, streaming: bool = False, **kw: Unpack[GraphRagOptions]
    ) -> Awaitable[Answer] | ChunkStream[RAGEvent]:
        """Graph RAG: an :class:`Answer` (with ``sources``, ``explain``), or RAGChunk / ExplainEvent.

        ``collection`` defaults to ``"default"``; limits left out take the gateway's defaults."""
        return self._dispatch(sv.graph_rag(query, streaming=streaming, **kw))

    @overload
    def document_rag(
        self, query: str, *, streaming: Literal[False] = False, **kw: Unpack[DocumentRagOptions]
    ) -> Awaitable[Answer]: ...
    @overload
    def document_rag(
        self, query: str, *, streaming: Literal[True], **kw: Unpack[DocumentRagOptions]
    ) -> ChunkStream[RAGEvent]: ...
    @overload
    def document_rag(
        self, query: str, *, streaming: bool, **kw: Unpack[DocumentRagOptions]
    ) -> Awaitable[Answer] | ChunkStream[RAGEvent]: ...
    def document_rag(
        self, query: str, *, streaming: bool = False, **kw: Unpack[DocumentRagOptions]
    ) -> Awaitable[Answer] | ChunkStream[RAGEvent]:
        """Document RAG: an :class:`Answer`, or RAGChunk / ExplainEvent chunks."""
        return self._dispatch(sv.document_rag(query, streaming=streaming, **kw))

    async def embeddings(self, texts: str | Sequence[str]) -> list[list[float]]:
        """One vector per text (a single string gives a one-vector list)."""
        return await self._result(sv.embeddings(texts))

    @overload
    def triples_query(
        self,
        s: TermArg = None,
        p: TermArg = None,
        o: TermArg = None,
        g: str | None = None,
        *,
        streaming: Literal[False] = False,
        **kw: Unpack[QueryOptions],
    ) -> Awaitable[TripleList]: ...
    @overload
    def triples_query(
        self,
        s: TermArg = None,
        p: TermArg = None,
        o: TermArg = None,
        g: str | None = None,
        *,
        streaming: Literal[True],
        **kw: Unpack[QueryOptions],
    ) -> ChunkStream[TripleList]: ...
    @overload
    def triples_query(
        self,
        s: TermArg = None,
        p: TermArg = None,
        o: TermArg = None,
        g: str | None = None,
        *,
        streaming: bool,
        **kw: Unpack[QueryOptions],
    ) -> Awaitable[TripleList] | ChunkStream[TripleList]: ...
    def triples_query(
        self,
        s: TermArg = None,
        p: TermArg = None,
        o: TermArg = None,
        g: str | None = None,
        *,
        streaming: bool = False,
        **kw: Unpack[QueryOptions],
    ) -> Awaitable[TripleList] | ChunkStream[TripleList]:
        """Triples matching a pattern: a :class:`TripleList` (``.to_arrow()``), or one per batch.

        A string is an IRI as ``s`` or ``p`` (``p`` an absolute one: pass ``Term.iri`` for a relative
        IRI), its kind guessed as ``o``; a ``Term`` says the kind.
        ``g``: ``None`` the default graph, ``"*"`` every graph, or a graph IRI.
        ``collection`` defaults to ``"default"``, ``limit`` to 10000 (at most 2**31-1)."""
        return self._dispatch(sv.triples_query(s, p, o, g, streaming=streaming, **kw))

    @overload
    def sparql_query(
        self, query: str, *, streaming: Literal[False] = False, **kw: Unpack[QueryOptions]
    ) -> Awaitable[SparqlResult]: ...
    @overload
    def sparql_query(
        self, query: str, *, streaming: Literal[True], **kw: Unpack[QueryOptions]
    ) -> ChunkStream[SparqlResult]: ...
    @overload
    def sparql_query(
        self, query: str, *, streaming: bool, **kw: Unpack[QueryOptions]
    ) -> Awaitable[SparqlResult] | ChunkStream[SparqlResult]: ...
    def sparql_query(
        self, query: str, *, streaming: bool = False, **kw: Unpack[QueryOptions]
    ) -> Awaitable[SparqlResult] | ChunkStream[SparqlResult]:
        """A SPARQL query: a :class:`SparqlResult` (``.to_arrow()``), or one per batch."""
        return self._dispatch(sv.sparql_query(query, streaming=streaming, **kw))

    async def rows_query(
        self,
        query: str,
        *,
        collection: str | None = "default",
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> RowsResult:
        """A GraphQL query over structured rows (``.to_arrow()``)."""
        return await self._result(
            sv.rows_query(query, collection=collection, variables=variables, operation_name=operation_name)
        )

    async def nlp_query(self, question: str, *, max_results: int = 100) -> NlpQueryResult:
        """A question turned into a GraphQL query."""
        return await self._result(sv.nlp_query(question, max_results=max_results))

    async def structured_query(self, question: str, *, collection: str | None = "default") -> StructuredQueryResult:
        """A question answered from structured data."""
        return await self._result(sv.structured_query(question, collection=collection))

    async def structured_diag(
        self,
        operation: str,
        sample: str,
        *,
        type: str | None = None,
        schema_name: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> StructuredDiagResult:
        """``detect-type``, ``generate-descriptor``, ``diagnose`` or ``schema-selection`` on a sample."""
        return await self._result(
            sv.structured_diag(operation, sample, type=type, schema_name=schema_name, options=options)
        )

    async def mcp_tool(self, name: str, parameters: Mapping[str, Any] | None = None) -> McpResult:
        return await self._result(sv.mcp_tool(name, parameters))

    async def reranker(
        self, query: str, documents: Sequence[str] | Mapping[str, str], *, limit: int | None = None
    ) -> Table[RerankResult]:
        """``documents`` (texts, ids ``d0``, ``d1``...; or ids to texts) ranked against ``query``.

        Rank ``documents`` (texts, or ids to texts) against ``query`` (its id is ``q0``)."""
        return await self._result(sv.reranker(query, documents, limit=limit))

    async def image_to_text(
        self, image: bytes, mime_type: str, *, prompt: str | None = None, system: str | None = None
    ) -> Answer:
        return await self._result(sv.image_to_text(image, mime_type, prompt=prompt, system=system))

    async def cloze(
        self, query: str | None = None, *, model: str | None = None, operation: str = "predict"
    ) -> ClozeResult:
        return await self._result(sv.cloze(query, model=model, operation=operation))

    async def decision_scoring(self, state: Mapping[str, Any], questions: Mapping[str, Any]) -> ScoringResult:
        return await self._result(sv.decision_scoring(state, questions))

    async def field_extraction(self, state: Mapping[str, Any], fields: Mapping[str, Any]) -> ScoringResult:
        return await self._result(sv.field_extraction(state, fields))

    # -- end of the registry's methods --

    # -- vector queries: a text is embedded first ----------------------------------------------

    async def _vector(self, text: str | None, vector: Sequence[float] | None) -> Sequence[float]:
        if (text is None) == (vector is None):
            raise InputError("pass text (embedded first with the flow's model) or vector, not both")
        if vector is not None:
            return vector
        assert text is not None
        return (await self.embeddings([text]))[0]

    async def graph_embeddings_query(
        self,
        text: str | None = None,
        *,
        vector: Sequence[float] | None = None,
        limit: int = 10,
        collection: str | None = "default",
    ) -> Table[EntityMatch]:
        """Graph entities nearest to ``text`` (embedded first) or ``vector``."""
        return await self._result(
            sv.graph_embeddings_query(await self._vector(text, vector), limit=limit, collection=collection)
        )

    async def document_embeddings_query(
        self,
        text: str | None = None,
        *,
        vector: Sequence[float] | None = None,
        limit: int = 10,
        collection: str | None = "default",
    ) -> Table[ChunkMatch]:
        """Document chunks nearest to ``text`` (embedded first) or ``vector``."""
        return await self._result(
            sv.document_embeddings_query(await self._vector(text, vector), limit=limit, collection=collection)
        )

    async def row_embeddings_query(
        self,
        text: str | None = None,
        *,
        schema_name: str,
        vector: Sequence[float] | None = None,
        index_name: str | None = None,
        limit: int = 10,
        collection: str | None = "default",
    ) -> Table[RowMatch]:
        """Rows of ``schema_name`` nearest to ``text`` (embedded first) or ``vector``."""
        return await self._result(
            sv.row_embeddings_query(
                await self._vector(text, vector),
                schema_name=schema_name,
                index_name=index_name,
                limit=limit,
                collection=collection,
            )
        )

    # -- anything else ----------------------------------------------------------------------------

    @overload
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: Literal[False] = False
    ) -> Awaitable[Mapping[str, Any]]: ...
    @overload
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: Literal[True]
    ) -> ChunkStream[Mapping[str, Any]]: ...
    @overload
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: bool
    ) -> Awaitable[Mapping[str, Any]] | ChunkStream[Mapping[str, Any]]: ...
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: bool = False
    ) -> Awaitable[Mapping[str, Any]] | ChunkStream[Mapping[str, Any]]:
        """Any flow service with a raw body: the final reply, or every reply when streaming.

        Errors raise as for the typed methods, including the dropped-error check. Before
        anything is sent, ``body`` must encode as JSON and carry the fields the typed method of
        the service sends (``graph-rag`` a ``query``...): an :class:`InputError` names the one at fault.
        """
        return self._dispatch(sv.generic(service, body, scope="flow", streaming=streaming))


class AsyncConfig(Face):
    """The configuration service (``config``)."""

    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --
    async def get(self, keys: Iterable[ConfigKey | tuple[str, str]]) -> builtins.list[ConfigValue]:
        """Values of ``keys``; a missing key's value is ``None``.

        Values of ``keys`` (a missing key's value is None)."""
        return await self._result(sv.config_get(keys))

    async def put(self, values: Iterable[ConfigValue | tuple[str, str, str]]) -> None:
        """Every value must be a string: the config service fails silently on anything else."""
        await self._result(sv.config_put(values))

    async def delete(self, keys: Iterable[ConfigKey | tuple[str, str]]) -> None:
        await self._result(sv.config_delete(keys))

    async def list(self, type: str) -> builtins.list[str]:
        """The keys of one type."""
        return await self._result(sv.config_list(type))

    async def all(self) -> ConfigSnapshot:
        """``(config, version)``: every type's keys and values, and the config version."""
        return await self._result(sv.config_all())

    # -- end of the registry's methods --

    async def get_values(self, type: str) -> builtins.list[ConfigValue]:
        return await self._result(sv.config_values(type))

    async def get_values_all_workspaces(self, type: str) -> builtins.list[ConfigValue]:
        return await self._result(sv.config_values(type, all_workspaces=True))


class AsyncLibrary(Face):
    """The librarian: documents and their processing."""

    async def add_document(
        self,
        document: bytes,
        id: str,
        *,
        title: str = "",
        comments: str = "",
        kind: str = "text/plain",
        tags: Sequence[str] = (),
        metadata: Iterable[Triple] | None = None,
    ) -> None:
        await self._result(
            sv.add_document(document, id, title=title, comments=comments, kind=kind, tags=tags, metadata=metadata)
        )

    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --
    async def update_document(
        self,
        id: str,
        *,
        title: str | None = None,
        comments: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Iterable[Triple] | None = None,
    ) -> None:
        await self._result(sv.update_document(id, title=title, comments=comments, tags=tags, metadata=metadata))

    async def get_documents(self, include_children: bool = False) -> list[DocumentMetadata]:
        return await self._result(sv.list_documents(include_children))

    async def get_document(self, id: str) -> DocumentMetadata:
        return await self._result(sv.get_document(id))

    async def get_document_content(self, id: str) -> bytes:
        return await self._result(sv.get_document_content(id))

    async def remove_document(self, id: str) -> None:
        await self._result(sv.remove_document(id))

    async def stop_processing(self, id: str) -> None:
        await self._result(sv.stop_processing(id))

    async def get_processings(self) -> list[ProcessingMetadata]:
        return await self._result(sv.list_processing())

    # -- end of the registry's methods --

    async def start_processing(
        self, id: str, document_id: str, *, flow: str = "default", collection: str = "default", tags: Sequence[str] = ()
    ) -> None:
        await self._result(sv.start_processing(id, document_id, flow=flow, collection=collection, tags=tags))


class AsyncKnowledge(Face):
    """Knowledge cores. Reading a core spans several frames: it needs the socket."""

    async def list_kg_cores(self) -> list[str]:
        return await self._result(sv.list_cores("kg"))

    @overload
    def get_kg_core(self, id: str, *, streaming: Literal[False] = False) -> Awaitable[KnowledgeCore]: ...
    @overload
    def get_kg_core(self, id: str, *, streaming: Literal[True]) -> ChunkStream[KnowledgeItem]: ...
    @overload
    def get_kg_core(self, id: str, *, streaming: bool) -> Awaitable[KnowledgeCore] | ChunkStream[KnowledgeItem]: ...
    def get_kg_core(self, id: str, *, streaming: bool = False) -> Awaitable[KnowledgeCore] | ChunkStream[KnowledgeItem]:
        """The core's items (triples, graph embeddings, library documents)."""
        return self._dispatch(sv.get_core(id, kind="kg", streaming=streaming))

    async def put_kg_core(
        self, id: str, *, triples: Mapping[str, Any] | None = None, graph_embeddings: Mapping[str, Any] | None = None
    ) -> None:
        """One item in wire form: ``{"metadata": {"id", "collection"}, "triples": [...]}`` or
        ``{"metadata": ..., "entities": [{"entity", "vector"}]}``."""
        await self._result(sv.put_core(id, triples=triples, graph_embeddings=graph_embeddings))

    async def delete_kg_core(self, id: str) -> None:
        await self._result(sv.delete_core(id))

    async def load_kg_core(self, id: str, *, flow: str = "default", collection: str = "default") -> None:
        await self._result(sv.load_core(id, flow=flow, collection=collection))

    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --
    async def unload_kg_core(self, id: str, *, flow: str = "default") -> None:
        await self._result(sv.unload_core(id, flow=flow))

    # -- end of the registry's methods --

    async def list_de_cores(self) -> list[str]:
        return await self._result(sv.list_cores("de"))

    @overload
    def get_de_core(self, id: str, *, streaming: Literal[False] = False) -> Awaitable[KnowledgeCore]: ...
    @overload
    def get_de_core(self, id: str, *, streaming: Literal[True]) -> ChunkStream[KnowledgeItem]: ...
    @overload
    def get_de_core(self, id: str, *, streaming: bool) -> Awaitable[KnowledgeCore] | ChunkStream[KnowledgeItem]: ...
    def get_de_core(self, id: str, *, streaming: bool = False) -> Awaitable[KnowledgeCore] | ChunkStream[KnowledgeItem]:
        return self._dispatch(sv.get_core(id, kind="de", streaming=streaming))

    async def put_de_core(self, id: str, *, document_embeddings: Mapping[str, Any]) -> None:
        await self._result(sv.put_core(id, kind="de", document_embeddings=document_embeddings))

    async def delete_de_core(self, id: str) -> None:
        await self._result(sv.delete_core(id, "de"))

    async def load_de_core(self, id: str, *, flow: str = "default", collection: str = "default") -> None:
        await self._result(sv.load_core(id, kind="de", flow=flow, collection=collection))


class AsyncCollection(Face):
    """Collection management."""

    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --
    async def list_collections(
        self, tag_filter: Sequence[str] | None = None, limit: int | None = None
    ) -> list[CollectionMetadata]:
        return await self._result(sv.list_collections(tag_filter, limit))

    async def update_collection(
        self,
        collection: str,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> CollectionMetadata:
        """Create or update a collection."""
        return await self._result(sv.update_collection(collection, name=name, description=description, tags=tags))

    async def delete_collection(self, collection: str) -> None:
        await self._result(sv.delete_collection(collection))

    # -- end of the registry's methods --


class AsyncIam(Face):
    """The IAM service (``iam``): who the caller is, and the deployment's users."""

    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --
    async def whoami(self) -> IamUser:
        """The user the gateway takes the caller's token for."""
        return await self._result(sv.whoami())

    async def list_users(self) -> list[IamUser]:
        """Every user of the deployment."""
        return await self._result(sv.list_users())

    # -- end of the registry's methods --


class AsyncFlow(Face):
    """One transport's entry point: flow management, flows, and the global services.

    ``api.async_flow()`` gives it over REST and ``api.async_socket()`` over the socket, with
    the same methods: ``id(flow)``/``flow(flow)`` a flow's services; ``list``, ``get``,
    ``start``, ``stop`` and the blueprint methods; ``config()``, ``library()``,
    ``knowledge()``, ``collection()``, ``iam()``; ``request()`` for anything else.
    """

    def id(self, flow_id: str = "default") -> AsyncFlowInstance:
        """The services of flow ``flow_id`` (upstream's ``api.flow().id(...)``)."""
        return AsyncFlowInstance(self._transport, sv.check_str("flow id", flow_id))

    def flow(self, flow_id: str = "default") -> AsyncFlowInstance:
        """The services of flow ``flow_id`` (upstream's ``api.socket().flow(...)``)."""
        return self.id(flow_id)

    def config(self) -> AsyncConfig:
        return AsyncConfig(self._transport)

    def library(self) -> AsyncLibrary:
        return AsyncLibrary(self._transport)

    def knowledge(self) -> AsyncKnowledge:
        return AsyncKnowledge(self._transport)

    def collection(self) -> AsyncCollection:
        return AsyncCollection(self._transport)

    def iam(self) -> AsyncIam:
        return AsyncIam(self._transport)

    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --
    async def list(self) -> builtins.list[str]:
        """The ids of the running flows."""
        return await self._result(sv.flow_list())

    async def get(self, id: str) -> dict[str, Any]:
        """A flow's record (blueprint, description, parameters, interfaces)."""
        return await self._result(sv.flow_get(id))

    async def list_blueprints(self) -> builtins.list[str]:
        return await self._result(sv.blueprint_list())

    async def get_blueprint(self, name: str) -> dict[str, Any]:
        return await self._result(sv.blueprint_get(name))

    async def put_blueprint(self, name: str, definition: Mapping[str, Any] | str) -> None:
        await self._result(sv.blueprint_put(name, definition))

    async def delete_blueprint(self, name: str) -> None:
        await self._result(sv.blueprint_delete(name))

    # -- end of the registry's methods --

    async def start(
        self, blueprint_name: str, id: str, description: str = "", parameters: Mapping[str, str] | None = None
    ) -> None:
        """Start flow ``id`` from a blueprint.

        The gateway drops flow errors, so this checks first that ``id`` is not running and the
        blueprint exists, and afterwards that the flow is listed.
        """
        call = sv.flow_start(blueprint_name, id, description, parameters)
        if id in await self.list():
            raise ServiceError("flow", "flow-exists", f"flow {id!r} is already running")
        if blueprint_name not in await self.list_blueprints():
            raise ServiceError("flow", "unknown-blueprint", f"no blueprint {blueprint_name!r}")
        await self._result(call)
        if id not in await self.list():
            raise ServiceError(
                "flow",
                "missing-field",
                f"start-flow {id!r} did not take effect: the flow is not"
                " listed afterwards, and the gateway drops flow errors, so it gives no reason",
            )

    async def stop(self, id: str) -> None:
        """Stop flow ``id`` (checked to be running first: the gateway drops flow errors)."""
        call = sv.flow_stop(id)
        if id not in await self.list():
            raise ServiceError("flow", "unknown-flow", f"flow {id!r} is not running")
        await self._result(call)

    @overload
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: Literal[False] = False
    ) -> Awaitable[Mapping[str, Any]]: ...
    @overload
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: Literal[True]
    ) -> ChunkStream[Mapping[str, Any]]: ...
    @overload
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: bool
    ) -> Awaitable[Mapping[str, Any]] | ChunkStream[Mapping[str, Any]]: ...
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: bool = False
    ) -> Awaitable[Mapping[str, Any]] | ChunkStream[Mapping[str, Any]]:
        """Any global service (``config``, ``flow``, ``librarian``, ``knowledge``,
        ``collection-management``, ``iam``) with a raw body carrying ``operation``.

        Checked before sending as the flow services' ``request`` is: JSON, and the fields the
        typed method of that operation sends (``config`` ``list`` a ``type``...).
        """
        return self._dispatch(sv.generic(service, body, scope="global", streaming=streaming))


class AsyncSocketClient(AsyncFlow):
    """:class:`AsyncFlow` over the socket (``api.async_socket()``)."""


AsyncSocketFlowInstance = AsyncFlowInstance
