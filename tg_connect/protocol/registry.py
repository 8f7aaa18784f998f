"""The gateway's services, declared once: the table both the client and the local gateway are driven from.

Each :class:`Service` names a gateway service, whether it is flow-scoped or global, whether it
streams, the operations the gateway accepts and the reply field that shows a dropped error
(docs/protocol.md sections 4-7). The client's builders (:mod:`.builders`) make calls for these
services; the local gateway registers one handler per service against this table (a test fails
when the two differ).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from ..errors import InputError

Scope = Literal["flow", "global"]
Face = Literal["flow-instance", "flow", "config", "library", "knowledge", "collection", "iam"]
B = TypeVar("B", bound=Callable[..., Any])


# -- the service table ------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """One gateway service.

    ``streams``: the request takes ``"streaming": true`` and is then answered in several
    frames. ``carries``: one of these reply fields must be present and not null in every
    reply, because the gateway drops this service's errors (docs/protocol.md 4.4).
    ``operations``: for global services, the operations the gateway registry accepts.
    ``multi_frame``: operations answered in several frames even without ``streaming``.
    """

    name: str
    scope: Scope
    streams: bool = False
    carries: tuple[str, ...] = ()
    operations: frozenset[str] = frozenset()
    multi_frame: frozenset[str] = frozenset()


def _ops(*names: str) -> frozenset[str]:
    return frozenset(names)


SERVICE_LIST = (
    # flow-scoped (gateway/registry.py _FLOW_SERVICES)
    Service("agent", "flow", streams=True),
    Service("text-completion", "flow", streams=True, carries=("response",)),
    Service("prompt", "flow", streams=True, carries=("text", "object")),
    Service("mcp-tool", "flow", carries=("text", "object")),
    Service("graph-rag", "flow", streams=True),
    Service("document-rag", "flow", streams=True),
    Service("embeddings", "flow", carries=("vectors",)),
    Service("graph-embeddings", "flow", carries=("entities",)),
    Service("document-embeddings", "flow", carries=("chunks",)),
    Service("triples", "flow", streams=True, carries=("response",)),
    Service("rows", "flow"),
    Service("nlp-query", "flow"),
    Service("structured-query", "flow"),
    Service("structured-diag", "flow", carries=("operation",)),
    Service("row-embeddings", "flow", carries=("matches",)),
    Service("sparql", "flow", streams=True),
    Service("reranker", "flow", carries=("results",)),
    Service("image-to-text", "flow", carries=("description",)),
    Service("cloze", "flow"),
    Service("decision-scoring", "flow"),
    Service("field-extraction", "flow"),
    # global / workspace services (dispatch/manager.py), operations from gateway/registry.py
    Service(
        "config", "global", operations=_ops("get", "list", "getvalues", "getvalues-all-ws", "config", "put", "delete")
    ),
    Service(
        "flow",
        "global",
        operations=_ops(
            "list-blueprints",
            "get-blueprint",
            "put-blueprint",
            "delete-blueprint",
            "list-flows",
            "get-flow",
            "start-flow",
            "stop-flow",
        ),
    ),
    Service(
        "librarian",
        "global",
        operations=_ops(
            "get-document-metadata",
            "get-document-content",
            "stream-document",
            "list-documents",
            "list-processing",
            "get-upload-status",
            "list-uploads",
            "add-document",
            "remove-document",
            "update-document",
            "add-processing",
            "remove-processing",
            "begin-upload",
            "upload-chunk",
            "complete-upload",
            "abort-upload",
        ),
        multi_frame=_ops("stream-document"),
    ),
    Service(
        "knowledge",
        "global",
        operations=_ops(
            "list-kg-cores",
            "get-kg-core",
            "put-kg-core",
            "delete-kg-core",
            "load-kg-core",
            "unload-kg-core",
            "list-de-cores",
            "get-de-core",
            "put-de-core",
            "delete-de-core",
            "load-de-core",
        ),
        multi_frame=_ops("get-kg-core", "get-de-core"),
    ),
    Service(
        "collection-management", "global", operations=_ops("list-collections", "update-collection", "delete-collection")
    ),
    Service(
        "iam",
        "global",
        operations=_ops(
            "create-user",
            "disable-user",
            "enable-user",
            "delete-user",
            "reset-password",
            "list-users",
            "get-user",
            "update-user",
            "create-api-key",
            "list-api-keys",
            "revoke-api-key",
            "create-workspace",
            "list-workspaces",
            "get-workspace",
            "update-workspace",
            "disable-workspace",
            "list-my-workspaces",
            "whoami",
            "change-password",
            "rotate-signing-key",
            "mint-token",
            "login",
            "bootstrap",
            "bootstrap-status",
        ),
    ),
)

SERVICES: dict[str, Service] = {s.name: s for s in SERVICE_LIST}
FLOW_SERVICES: tuple[str, ...] = tuple(s.name for s in SERVICE_LIST if s.scope == "flow")
GLOBAL_SERVICES: tuple[str, ...] = tuple(s.name for s in SERVICE_LIST if s.scope == "global")
assert len(SERVICES) == 27 and len(FLOW_SERVICES) == 21

# Replies whose field depends on the operation (the dropped-error check of a generic request).
OPERATION_CARRIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("text-completion", "list-models"): ("models",),
    ("flow", "list-flows"): ("flow-ids",),
    ("flow", "list-blueprints"): ("blueprint-names",),
    ("flow", "get-blueprint"): ("blueprint-definition",),
    ("iam", "login"): ("jwt",),
}


# -- the fields a request must carry -----------------------------------------------------------

FieldKind = Literal["text", "string", "list", "texts", "vector", "object"]


@dataclass(frozen=True)
class Field:
    """A request field the typed method always sends, from an argument it requires.

    ``kind``: ``text`` a non-empty string, ``string`` any string, ``list`` a non-empty list,
    ``texts`` a non-empty list of strings, ``vector`` a non-empty list of numbers, ``object`` a
    JSON object. ``request()`` checks a raw body for these fields as the typed method checks its
    arguments, so a body missing one fails before it is sent instead of as the gateway's
    ``gateway-error`` naming the field, or as a silently empty answer where the gateway takes a
    default (``""`` for a prompt or a query).
    """

    name: str
    kind: FieldKind = "text"


@dataclass(frozen=True)
class Carried:
    """The fields one operation of a service needs, and the typed method that sends them
    (``face`` and ``method`` as in :class:`Method`)."""

    face: Face
    method: str
    fields: tuple[Field, ...]

    @property
    def typed(self) -> str:
        """The typed method as a caller writes it: ``graph_rag()``, ``config().get()``."""
        if self.face == "flow-instance":
            return f"{self.method}()"
        return f"{self.face}().{self.method}()"


def _needs(face: Face, method: str, *fields: str | Field) -> Carried:
    return Carried(face, method, tuple(f if isinstance(f, Field) else Field(f) for f in fields))


_VECTOR = Field("vector", "vector")
_DIAG = _needs("flow-instance", "structured_diag", "sample")

# (service, operation) -> what a request must carry; ``None`` is a request without an operation
# (a flow service's default one). Operations not listed need nothing, and unknown operations
# are left to the gateway. tests/unit/test_request_fields.py holds this table to the builders.
REQUEST_FIELDS: dict[tuple[str, str | None], Carried] = {
    ("agent", None): _needs("flow-instance", "agent", "question"),
    ("text-completion", None): _needs("flow-instance", "text_completion", "prompt"),
    ("text-completion", "completion"): _needs("flow-instance", "text_completion", "prompt"),
    ("prompt", None): _needs("flow-instance", "prompt", "id"),
    ("mcp-tool", None): _needs("flow-instance", "mcp_tool", "name"),
    ("graph-rag", None): _needs("flow-instance", "graph_rag", "query"),
    ("document-rag", None): _needs("flow-instance", "document_rag", "query"),
    ("embeddings", None): _needs("flow-instance", "embeddings", Field("texts", "texts")),
    ("graph-embeddings", None): _needs("flow-instance", "graph_embeddings_query", _VECTOR),
    ("document-embeddings", None): _needs("flow-instance", "document_embeddings_query", _VECTOR),
    ("row-embeddings", None): _needs("flow-instance", "row_embeddings_query", _VECTOR, "schema_name"),
    ("sparql", None): _needs("flow-instance", "sparql_query", "query"),
    ("rows", None): _needs("flow-instance", "rows_query", "query"),
    ("nlp-query", None): _needs("flow-instance", "nlp_query", "question"),
    ("structured-query", None): _needs("flow-instance", "structured_query", "question"),
    ("structured-diag", None): _needs("flow-instance", "structured_diag", "operation", "sample"),
    ("structured-diag", "detect-type"): _DIAG,
    ("structured-diag", "generate-descriptor"): _DIAG,
    ("structured-diag", "diagnose"): _DIAG,
    ("structured-diag", "schema-selection"): _DIAG,
    ("reranker", None): _needs("flow-instance", "reranker", Field("queries", "list"), Field("documents", "list")),
    ("image-to-text", None): _needs("flow-instance", "image_to_text", "image", "mime_type"),
    ("cloze", None): _needs("flow-instance", "cloze", "query"),
    ("cloze", "predict"): _needs("flow-instance", "cloze", "query"),
    ("decision-scoring", None): _needs(
        "flow-instance", "decision_scoring", Field("state", "object"), Field("questions", "object")
    ),
    ("field-extraction", None): _needs(
        "flow-instance", "field_extraction", Field("state", "object"), Field("fields", "object")
    ),
    ("config", "get"): _needs("config", "get", Field("keys", "list")),
    ("config", "put"): _needs("config", "put", Field("values", "list")),
    ("config", "delete"): _needs("config", "delete", Field("keys", "list")),
    ("config", "list"): _needs("config", "list", "type"),
    ("config", "getvalues"): _needs("config", "get_values", "type"),
    ("config", "getvalues-all-ws"): _needs("config", "get_values_all_workspaces", "type"),
    ("flow", "get-flow"): _needs("flow", "get", "flow-id"),
    ("flow", "start-flow"): _needs("flow", "start", "flow-id", "blueprint-name"),
    ("flow", "stop-flow"): _needs("flow", "stop", "flow-id"),
    ("flow", "get-blueprint"): _needs("flow", "get_blueprint", "blueprint-name"),
    ("flow", "put-blueprint"): _needs("flow", "put_blueprint", "blueprint-name", "blueprint-definition"),
    ("flow", "delete-blueprint"): _needs("flow", "delete_blueprint", "blueprint-name"),
    ("librarian", "add-document"): _needs(
        "library", "add_document", Field("document-metadata", "object"), Field("content", "string")
    ),
    ("librarian", "update-document"): _needs("library", "update_document", Field("document-metadata", "object")),
    ("librarian", "get-document-metadata"): _needs("library", "get_document", "document-id"),
    ("librarian", "get-document-content"): _needs("library", "get_document_content", "document-id"),
    ("librarian", "remove-document"): _needs("library", "remove_document", "document-id"),
    ("librarian", "add-processing"): _needs("library", "start_processing", Field("processing-metadata", "object")),
    ("librarian", "remove-processing"): _needs("library", "stop_processing", "processing-id"),
    ("knowledge", "get-kg-core"): _needs("knowledge", "get_kg_core", "id"),
    ("knowledge", "get-de-core"): _needs("knowledge", "get_de_core", "id"),
    ("knowledge", "put-kg-core"): _needs("knowledge", "put_kg_core", "id"),
    ("knowledge", "put-de-core"): _needs("knowledge", "put_de_core", "id"),
    ("knowledge", "delete-kg-core"): _needs("knowledge", "delete_kg_core", "id"),
    ("knowledge", "delete-de-core"): _needs("knowledge", "delete_de_core", "id"),
    ("knowledge", "load-kg-core"): _needs("knowledge", "load_kg_core", "id"),
    ("knowledge", "load-de-core"): _needs("knowledge", "load_de_core", "id"),
    ("knowledge", "unload-kg-core"): _needs("knowledge", "unload_kg_core", "id"),
    ("collection-management", "update-collection"): _needs("collection", "update_collection", "collection"),
    ("collection-management", "delete-collection"): _needs("collection", "delete_collection", "collection"),
}


def service(name: str, scope: Scope | None = None) -> Service:
    """The table entry for ``name``; raises :class:`InputError` naming the known ones."""
    spec = SERVICES.get(name)
    if spec is None or (scope is not None and spec.scope != scope):
        known = FLOW_SERVICES if scope == "flow" else GLOBAL_SERVICES if scope == "global" else tuple(SERVICES)
        raise InputError(f"unknown {scope + ' ' if scope else ''}service {name!r}; expected one of {', '.join(known)}")
    return spec


# -- the client's typed calls ------------------------------------------------------------------


@dataclass(frozen=True)
class Method:
    """A typed method of a client face, made by a builder of :mod:`.builders`.

    ``face``: where it shows (``flow-instance`` is ``api.flow().id(f)``; the others are the
    global faces ``api.flow()``, ``.config()``, ``.library()``, ``.knowledge()``,
    ``.collection()``, ``.iam()``). ``generated``: ``scripts/gen_faces.py`` writes the async
    face method from the builder's signature (and the sync one from that); otherwise the face
    method is written by hand because it does more than send the call (embeds a text first,
    checks before a flow start, binds a core kind). ``example``: keyword arguments that make a
    harmless call on any gateway; ``tests/flow/test_registry_faces.py`` calls every method that
    has one on all four faces (sync and async, REST and socket) against each gateway under test.
    """

    face: Face
    name: str
    builder: Callable[..., Any]
    generated: bool = True
    example: Mapping[str, Any] | None = None


METHODS: list[Method] = []


def method(
    face: Face, name: str | None = None, *, generated: bool = True, example: Mapping[str, Any] | None = None
) -> Callable[[B], B]:
    """Register the decorated builder as the face method ``name`` (default: the builder's name).

    A builder may be registered more than once (``get_core`` is both ``get_kg_core`` and
    ``get_de_core``). ``tests/unit/test_registry.py`` checks that every builder is registered
    and that every registered method exists on its async and sync face.
    """

    def register(builder: B) -> B:
        METHODS.append(Method(face, name or builder.__name__, builder, generated, example))
        return builder

    return register


# -- the bulk sockets ------------------------------------------------------------------------

# The flow interface behind each bulk socket kind (``/api/v1/flow/{flow}/import/{kind}``):
# ``<kind>-store``, except entity contexts, which the gateway's dispatcher maps to
# ``entity-contexts-load``. Every kind imports; every kind but rows exports.
STORE_INTERFACES: dict[str, str] = {
    "triples": "triples-store",
    "graph-embeddings": "graph-embeddings-store",
    "document-embeddings": "document-embeddings-store",
    "entity-contexts": "entity-contexts-load",
    "rows": "rows-store",
}
IMPORT_KINDS: tuple[str, ...] = tuple(STORE_INTERFACES)
EXPORT_KINDS: tuple[str, ...] = tuple(k for k in STORE_INTERFACES if k != "rows")
