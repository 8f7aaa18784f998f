"""The values the flow layer returns: answers, streamed chunks, query results, metadata.

What a call to :class:`tg_connect.Api` gives back lives here, in a module of its own, so a
user finds and imports the types in one place (``from tg_connect.types import RAGChunk``);
the package re-exports them too. They are plain values (dataclasses, ``str`` and ``list``
subclasses, TypedDicts for keyword options) with no socket or service knowledge: the
builders in :mod:`tg_connect.protocol.services` make them from the gateway's replies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import (
    Any,
    NamedTuple,
    TypedDict,
    TypeVar,
    overload,
)

import pyarrow as pa

from .errors import InputError, ProtocolError
from .protocol import messages
from .protocol.terms import Term, Triple

T = TypeVar("T")


class Answer(str):
    """A text answer: the text itself (a ``str``) plus what the gateway sent with it.

    ``in_token``/``out_token``/``model`` are the usage figures of the final frame;
    ``explain`` the explainability events and ``sources`` the graph-rag sources;
    for the agent, ``thoughts`` and ``observations`` (one string per message);
    for a prompt whose template returns JSON, ``object`` is the parsed value (and the
    string is its JSON text).
    """

    in_token: int | None
    out_token: int | None
    model: str | None
    explain: tuple[ExplainEvent, ...]
    sources: tuple[Source, ...]
    thoughts: tuple[str, ...]
    observations: tuple[str, ...]
    object: Any

    def __new__(
        cls,
        text: str = "",
        *,
        in_token: int | None = None,
        out_token: int | None = None,
        model: str | None = None,
        explain: Iterable[ExplainEvent] = (),
        sources: Iterable[Source] = (),
        thoughts: Iterable[str] = (),
        observations: Iterable[str] = (),
        object: Any = None,
    ) -> Answer:
        self = super().__new__(cls, text)
        self.in_token = in_token
        self.out_token = out_token
        self.model = model
        self.explain = tuple(explain)
        self.sources = tuple(sources)
        self.thoughts = tuple(thoughts)
        self.observations = tuple(observations)
        self.object = object
        return self

    @property
    def text(self) -> str:
        return str.__str__(self)


@dataclass(frozen=True)
class Source:
    """A graph-rag source document."""

    uri: str
    title: str = ""


@dataclass(eq=True, slots=True)
class StreamingChunk:
    """Base of the streamed chunk types: the text ``content`` of one frame.

    ``str(chunk)`` is its content, so ``print(chunk, end="")`` prints the text.
    """

    content: str = ""
    end_of_message: bool = False

    def __str__(self) -> str:
        return self.content


@dataclass(eq=True, slots=True)
class AgentThought(StreamingChunk):
    message_id: str | None = None
    chunk_type: str = "thought"


@dataclass(eq=True, slots=True)
class AgentObservation(StreamingChunk):
    message_id: str | None = None
    chunk_type: str = "observation"


@dataclass(eq=True, slots=True)
class AgentAnswer(StreamingChunk):
    """A piece of the agent's answer; the last one has ``end_of_dialog`` and the usage."""

    end_of_dialog: bool = False
    message_id: str | None = None
    in_token: int | None = None
    out_token: int | None = None
    model: str | None = None
    chunk_type: str = "final-answer"


@dataclass(eq=True, slots=True)
class RAGChunk(StreamingChunk):
    """A piece of a graph-rag or document-rag answer.

    ``end_of_stream`` ends the LLM's tokens; ``end_of_session`` ends the answer (the last
    chunk carries ``sources`` and the usage). ``error`` is set on a back-end error chunk,
    which is followed by a :class:`~tg_connect.errors.ServiceError` from the iterator.
    """

    end_of_stream: bool = False
    end_of_session: bool = False
    error: dict[str, str] | None = None
    sources: tuple[Source, ...] = ()
    in_token: int | None = None
    out_token: int | None = None
    model: str | None = None
    chunk_type: str = "rag"


@dataclass(eq=True, slots=True)
class TextChunk(StreamingChunk):
    """A piece of a text completion or a prompt; the last has ``end_of_stream`` and the usage.

    A prompt whose template returns JSON sends one chunk whose ``object`` is the parsed value.
    """

    end_of_stream: bool = False
    in_token: int | None = None
    out_token: int | None = None
    model: str | None = None
    object: Any = None
    chunk_type: str = "text"


@dataclass(frozen=True)
class ExplainEvent:
    """An explainability (provenance) event of the agent or RAG: its id, graph and triples."""

    explain_id: str
    explain_graph: str | None = None
    triples: tuple[Triple, ...] = field(default=(), repr=False)
    chunk_type: str = "explain"


AgentChunk = AgentThought | AgentObservation | AgentAnswer | ExplainEvent
RAGEvent = RAGChunk | ExplainEvent


class Table(list[T]):
    """A list of result rows that also converts to Arrow or pandas.

    ``to_arrow()`` gives a ``pyarrow.Table`` (with the declared schema even when empty);
    ``to_pandas()`` a DataFrame.
    """

    def __init__(
        self, items: Iterable[T] = (), schema: pa.Schema | None = None, row: Callable[[T], dict[str, Any]] | None = None
    ) -> None:
        super().__init__(items)
        self._schema = schema
        self._row = row

    def to_arrow(self) -> pa.Table:
        if self._row is None:
            return pa.Table.from_pylist([dict(x) if isinstance(x, Mapping) else {"value": x} for x in self])
        rows = [self._row(x) for x in self]
        return pa.Table.from_pylist(rows, schema=self._schema)

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()


class TripleList(Sequence[Triple]):
    """Triples as received: decoded to :class:`Triple` on access, to Arrow in one pass.

    ``to_arrow()`` has the canonical ``triples`` schema of :mod:`tg_connect.protocol.schemas`
    (``s``, ``s_type``, ``p``, ..., ``g``); ``wire`` is the gateway's JSON.
    """

    def __init__(self, wire: Iterable[Mapping[str, Any]] = ()) -> None:
        self.wire: list[Mapping[str, Any]] = list(wire)

    @overload
    def __getitem__(self, index: int) -> Triple: ...
    @overload
    def __getitem__(self, index: slice) -> TripleList: ...
    def __getitem__(self, index: int | slice) -> Triple | TripleList:
        if isinstance(index, slice):
            return TripleList(self.wire[index])
        return triple_from_wire(self.wire[index])

    def __len__(self) -> int:
        return len(self.wire)

    def __iter__(self) -> Iterator[Triple]:
        return (triple_from_wire(t) for t in self.wire)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TripleList):
            return list(self) == list(other)
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TripleList({len(self)} triples)"

    def to_arrow(self) -> pa.Table:
        try:
            return pa.Table.from_batches([messages.triples_from_wire(self.wire)])
        except ValueError as exc:
            raise ProtocolError(str(exc)) from None

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()


def triple_from_wire(wire: Mapping[str, Any]) -> Triple:
    try:
        return Triple(
            Term.from_wire(wire["s"]), Term.from_wire(wire["p"]), Term.from_wire(wire["o"]), wire.get("g") or None
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"malformed triple from the gateway: {exc!r}") from None


def _term_columns(prefix: str, term: Term | None) -> dict[str, Any]:
    if term is None:
        return {prefix: None, f"{prefix}_type": None, f"{prefix}_datatype": None, f"{prefix}_language": None}
    return {
        prefix: term.value,
        f"{prefix}_type": term.kind,
        f"{prefix}_datatype": term.datatype,
        f"{prefix}_language": term.language,
    }


def _term_fields(prefix: str) -> list[pa.Field]:
    return [
        pa.field(prefix, pa.string()),
        pa.field(f"{prefix}_type", pa.string()),
        pa.field(f"{prefix}_datatype", pa.string()),
        pa.field(f"{prefix}_language", pa.string()),
    ]


@dataclass(frozen=True)
class SparqlResult:
    """A SPARQL answer: ``bindings`` (select), ``ask_result`` (ask) or ``triples`` (construct).

    ``to_arrow()``: for select, four columns per variable (``x``, ``x_type``,
    ``x_datatype``, ``x_language``; unbound is null); for construct/describe the triples
    table; for ask one boolean column ``ask``.
    """

    query_type: str
    variables: tuple[str, ...] = ()
    bindings: tuple[dict[str, Term | None], ...] = ()
    ask_result: bool | None = None
    triples: TripleList = field(default_factory=TripleList)

    def to_arrow(self) -> pa.Table:
        if self.query_type in ("construct", "describe"):
            return self.triples.to_arrow()
        if self.query_type == "ask":
            return pa.table({"ask": pa.array([self.ask_result], pa.bool_())})
        schema = pa.schema([f for v in self.variables for f in _term_fields(v)])
        rows = [
            {k: v for var in self.variables for k, v in _term_columns(var, b.get(var)).items()} for b in self.bindings
        ]
        return pa.Table.from_pylist(rows, schema=schema)

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()


@dataclass(frozen=True)
class EntityMatch:
    entity: Term
    score: float
    rdf_type: str | None = None
    attributes: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ChunkMatch:
    chunk_id: str
    score: float
    attributes: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RowMatch:
    index_name: str
    index_value: tuple[str, ...]
    text: str
    score: float
    attributes: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RerankResult:
    document_id: str
    query_id: str
    score: float


@dataclass(frozen=True)
class RowsResult:
    """A GraphQL rows answer. ``to_arrow(name)`` tabulates ``data[name]`` (the only key if omitted)."""

    data: Any
    errors: tuple[Mapping[str, Any], ...] = ()
    extensions: Mapping[str, Any] | None = None

    def to_arrow(self, name: str | None = None) -> pa.Table:
        data = self.data
        if isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, Mapping) or not data:
            return pa.table({})
        if name is None:
            if len(data) != 1:
                raise InputError(f"the rows answer has several results ({', '.join(data)}); pass the name")
            name = next(iter(data))
        rows = data[name]
        if isinstance(rows, Mapping):
            rows = [rows]
        return pa.Table.from_pylist(list(rows or []))

    def to_pandas(self, name: str | None = None) -> Any:
        return self.to_arrow(name).to_pandas()


@dataclass(frozen=True)
class NlpQueryResult:
    graphql_query: str
    variables: Mapping[str, Any]
    detected_schemas: tuple[str, ...]
    confidence: float


@dataclass(frozen=True)
class StructuredQueryResult:
    data: Any
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class StructuredDiagResult:
    operation: str
    detected_type: str | None = None
    confidence: float | None = None
    descriptor: Any = None
    metadata: Any = None
    schema_matches: tuple[Any, ...] = ()


@dataclass(frozen=True)
class McpResult:
    """An MCP tool's answer: ``text`` or ``object`` (parsed JSON)."""

    text: str | None = None
    object: Any = None


@dataclass(frozen=True)
class ModelInfo:
    id: str
    name: str | None = None
    context_length: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClozeResult:
    label: str | None = None
    confidence: float | None = None
    models: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class ScoringResult:
    """A decision-scoring or field-extraction answer."""

    answers: Mapping[str, Any]
    model: str | None = None


@dataclass(frozen=True)
class ConfigKey:
    type: str
    key: str


@dataclass(frozen=True)
class ConfigValue:
    type: str
    key: str
    value: str | None
    workspace: str | None = None


class ConfigSnapshot(NamedTuple):
    """The whole configuration of a workspace and its version (unpacks as ``config, version``)."""

    config: dict[str, dict[str, str]]
    version: int


@dataclass(frozen=True)
class DocumentMetadata:
    id: str
    time: int | None = None
    kind: str | None = None
    title: str = ""
    comments: str = ""
    metadata: TripleList = field(default_factory=TripleList)
    tags: tuple[str, ...] = ()
    parent_id: str | None = None
    document_type: str | None = None


@dataclass(frozen=True)
class ProcessingMetadata:
    id: str
    document_id: str
    time: int | None = None
    flow: str | None = None
    collection: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class CollectionMetadata:
    collection: str
    name: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class IamUser:
    """A user as the IAM service describes it (``whoami``, ``list-users``).

    Under TrustGraph's no-auth regime every caller is the ``anonymous`` admin.
    """

    id: str
    username: str = ""
    name: str = ""
    email: str = ""
    roles: tuple[str, ...] = ()
    enabled: bool = True
    default_workspace: str = ""
    must_change_password: bool = False
    created: str = ""


@dataclass(frozen=True)
class KnowledgeItem:
    """One frame of a knowledge-core stream.

    ``kind`` is ``triples``, ``graph-embeddings``, ``document-embeddings``,
    ``library-metadata`` or ``library-blob``; ``to_arrow()`` tabulates the first three.
    """

    kind: str
    metadata: Mapping[str, Any]
    body: Mapping[str, Any]

    def to_arrow(self) -> pa.Table:
        if self.kind == "triples":
            return TripleList(self.body.get("triples") or []).to_arrow()
        items = self.body.get("entities") if self.kind == "graph-embeddings" else self.body.get("chunks")
        if self.kind == "graph-embeddings":
            return pa.Table.from_batches([messages.graph_embeddings_from_wire(items or [])])
        if self.kind == "document-embeddings":
            return pa.Table.from_batches([messages.document_embeddings_from_wire(items or [])])
        raise InputError(f"a {self.kind} item is not a table")


class KnowledgeCore(list[KnowledgeItem]):
    """All items of a knowledge core; ``triples()`` and ``to_arrow(kind)`` gather one kind."""

    def triples(self) -> TripleList:
        return TripleList(t for item in self if item.kind == "triples" for t in item.body.get("triples") or [])

    def to_arrow(self, kind: str = "triples") -> pa.Table:
        if kind == "triples":
            return self.triples().to_arrow()
        tables = [item.to_arrow() for item in self if item.kind == kind]
        if not tables:
            raise InputError(f"the core has no {kind} items")
        return pa.concat_tables(tables)

    def to_pandas(self, kind: str = "triples") -> Any:
        return self.to_arrow(kind).to_pandas()


# -- keyword options of the streaming calls (one definition for every face) ---------------


class TextCompletionOptions(TypedDict, total=False):
    response_format: str | None
    schema: Mapping[str, Any] | None


class PromptOptions(TypedDict, total=False):
    terms: Mapping[str, str] | None


class AgentOptions(TypedDict, total=False):
    state: str | None
    group: Sequence[str] | None
    history: Sequence[Mapping[str, Any]] | None
    collection: str | None
    session_id: str | None
    conversation_id: str | None
    pattern: str | None
    options: Mapping[str, Any] | None


class GraphRagOptions(TypedDict, total=False):
    collection: str | None
    entity_limit: int | None
    triple_limit: int | None
    max_subgraph_size: int | None
    max_path_length: int | None
    options: Mapping[str, Any] | None


class DocumentRagOptions(TypedDict, total=False):
    collection: str | None
    doc_limit: int | None
    options: Mapping[str, Any] | None


class QueryOptions(TypedDict, total=False):
    collection: str | None
    limit: int
    batch_size: int | None
