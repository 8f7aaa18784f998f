"""The local stand-in for TrustGraph's broker and back-end processors.

In a real deployment the gateway forwards to services over pub/sub: config-svc, flow-svc,
the librarian (collections), the knowledge service, and per-flow store writers consuming
the flows' ``*-store`` topics (triples-write, ge-write, kg-store, ...). Here one
:class:`Backend` plays all of them in-process: config and flows live in a
:class:`~.stores.ConfigStore` exactly as flow-svc writes them, and :meth:`Backend.publish`
is "a message on a flow's store topic": it is stored, appended to the knowledge core (as
kg-store does) and copied to every open export socket on that topic.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow as pa

from . import wire
from .bulk import TapHub
from .metrics import Metrics
from .model import LanguageModel, make_model
from .stores import ConfigStore, WorkspaceData, json_text, text_or_none, vector_array
from .templates import seed_prompts, seed_tools

logger = logging.getLogger("tg_connect.local")

DEFAULT_WORKSPACE = "default"
DEFAULT_FLOW = "default"
DEFAULT_BLUEPRINT = "local"
_MAX_PENDING = 2  # store inserts queued behind the one running

# Flow-scoped request/response services of the 2.11 gateway (gateway/registry.py _FLOW_SERVICES).
FLOW_SERVICES = (
    "agent", "text-completion", "prompt", "mcp-tool", "graph-rag", "document-rag",
    "embeddings", "graph-embeddings", "document-embeddings", "triples", "rows", "nlp-query",
    "structured-query", "structured-diag", "row-embeddings", "sparql", "reranker",
    "image-to-text", "cloze", "decision-scoring", "field-extraction",
)
# Bulk socket kind -> flow interface carrying it (dispatch/manager.py: "-store", or "-load").
IMPORT_INTERFACES = {
    "triples": "triples-store",
    "graph-embeddings": "graph-embeddings-store",
    "document-embeddings": "document-embeddings-store",
    "entity-contexts": "entity-contexts-load",
    "rows": "rows-store",
}
EXPORT_INTERFACES = {k: v for k, v in IMPORT_INTERFACES.items() if k != "rows"}


def local_blueprint() -> dict[str, Any]:
    """The blueprint of the seeded ``default`` flow: every flow service and store interface.

    Same 2.x shape as real blueprints (``blueprint``/``flow`` processor sections with
    templated topics, plus ``interfaces``); the processors are this process.
    """
    rr = {
        kind: {
            "request": f"request:tg:{{workspace}}:{kind}:{{blueprint}}",
            "response": f"response:tg:{{workspace}}:{kind}:{{blueprint}}",
        }
        for kind in FLOW_SERVICES
    }
    stores = {
        name: {"flow": f"flow:tg:{{workspace}}:{name}:{{id}}"} for name in IMPORT_INTERFACES.values()
    }
    return {
        "description": "tg-connect local gateway (development and test target): triples in"
        " pyoxigraph, embeddings in Arrow, knowledge cores, live export taps, every flow service"
        " on a built-in deterministic model",
        "tags": ["local", "tg-connect"],
        "blueprint": {f"local-{kind}:{{blueprint}}": {"topics": topics} for kind, topics in rr.items()},
        "flow": {f"local-{name}:{{id}}": {"topics": {"input": t["flow"]}} for name, t in stores.items()},
        "interfaces": {**rr, **stores},
    }


def _substitute(template: str, workspace: str, blueprint: str, flow_id: str, parameters: dict[str, str]) -> str:
    """flow-svc's template substitution (``{workspace}``, ``{blueprint}``, ``{id}``, params)."""
    out = template.replace("{workspace}", workspace).replace("{blueprint}", blueprint).replace("{id}", flow_id)
    for name, value in parameters.items():
        out = out.replace(f"{{{name}}}", str(value))
    return out


class FlowStartError(RuntimeError):
    """flow-svc refused to start a flow (the 2.11 gateway drops this error)."""


class Backend:
    """All back-end state of one local gateway (see the module docstring)."""

    def __init__(self, data: Path | None, workspaces: Iterable[str] = (DEFAULT_WORKSPACE,),
                 llm_url: str | None = None, llm_model: str | None = None) -> None:
        self.data = data
        if data is not None:
            data.mkdir(parents=True, exist_ok=True)
        self.config = ConfigStore(None if data is None else data / "config.json")
        self.taps = TapHub()
        self.metrics = Metrics()
        self.llm_url = llm_url
        self.model: LanguageModel = make_model(llm_url, llm_model)
        self.cache: dict[Any, Any] = {}  # derived state keyed by config version (compiled prompts)
        self._workspaces: dict[str, WorkspaceData] = {}
        self._flow_cache: tuple[int, dict[tuple[str, str], dict[str, Any] | None]] = (-1, {})
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tg-connect-store")
        self._pending: collections.deque[Future[None]] = collections.deque()
        for ws in [DEFAULT_WORKSPACE, *workspaces]:
            self.ensure_workspace(ws)

    # -- workspaces and flows -------------------------------------------------------------

    def ensure_workspace(self, workspace: str) -> None:
        """Create (and seed, like the real bootstrapper) a workspace if it is new."""
        if self.config.add_workspace(workspace):
            bp = json.dumps(local_blueprint())
            default_collection = json.dumps(
                {"collection": "default", "name": "Default", "description": "Default collection", "tags": []}
            )
            self.config.put_many(workspace, [
                ("flow-blueprint", DEFAULT_BLUEPRINT, bp),
                ("collection", "default", default_collection),
                *seed_prompts(echo=self.llm_url is None),
                *seed_tools(),
            ])
            self.start_flow(workspace, DEFAULT_FLOW, DEFAULT_BLUEPRINT, "Default flow (local)", {})

    def known_workspace(self, workspace: Any) -> bool:
        return isinstance(workspace, str) and workspace in self.config.workspaces

    def workspace(self, workspace: str) -> WorkspaceData:
        data = self._workspaces.get(workspace)
        if data is None:
            data = self._workspaces[workspace] = WorkspaceData(self.data, workspace)
        return data

    def flow(self, workspace: str, flow_id: Any) -> dict[str, Any] | None:
        """The flow record flow-svc wrote (``interfaces`` etc.), or ``None`` if not running."""
        version, cache = self._flow_cache
        if version != self.config.version:
            cache = {}
            self._flow_cache = (self.config.version, cache)
        if not isinstance(flow_id, str):
            return None
        key = (workspace, flow_id)
        if key not in cache:
            text = self.config.get(workspace, "flow", flow_id) if self.known_workspace(workspace) else None
            try:
                record = json.loads(text) if text is not None else None
            except ValueError:
                record = None
            cache[key] = record if isinstance(record, dict) else None
        return cache[key]

    def interface(self, workspace: str, flow_id: Any, name: str) -> Any:
        record = self.flow(workspace, flow_id)
        if record is None:
            return None
        interfaces = record.get("interfaces")
        return interfaces.get(name) if isinstance(interfaces, dict) else None

    def start_flow(
        self, workspace: str, flow_id: Any, blueprint: Any, description: Any, parameters: Any
    ) -> None:
        """flow-svc ``start-flow``: resolve the blueprint's interfaces and write the flow record."""
        if blueprint is None:
            raise FlowStartError("No blueprint name")
        if flow_id is None:
            raise FlowStartError("No flow ID")
        if flow_id in self.config.keys(workspace, "flow"):
            raise FlowStartError("Flow already exists")
        if description is None:
            raise FlowStartError("No description")
        if blueprint not in self.config.keys(workspace, "flow-blueprint"):
            raise FlowStartError("Blueprint does not exist")
        definition = json.loads(self.config.get(workspace, "flow-blueprint", blueprint) or "null")
        params = {str(k): str(v) for k, v in (parameters or {}).items()}
        for section in ("blueprint", "flow"):  # flow-svc reads both; a missing one fails the start
            definition[section].items()
        interfaces = {
            name: {k: _substitute(v, workspace, blueprint, flow_id, params) for k, v in spec.items()}
            for name, spec in definition.get("interfaces", {}).items()
        }
        record = {"description": description, "blueprint-name": blueprint, "interfaces": interfaces,
                  "parameters": params}
        self.config.put_many(workspace, [("flow", flow_id, json.dumps(record))])

    def stop_flow(self, workspace: str, flow_id: Any) -> None:
        if flow_id is None:
            raise FlowStartError("No flow ID")
        if flow_id not in self.config.keys(workspace, "flow"):
            raise FlowStartError("Flow ID invalid")
        self.config.delete_many(workspace, [("flow", flow_id)])

    # -- collections ----------------------------------------------------------------------

    def ensure_collection(self, workspace: str, collection: str) -> None:
        """Register a collection written to but never created (the real stores would drop
        or stall on such writes; the local gateway creates it, as the librarian does)."""
        if self.config.get(workspace, "collection", collection) is None:
            value = {"collection": collection, "name": collection, "description": "", "tags": []}
            self.config.put_many(workspace, [("collection", collection, json.dumps(value))])

    async def drop_collection(self, workspace: str, collection: str) -> None:
        await self.settle()
        self.workspace(workspace).drop_collection(collection)

    # -- the store topics -----------------------------------------------------------------

    def topic(self, workspace: str, flow_id: Any, kind: str) -> str | None:
        """The flow topic behind a bulk socket kind, or ``None`` if the flow lacks it."""
        spec = self.interface(workspace, flow_id, IMPORT_INTERFACES[kind])
        topic = spec.get("flow") if isinstance(spec, dict) else None
        return topic if isinstance(topic, str) else None

    async def publish(
        self, workspace: str, topic: str, kind: str, data: Any, raw: str | bytes | None = None
    ) -> None:
        """One message on a flow store topic: validate, store, keep in the core, tap.

        ``data`` is a parsed import frame (``raw`` its JSON text, if at hand). Anything
        malformed raises before anything is stored, as the real import dispatcher raises
        before anything is sent. Triples may still be in the store queue on return; call
        :meth:`settle` before answering anything that must see them.
        """
        if kind == "triples":
            await self._publish_triples(workspace, topic, data, raw)
            return
        if kind == "graph-embeddings":
            message = wire.graph_embeddings_message(data)
        elif kind == "document-embeddings":
            message = wire.document_embeddings_message(data)
            attributes = wire.document_embeddings_attributes(data)
        elif kind == "entity-contexts":
            message = wire.entity_contexts_message(data)
            types = wire.entity_types(data)
        elif kind == "rows":
            message = wire.rows_message(data)
        else:
            raise ValueError(f"unknown kind {kind!r}")
        meta = message["metadata"]
        collection = str(meta["collection"])
        ws = self.workspace(workspace)
        doc_id = text_or_none(meta["id"])
        if kind == "graph-embeddings":
            entities = message["entities"]
            if entities:
                ws.log(kind, collection).append(pa.RecordBatch.from_arrays(
                    [pa.array([doc_id] * len(entities), pa.string()),
                     pa.array([json_text(e["entity"]) for e in entities], pa.string()),
                     vector_array([e["vector"] for e in entities])],
                    schema=ws.log(kind, collection).schema,
                ))
                # kg-store keys a core by metadata.root or metadata.id; root is always "" here.
                ws.cores.append(self._core_key(meta), "ge", [[e["entity"], e["vector"]] for e in entities])
        elif kind == "document-embeddings":
            chunks = message["chunks"]
            if chunks:
                ws.log(kind, collection).append(pa.RecordBatch.from_arrays(
                    [pa.array([doc_id] * len(chunks), pa.string()),
                     pa.array([text_or_none(meta["root"])] * len(chunks), pa.string()),
                     pa.array([text_or_none(c["chunk_id"]) for c in chunks], pa.string()),
                     vector_array([c["vector"] for c in chunks]),
                     pa.array([json_text(a) for a in attributes], pa.string())],
                    schema=ws.log(kind, collection).schema,
                ))
        elif kind == "entity-contexts":
            entities = message["entities"]
            if entities:
                ws.log(kind, collection).append(pa.RecordBatch.from_arrays(
                    [pa.array([doc_id] * len(entities), pa.string()),
                     pa.array([json_text(e["entity"]) for e in entities], pa.string()),
                     pa.array([text_or_none(e["context"]) for e in entities], pa.string()),
                     pa.array([json_text(t) for t in types], pa.string())],
                    schema=ws.log(kind, collection).schema,
                ))
        else:  # rows, per schema_name
            values = message["values"]
            schema_name = str(message["schema_name"])
            if values:
                confidence = message["confidence"]
                log = ws.log(kind, collection, schema_name)
                log.append(pa.RecordBatch.from_arrays(
                    [pa.array([doc_id] * len(values), pa.string()),
                     pa.array([json_text(v) for v in values], pa.string()),
                     pa.array([confidence if isinstance(confidence, (int, float)) else None] * len(values),
                              pa.float64()),
                     pa.array([text_or_none(message["source_span"])] * len(values), pa.string())],
                    schema=log.schema,
                ))
        self.ensure_collection(workspace, collection)
        if kind != "rows" and self.taps.active(workspace, topic):
            await self.taps.publish(workspace, topic, json.dumps(message))

    async def _publish_triples(self, workspace: str, topic: str, data: Any, raw: str | bytes | None) -> None:
        """The hot path: convert straight from the parsed frame, insert on the store thread
        (see :meth:`_commit`), keep the frame's own JSON text in the core, and build the
        translated message only if an export socket is listening."""
        meta = data["metadata"]
        doc_id = meta["id"]
        collection = str(meta["collection"])
        items = data["triples"]
        ws = self.workspace(workspace)
        if items:
            store = ws.triple_store(collection, create=True)
            assert store is not None
            quads = store.prepare(items)  # validates every triple; raises before storing anything
            await self._commit(store.commit, quads)
            key = self._core_key(meta, doc_id)
            if raw is not None:
                ws.cores.append_frame(key, "t", raw)
            else:
                ws.cores.append(key, "t", items)
        elif not isinstance(items, list):
            wire.triples(items)  # let the translator raise on e.g. a number
        self.ensure_collection(workspace, collection)
        if self.taps.active(workspace, topic):
            await self.taps.publish(workspace, topic, json.dumps(wire.triples_message(data)))

    async def _commit(self, insert: Callable[[Any], None], quads: Any) -> None:
        """Queue an insert on the single store thread, in arrival order.

        pyoxigraph releases the GIL while inserting, so the event loop converts the next
        frame meanwhile. At most :data:`_MAX_PENDING` inserts are queued (bounded memory);
        :meth:`settle` waits for all of them.
        """
        while len(self._pending) >= _MAX_PENDING:
            await asyncio.wrap_future(self._pending[0])
            self._reap()
        self._pending.append(self._executor.submit(insert, quads))
        self._reap()

    def _reap(self) -> None:
        while self._pending and self._pending[0].done():
            self._pending.popleft().result()  # re-raise an insert failure here

    async def settle(self) -> None:
        """Wait until every queued store insert is done (read-your-writes)."""
        while self._pending:
            await asyncio.wrap_future(self._pending[-1])
            self._reap()

    @staticmethod
    def _core_key(meta: dict[str, Any], doc_id: Any = None) -> str:
        key = meta.get("root") or (meta.get("id") if doc_id is None else doc_id)
        return key if isinstance(key, str) else json_text(key)

    # -- lifecycle ------------------------------------------------------------------------

    def flush(self) -> None:
        for ws in self._workspaces.values():
            ws.flush()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        for future in self._pending:
            if future.exception() is not None:
                logger.error("a store insert failed: %s", future.exception())
        self._pending.clear()
        for ws in self._workspaces.values():
            ws.close()
        self._workspaces.clear()


def now_iso() -> str:
    return datetime.now().isoformat()
