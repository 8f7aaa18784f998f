# Generated from tg_connect/flow/core.py by scripts/gen_sync.py; do not edit.
# Change the async face there, then run: python scripts/gen_faces.py
"""The sync faces: the async faces of :mod:`.core` run on tg_connect's one background loop.

Every method has the signature of its async twin and returns what the coroutine returns;
streaming methods return a :class:`ChunkIterator`. Calls go through
:mod:`tg_connect.transport.bridge`, so they work from any number of threads and inside a
running event loop (Jupyter), and a streamed answer crosses threads through a bounded
queue (a slow consumer slows the socket, it does not grow memory).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from ..protocol.services import TermArg
from ..protocol.terms import Triple
from ..transport import bridge
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
from . import core
from .blocking import ChunkIterator, run_or_iterate

if TYPE_CHECKING:
    from typing_extensions import Unpack


class SyncFace:
    """What every sync face has: its async twin ``_a``, a repr and ``close()``."""

    def __init__(self, inner: core.Face) -> None:
        self._a: core.Face = inner

    def __repr__(self) -> str:
        return repr(self._a).replace("Async", "", 1)

    def close(self) -> None:
        """Close this face's transport (the connection it shares with its Api)."""
        bridge.run(self._a.aclose())


class FlowInstance(SyncFace):
    """The flow-scoped services of one flow (``api.flow().id("default")``)."""

    def __init__(self, inner: core.AsyncFlowInstance) -> None:
        self._a: core.AsyncFlowInstance = inner

    @property
    def id(self) -> str:
        return self._a.id

    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --

    @overload
    def text_completion(
        self, system: str, prompt: str, *, streaming: Literal[False] = False, **kw: Unpack[TextCompletionOptions]
    ) -> Answer: ...
    @overload
    def text_completion(
        self, system: str, prompt: str, *, streaming: Literal[True], **kw: Unpack[TextCompletionOptions]
    ) -> ChunkIterator[TextChunk]: ...
    @overload
    def text_completion(
        self, system: str, prompt: str, *, streaming: bool, **kw: Unpack[TextCompletionOptions]
    ) -> Answer | ChunkIterator[TextChunk]: ...
    def text_completion(
        self, system: str, prompt: str, *, streaming: bool = False, **kw: Unpack[TextCompletionOptions]
    ) -> Answer | ChunkIterator[TextChunk]:
        """The flow's LLM: an :class:`Answer` (a str with usage), or :class:`TextChunk` s."""
        return run_or_iterate(self._a.text_completion(system, prompt, streaming=streaming, **kw))

    def list_models(self) -> list[ModelInfo]:
        """The models of the flow's LLM (text-completion ``list-models``)."""
        return bridge.run(self._a.list_models())

    @overload
    def prompt(
        self,
        id: str,
        variables: Mapping[str, Any] | None = None,
        *,
        streaming: Literal[False] = False,
        **kw: Unpack[PromptOptions],
    ) -> Answer: ...
    @overload
    def prompt(
        self,
        id: str,
        variables: Mapping[str, Any] | None = None,
        *,
        streaming: Literal[True],
        **kw: Unpack[PromptOptions],
    ) -> ChunkIterator[TextChunk]: ...
    @overload
    def prompt(
        self, id: str, variables: Mapping[str, Any] | None = None, *, streaming: bool, **kw: Unpack[PromptOptions]
    ) -> Answer | ChunkIterator[TextChunk]: ...
    def prompt(
        self,
        id: str,
        variables: Mapping[str, Any] | None = None,
        *,
        streaming: bool = False,
        **kw: Unpack[PromptOptions],
    ) -> Answer | ChunkIterator[TextChunk]:
        """A prompt template; a JSON template's value is ``answer.object``.

        ``variables`` are any JSON values; ``terms`` are already JSON-encoded strings."""
        return run_or_iterate(self._a.prompt(id, variables, streaming=streaming, **kw))

    @overload
    def agent(self, question: str, *, streaming: Literal[False] = False, **kw: Unpack[AgentOptions]) -> Answer: ...
    @overload
    def agent(
        self, question: str, *, streaming: Literal[True], **kw: Unpack[AgentOptions]
    ) -> ChunkIterator[AgentChunk]: ...
    @overload
    def agent(
        self, question: str, *, streaming: bool, **kw: Unpack[AgentOptions]
    ) -> Answer | ChunkIterator[AgentChunk]: ...
    def agent(
        self, question: str, *, streaming: bool = False, **kw: Unpack[AgentOptions]
    ) -> Answer | ChunkIterator[AgentChunk]:
        """The agent: an :class:`Answer` (with ``thoughts``, ``observations``, ``explain``), or
        AgentThought / AgentObservation / AgentAnswer / ExplainEvent chunks."""
        return run_or_iterate(self._a.agent(question, streaming=streaming, **kw))

    @overload
    def graph_rag(self, query: str, *, streaming: Literal[False] = False, **kw: Unpack[GraphRagOptions]) -> Answer: ...
    @overload
    def graph_rag(
        self, query: str, *, streaming: Literal[True], **kw: Unpack[GraphRagOptions]
    ) -> ChunkIterator[RAGEvent]: ...
    @overload
    def graph_rag(
        self, query: str, *, streaming: bool, **kw: Unpack[GraphRagOptions]
    ) -> Answer | ChunkIterator[RAGEvent]: ...
    def graph_rag(
        self, query: str, *, streaming: bool = False, **kw: Unpack[GraphRagOptions]
    ) -> Answer | ChunkIterator[RAGEvent]:
        """Graph RAG: an :class:`Answer` (with ``sources``, ``explain``), or RAGChunk / ExplainEvent.

        ``collection`` defaults to ``"default"``; limits left out take the gateway's defaults."""
        return run_or_iterate(self._a.graph_rag(query, streaming=streaming, **kw))

    @overload
    def document_rag(
        self, query: str, *, streaming: Literal[False] = False, **kw: Unpack[DocumentRagOptions]
    ) -> Answer: ...
    @overload
    def document_rag(
        self, query: str, *, streaming: Literal[True], **kw: Unpack[DocumentRagOptions]
    ) -> ChunkIterator[RAGEvent]: ...
    @overload
    def document_rag(
        self, query: str, *, streaming: bool, **kw: Unpack[DocumentRagOptions]
    ) -> Answer | ChunkIterator[RAGEvent]: ...
    def document_rag(
        self, query: str, *, streaming: bool = False, **kw: Unpack[DocumentRagOptions]
    ) -> Answer | ChunkIterator[RAGEvent]:
        """Document RAG: an :class:`Answer`, or RAGChunk / ExplainEvent chunks."""
        return run_or_iterate(self._a.document_rag(query, streaming=streaming, **kw))

    def embeddings(self, texts: str | Sequence[str]) -> list[list[float]]:
        """One vector per text (a single string gives a one-vector list)."""
        return bridge.run(self._a.embeddings(texts))

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
    ) -> TripleList: ...
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
    ) -> ChunkIterator[TripleList]: ...
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
    ) -> TripleList | ChunkIterator[TripleList]: ...
    def triples_query(
        self,
        s: TermArg = None,
        p: TermArg = None,
        o: TermArg = None,
        g: str | None = None,
        *,
        streaming: bool = False,
        **kw: Unpack[QueryOptions],
    ) -> TripleList | ChunkIterator[TripleList]:
        """Triples matching a pattern: a :class:`TripleList` (``.to_arrow()``), or one per batch.

        A string is an IRI as ``s`` or ``p`` (``p`` an absolute one: pass ``Term.iri`` for a relative
        IRI), its kind guessed as ``o``; a ``Term`` says the kind.
        ``g``: ``None`` the default graph, ``"*"`` every graph, or a graph IRI.
        ``collection`` defaults to ``"default"``, ``limit`` to 10000 (at most 2**31-1)."""
        return run_or_iterate(self._a.triples_query(s, p, o, g, streaming=streaming, **kw))

    @overload
    def sparql_query(
        self, query: str, *, streaming: Literal[False] = False, **kw: Unpack[QueryOptions]
    ) -> SparqlResult: ...
    @overload
    def sparql_query(
        self, query: str, *, streaming: Literal[True], **kw: Unpack[QueryOptions]
    ) -> ChunkIterator[SparqlResult]: ...
    @overload
    def sparql_query(
        self, query: str, *, streaming: bool, **kw: Unpack[QueryOptions]
    ) -> SparqlResult | ChunkIterator[SparqlResult]: ...
    def sparql_query(
        self, query: str, *, streaming: bool = False, **kw: Unpack[QueryOptions]
    ) -> SparqlResult | ChunkIterator[SparqlResult]:
        """A SPARQL query: a :class:`SparqlResult` (``.to_arrow()``), or one per batch."""
        return run_or_iterate(self._a.sparql_query(query, streaming=streaming, **kw))

    def rows_query(
        self,
        query: str,
        *,
        collection: str | None = "default",
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> RowsResult:
        """A GraphQL query over structured rows (``.to_arrow()``)."""
        return bridge.run(
            self._a.rows_query(query, collection=collection, variables=variables, operation_name=operation_name)
        )

    def nlp_query(self, question: str, *, max_results: int = 100) -> NlpQueryResult:
        """A question turned into a GraphQL query."""
        return bridge.run(self._a.nlp_query(question, max_results=max_results))

    def structured_query(self, question: str, *, collection: str | None = "default") -> StructuredQueryResult:
        """A question answered from structured data."""
        return bridge.run(self._a.structured_query(question, collection=collection))

    def structured_diag(
        self,
        operation: str,
        sample: str,
        *,
        type: str | None = None,
        schema_name: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> StructuredDiagResult:
        """``detect-type``, ``generate-descriptor``, ``diagnose`` or ``schema-selection`` on a sample."""
        return bridge.run(
            self._a.structured_diag(operation, sample, type=type, schema_name=schema_name, options=options)
        )

    def mcp_tool(self, name: str, parameters: Mapping[str, Any] | None = None) -> McpResult:
        return bridge.run(self._a.mcp_tool(name, parameters))

    def reranker(
        self, query: str, documents: Sequence[str] | Mapping[str, str], *, limit: int | None = None
    ) -> Table[RerankResult]:
        """``documents`` (texts, ids ``d0``, ``d1``...; or ids to texts) ranked against ``query``.

        Rank ``documents`` (texts, or ids to texts) against ``query`` (its id is ``q0``)."""
        return bridge.run(self._a.reranker(query, documents, limit=limit))

    def image_to_text(
        self, image: bytes, mime_type: str, *, prompt: str | None = None, system: str | None = None
    ) -> Answer:
        return bridge.run(self._a.image_to_text(image, mime_type, prompt=prompt, system=system))

    def cloze(self, query: str | None = None, *, model: str | None = None, operation: str = "predict") -> ClozeResult:
        return bridge.run(self._a.cloze(query, model=model, operation=operation))

    def decision_scoring(self, state: Mapping[str, Any], questions: Mapping[str, Any]) -> ScoringResult:
        return bridge.run(self._a.decision_scoring(state, questions))

    def field_extraction(self, state: Mapping[str, Any], fields: Mapping[str, Any]) -> ScoringResult:
        return bridge.run(self._a.field_extraction(state, fields))

    # -- end of the registry's methods --

    # -- vector queries: a text is embedded first ----------------------------------------------

    def graph_embeddings_query(
        self,
        text: str | None = None,
        *,
        vector: Sequence[float] | None = None,
        limit: int = 10,
        collection: str | None = "default",
    ) -> Table[EntityMatch]:
        """Graph entities nearest to ``text`` (embedded first) or ``vector``."""
        return bridge.run(self._a.graph_embeddings_query(text, vector=vector, limit=limit, collection=collection))

    def document_embeddings_query(
        self,
        text: str | None = None,
        *,
        vector: Sequence[float] | None = None,
        limit: int = 10,
        collection: str | None = "default",
    ) -> Table[ChunkMatch]:
        """Document chunks nearest to ``text`` (embedded first) or ``vector``."""
        return bridge.run(self._a.document_embeddings_query(text, vector=vector, limit=limit, collection=collection))

    def row_embeddings_query(
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
        return bridge.run(
            self._a.row_embeddings_query(
                text, schema_name=schema_name, vector=vector, index_name=index_name, limit=limit, collection=collection
            )
        )

    # -- anything else ----------------------------------------------------------------------------

    @overload
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: Literal[False] = False
    ) -> Mapping[str, Any]: ...
    @overload
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: Literal[True]
    ) -> ChunkIterator[Mapping[str, Any]]: ...
    @overload
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: bool
    ) -> Mapping[str, Any] | ChunkIterator[Mapping[str, Any]]: ...
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: bool = False
    ) -> Mapping[str, Any] | ChunkIterator[Mapping[str, Any]]:
        """Any flow service with a raw body: the final reply, or every reply when streaming.

        Errors raise as for the typed methods, including the dropped-error check. Before
        anything is sent, ``body`` must encode as JSON and carry the fields the typed method of
        the service sends (``graph-rag`` a ``query``...): an :class:`InputError` names the one at fault.
        """
        return run_or_iterate(self._a.request(service, body, streaming=streaming))


class Config(SyncFace):
    """The configuration service (``config``)."""

    def __init__(self, inner: core.AsyncConfig) -> None:
        self._a: core.AsyncConfig = inner

    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --

    def get(self, keys: Iterable[ConfigKey | tuple[str, str]]) -> builtins.list[ConfigValue]:
        """Values of ``keys``; a missing key's value is ``None``.

        Values of ``keys`` (a missing key's value is None)."""
        return bridge.run(self._a.get(keys))

    def put(self, values: Iterable[ConfigValue | tuple[str, str, str]]) -> None:
        """Every value must be a string: the config service fails silently on anything else."""
        bridge.run(self._a.put(values))

    def delete(self, keys: Iterable[ConfigKey | tuple[str, str]]) -> None:
        bridge.run(self._a.delete(keys))

    def list(self, type: str) -> builtins.list[str]:
        """The keys of one type."""
        return bridge.run(self._a.list(type))

    def all(self) -> ConfigSnapshot:
        """``(config, version)``: every type's keys and values, and the config version."""
        return bridge.run(self._a.all())

    # -- end of the registry's methods --

    def get_values(self, type: str) -> builtins.list[ConfigValue]:
        return bridge.run(self._a.get_values(type))

    def get_values_all_workspaces(self, type: str) -> builtins.list[ConfigValue]:
        return bridge.run(self._a.get_values_all_workspaces(type))


class Library(SyncFace):
    """The librarian: documents and their processing."""

    def __init__(self, inner: core.AsyncLibrary) -> None:
        self._a: core.AsyncLibrary = inner

    def add_document(
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
        bridge.run(
            self._a.add_document(document, id, title=title, comments=comments, kind=kind, tags=tags, metadata=metadata)
        )

    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --

    def update_document(
        self,
        id: str,
        *,
        title: str | None = None,
        comments: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Iterable[Triple] | None = None,
    ) -> None:
        bridge.run(self._a.update_document(id, title=title, comments=comments, tags=tags, metadata=metadata))

    def get_documents(self, include_children: bool = False) -> list[DocumentMetadata]:
        return bridge.run(self._a.get_documents(include_children))

    def get_document(self, id: str) -> DocumentMetadata:
        return bridge.run(self._a.get_document(id))

    def get_document_content(self, id: str) -> bytes:
        return bridge.run(self._a.get_document_content(id))

    def remove_document(self, id: str) -> None:
        bridge.run(self._a.remove_document(id))

    def stop_processing(self, id: str) -> None:
        bridge.run(self._a.stop_processing(id))

    def get_processings(self) -> list[ProcessingMetadata]:
        return bridge.run(self._a.get_processings())

    # -- end of the registry's methods --

    def start_processing(
        self, id: str, document_id: str, *, flow: str = "default", collection: str = "default", tags: Sequence[str] = ()
    ) -> None:
        bridge.run(self._a.start_processing(id, document_id, flow=flow, collection=collection, tags=tags))


class Knowledge(SyncFace):
    """Knowledge cores. Reading a core spans several frames: it needs the socket."""

    def __init__(self, inner: core.AsyncKnowledge) -> None:
        self._a: core.AsyncKnowledge = inner

    def list_kg_cores(self) -> list[str]:
        return bridge.run(self._a.list_kg_cores())

    @overload
    def get_kg_core(self, id: str, *, streaming: Literal[False] = False) -> KnowledgeCore: ...
    @overload
    def get_kg_core(self, id: str, *, streaming: Literal[True]) -> ChunkIterator[KnowledgeItem]: ...
    @overload
    def get_kg_core(self, id: str, *, streaming: bool) -> KnowledgeCore | ChunkIterator[KnowledgeItem]: ...
    def get_kg_core(self, id: str, *, streaming: bool = False) -> KnowledgeCore | ChunkIterator[KnowledgeItem]:
        """The core's items (triples, graph embeddings, library documents)."""
        return run_or_iterate(self._a.get_kg_core(id, streaming=streaming))

    def put_kg_core(
        self, id: str, *, triples: Mapping[str, Any] | None = None, graph_embeddings: Mapping[str, Any] | None = None
    ) -> None:
        """One item in wire form: ``{"metadata": {"id", "collection"}, "triples": [...]}`` or
        ``{"metadata": ..., "entities": [{"entity", "vector"}]}``."""
        bridge.run(self._a.put_kg_core(id, triples=triples, graph_embeddings=graph_embeddings))

    def delete_kg_core(self, id: str) -> None:
        bridge.run(self._a.delete_kg_core(id))

    def load_kg_core(self, id: str, *, flow: str = "default", collection: str = "default") -> None:
        bridge.run(self._a.load_kg_core(id, flow=flow, collection=collection))

    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --

    def unload_kg_core(self, id: str, *, flow: str = "default") -> None:
        bridge.run(self._a.unload_kg_core(id, flow=flow))

    # -- end of the registry's methods --

    def list_de_cores(self) -> list[str]:
        return bridge.run(self._a.list_de_cores())

    @overload
    def get_de_core(self, id: str, *, streaming: Literal[False] = False) -> KnowledgeCore: ...
    @overload
    def get_de_core(self, id: str, *, streaming: Literal[True]) -> ChunkIterator[KnowledgeItem]: ...
    @overload
    def get_de_core(self, id: str, *, streaming: bool) -> KnowledgeCore | ChunkIterator[KnowledgeItem]: ...
    def get_de_core(self, id: str, *, streaming: bool = False) -> KnowledgeCore | ChunkIterator[KnowledgeItem]:
        return run_or_iterate(self._a.get_de_core(id, streaming=streaming))

    def put_de_core(self, id: str, *, document_embeddings: Mapping[str, Any]) -> None:
        bridge.run(self._a.put_de_core(id, document_embeddings=document_embeddings))

    def delete_de_core(self, id: str) -> None:
        bridge.run(self._a.delete_de_core(id))

    def load_de_core(self, id: str, *, flow: str = "default", collection: str = "default") -> None:
        bridge.run(self._a.load_de_core(id, flow=flow, collection=collection))


class Collection(SyncFace):
    """Collection management."""

    def __init__(self, inner: core.AsyncCollection) -> None:
        self._a: core.AsyncCollection = inner

    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --

    def list_collections(
        self, tag_filter: Sequence[str] | None = None, limit: int | None = None
    ) -> list[CollectionMetadata]:
        return bridge.run(self._a.list_collections(tag_filter, limit))

    def update_collection(
        self,
        collection: str,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> CollectionMetadata:
        """Create or update a collection."""
        return bridge.run(self._a.update_collection(collection, name=name, description=description, tags=tags))

    def delete_collection(self, collection: str) -> None:
        bridge.run(self._a.delete_collection(collection))


class Iam(SyncFace):
    """The IAM service (``iam``): who the caller is, and the deployment's users."""

    def __init__(self, inner: core.AsyncIam) -> None:
        self._a: core.AsyncIam = inner

    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --

    def whoami(self) -> IamUser:
        """The user the gateway takes the caller's token for."""
        return bridge.run(self._a.whoami())

    def list_users(self) -> list[IamUser]:
        """Every user of the deployment."""
        return bridge.run(self._a.list_users())


class Flow(SyncFace):
    """One transport's entry point: flow management, flows, and the global services.

    ``api.flow()`` gives it over REST and ``api.socket()`` over the socket, with
    the same methods: ``id(flow)``/``flow(flow)`` a flow's services; ``list``, ``get``,
    ``start``, ``stop`` and the blueprint methods; ``config()``, ``library()``,
    ``knowledge()``, ``collection()``, ``iam()``; ``request()`` for anything else.
    """

    def __init__(self, inner: core.AsyncFlow) -> None:
        self._a: core.AsyncFlow = inner

    def id(self, flow_id: str = "default") -> FlowInstance:
        """The services of flow ``flow_id`` (upstream's ``api.flow().id(...)``)."""
        return FlowInstance(self._a.id(flow_id))

    def flow(self, flow_id: str = "default") -> FlowInstance:
        """The services of flow ``flow_id`` (upstream's ``api.socket().flow(...)``)."""
        return FlowInstance(self._a.flow(flow_id))

    def config(self) -> Config:
        return Config(self._a.config())

    def library(self) -> Library:
        return Library(self._a.library())

    def knowledge(self) -> Knowledge:
        return Knowledge(self._a.knowledge())

    def collection(self) -> Collection:
        return Collection(self._a.collection())

    def iam(self) -> Iam:
        return Iam(self._a.iam())

    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --

    def list(self) -> builtins.list[str]:
        """The ids of the running flows."""
        return bridge.run(self._a.list())

    def get(self, id: str) -> dict[str, Any]:
        """A flow's record (blueprint, description, parameters, interfaces)."""
        return bridge.run(self._a.get(id))

    def list_blueprints(self) -> builtins.list[str]:
        return bridge.run(self._a.list_blueprints())

    def get_blueprint(self, name: str) -> dict[str, Any]:
        return bridge.run(self._a.get_blueprint(name))

    def put_blueprint(self, name: str, definition: Mapping[str, Any] | str) -> None:
        bridge.run(self._a.put_blueprint(name, definition))

    def delete_blueprint(self, name: str) -> None:
        bridge.run(self._a.delete_blueprint(name))

    # -- end of the registry's methods --

    def start(
        self, blueprint_name: str, id: str, description: str = "", parameters: Mapping[str, str] | None = None
    ) -> None:
        """Start flow ``id`` from a blueprint.

        The gateway drops flow errors, so this checks first that ``id`` is not running and the
        blueprint exists, and afterwards that the flow is listed.
        """
        bridge.run(self._a.start(blueprint_name, id, description, parameters))

    def stop(self, id: str) -> None:
        """Stop flow ``id`` (checked to be running first: the gateway drops flow errors)."""
        bridge.run(self._a.stop(id))

    @overload
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: Literal[False] = False
    ) -> Mapping[str, Any]: ...
    @overload
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: Literal[True]
    ) -> ChunkIterator[Mapping[str, Any]]: ...
    @overload
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: bool
    ) -> Mapping[str, Any] | ChunkIterator[Mapping[str, Any]]: ...
    def request(
        self, service: str, body: Mapping[str, Any], *, streaming: bool = False
    ) -> Mapping[str, Any] | ChunkIterator[Mapping[str, Any]]:
        """Any global service (``config``, ``flow``, ``librarian``, ``knowledge``,
        ``collection-management``, ``iam``) with a raw body carrying ``operation``.

        Checked before sending as the flow services' ``request`` is: JSON, and the fields the
        typed method of that operation sends (``config`` ``list`` a ``type``...).
        """
        return run_or_iterate(self._a.request(service, body, streaming=streaming))


class SocketClient(Flow):
    """:class:`Flow` over the socket (``api.socket()``)."""

    def __init__(self, inner: core.AsyncSocketClient) -> None:
        self._a: core.AsyncSocketClient = inner


SocketFlowInstance = FlowInstance
