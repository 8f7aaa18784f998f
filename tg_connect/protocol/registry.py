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
