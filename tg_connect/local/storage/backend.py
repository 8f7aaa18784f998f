"""The local stand-in for TrustGraph's broker and back-end processors.

In a real deployment the gateway forwards to services over pub/sub: config-svc, flow-svc,
the librarian (collections), the knowledge service, and per-flow store writers consuming
the flows' ``*-store`` topics (triples-write, ge-write, kg-store, ...). Here one
:class:`Backend` plays all of them in-process: config and flows live in a
:class:`~.stores.ConfigStore` exactly as flow-svc writes them, and :meth:`Backend.publish`
is "a message on a flow's store topic": it is stored, appended to the knowledge core (as
kg-store does) and copied to every open export socket on that topic.

Two ways to consume a store topic:

* by default, inside the publish: a message is validated, converted, appended to its core
  and queued for the single store thread, in order, before the next frame is read; a
  triples query (and the close handshake of an import socket) first waits for the queued
  inserts (:meth:`Backend.settle`);
* with ``store_rows_per_second`` (a *paced* store, to test clients against stores slower
  than the socket), like the real deployment, where RabbitMQ takes every message at once and
  the store writers trail behind: the publish only validates the message and puts it on an
  in-memory queue (the broker), and a background writer stores the queue at most that many
  rows (triples, entities, chunks, values) per second. The queue has no back-pressure but a
  size cap (``store_queue_bytes``): a message that would pass it is refused with
  :class:`StoreQueueFull` and logged as an error. Messages still queued at shutdown are lost
  (and, with a data directory, were never written anywhere, so store and core still agree).
  Everything that publishes goes through that queue: ``load-kg-core`` then answers once its
  messages are queued, and retrieval services' explainability triples wait their turn.

Either way the store consumers' metrics (:mod:`..front.gateway_metrics`) count a message once it is stored.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyoxigraph as ox

from ...protocol.registry import FLOW_SERVICES, STORE_INTERFACES
from ..front import wire
from ..front.gateway_metrics import CORE_WRITER, STORE_CONSUMERS, TRIPLES_WRITER, Metrics
from ..standins.model import LanguageModel, make_model
from ..standins.templates import seed_prompts, seed_tools
from .stores import ConfigStore, CoreStore, Mark, WorkspaceData, json_text, text_or_none, vector_array
from .taps import StoreQueueFull, TapHub
from .triple_store import TermCodec, TripleStore

logger = logging.getLogger("tg_connect.local")

DEFAULT_WORKSPACE = "default"
DEFAULT_FLOW = "default"
DEFAULT_BLUEPRINT = "local"
_MAX_PENDING = 2  # store inserts queued behind the one running
DEFAULT_STORE_QUEUE_BYTES = 1024 * 1024 * 1024  # the paced store's queue cap (frame text)


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
    stores = {name: {"flow": f"flow:tg:{{workspace}}:{name}:{{id}}"} for name in STORE_INTERFACES.values()}
    return {
        "description": "tg-connect local gateway (development and test target): triples in"
        " pyoxigraph, embeddings in Arrow, knowledge cores, live export taps, every flow service"
        " on a built-in deterministic model",
        "tags": ["local", "tg-connect"],
        "blueprint": {
            f"{_QUERY_PROCESSORS.get(kind, kind)}:{{blueprint}}": {"topics": topics} for kind, topics in rr.items()
        },
        "flow": {f"{name}:{{id}}": {"topics": topics} for name, topics in _store_processors(stores).items()},
        "interfaces": {**rr, **stores},
    }


# The reference processors' names where they differ from the service's (the rest share it).
_QUERY_PROCESSORS = {"triples": "triples-query", "graph-embeddings": "ge-query", "document-embeddings": "de-query"}


def _store_processors(stores: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Each store processor's input topics, named as the reference ones are (and as the
    metrics label them): one ``input``, or ``<kind>-input`` for the knowledge-core store,
    which consumes several. A store interface without a named consumer gets one of its own."""
    consumers: dict[str, dict[str, str]] = {}
    for interface, spec in stores.items():
        for processor in STORE_CONSUMERS.get(
            interface, (interface.removesuffix("-store").removesuffix("-load") + "-write",)
        ):
            key = f"{interface.removesuffix('-store')}-input" if processor == CORE_WRITER else "input"
            consumers.setdefault(processor, {})[key] = spec["flow"]
    return consumers


def _substitute(template: str, workspace: str, blueprint: str, flow_id: str, parameters: dict[str, str]) -> str:
    """flow-svc's template substitution (``{workspace}``, ``{blueprint}``, ``{id}``, params)."""
    out = template.replace("{workspace}", workspace).replace("{blueprint}", blueprint).replace("{id}", flow_id)
    for name, value in parameters.items():
        out = out.replace(f"{{{name}}}", str(value))
    return out


def _processors(definition: Any, sections: tuple[str, ...]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(processor, variant template, spec) for each ``processor:variant`` entry of a blueprint's
    ``sections``: flow-svc writes each as a ``processor:<processor>`` config entry."""
    for section in sections:
        entries = definition.get(section) if isinstance(definition, dict) else None
        for key, spec in (entries or {}).items():
            name, _, variant = str(key).partition(":")
            yield name, variant, spec if isinstance(spec, dict) else {}


class Pacer:
    """At most ``rate`` rows per second, message by message.

    :meth:`delay` says how long to wait before writing a message of ``rows`` rows: each
    message takes ``rows / rate`` seconds of the budget, so over any interval at most
    ``rate`` rows per second are written, plus the one message being started. Time spent
    idle is not saved up for a later burst.
    """

    def __init__(self, rate: float) -> None:
        if not rate > 0:
            raise ValueError(f"store rows per second must be positive, not {rate!r}")
        self.rate = float(rate)
        self._next: float | None = None

    def delay(self, rows: int, now: float) -> float:
        start = now if self._next is None or self._next < now else self._next
        self._next = start + rows / self.rate
        return start - now


@dataclass
class Queued:
    """A message on the paced store's queue: its frame text, kept until it is stored."""

    workspace: str
    topic: str
    kind: str
    text: str | bytes
    rows: int


class StoreQueue:
    """The paced store's broker queue: FIFO, never pushing back, capped at ``max_bytes``."""

    def __init__(self, rate: float, max_bytes: int) -> None:
        self.pacer = Pacer(rate)
        self.max_bytes = max_bytes
        self.bytes = 0
        self.rows = 0
        self._items: collections.deque[Queued] = collections.deque()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Queued) -> None:
        size = len(item.text)
        if self._items and self.bytes + size > self.max_bytes:
            raise StoreQueueFull(
                f"the paced store's queue is full ({len(self._items):,} messages, {self.bytes:,} bytes,"
                f" cap {self.max_bytes:,} bytes): the store writes {self.pacer.rate:g} rows/s and the"
                " import runs ahead of it; pace the import"
            )
        self._items.append(item)
        self.bytes += size
        self.rows += item.rows
        self._ready.set()

    async def get(self) -> Queued:
        """The oldest message (it still counts in :attr:`bytes` until :meth:`done`)."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def put_back(self, item: Queued) -> None:
        """Return a message taken by :meth:`get` but not stored, to the head of the queue."""
        self._items.appendleft(item)

    def done(self, item: Queued) -> None:
        self.bytes -= len(item.text)
        self.rows -= item.rows


class FlowStartError(RuntimeError):
    """flow-svc refused to start a flow (the 2.11 gateway drops this error)."""


class Backend:
    """All back-end state of one local gateway (see the module docstring)."""

    def __init__(
        self,
        data: Path | None,
        workspaces: Iterable[str] = (DEFAULT_WORKSPACE,),
        llm_url: str | None = None,
        llm_model: str | None = None,
        *,
        store_rows_per_second: float | None = None,
        store_queue_bytes: int = DEFAULT_STORE_QUEUE_BYTES,
    ) -> None:
        self.data = data
        if data is not None:
            data.mkdir(parents=True, exist_ok=True)
        self.config = ConfigStore(None if data is None else data / "config.json")
        self.taps = TapHub()
        self.metrics = Metrics()
        # Messages taken in per store topic (published, or queued for the paced store).
        self.accepted: dict[str, int] = {}
        self.queue: StoreQueue | None = None
        if store_rows_per_second is not None:
            self.queue = StoreQueue(store_rows_per_second, store_queue_bytes)
        self._writer: asyncio.Task[None] | None = None
        self._validator = TermCodec()  # the paced store checks triples before queueing them
        self.llm_url = llm_url
        self.model: LanguageModel = make_model(llm_url, llm_model)
        self.cache: dict[Any, Any] = {}  # derived state keyed by config version (compiled prompts)
        self._workspaces: dict[str, WorkspaceData] = {}
        self._flow_cache: tuple[int, dict[tuple[str, str], dict[str, Any] | None]] = (-1, {})
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tg-connect-store")
        self._pending: collections.deque[Future[None]] = collections.deque()
        for ws in [DEFAULT_WORKSPACE, *workspaces]:
            self.ensure_workspace(ws)
        for ws in list(self.config.workspaces):
            for flow_id in self.config.keys(ws, "flow"):
                self._add_consumers(ws, flow_id)
        if data is not None:
            self._recover()

    @property
    def paced(self) -> bool:
        """Whether a background writer stores the store topics at a set rate."""
        return self.queue is not None

    # -- workspaces and flows -------------------------------------------------------------

    def ensure_workspace(self, workspace: str) -> None:
        """Create (and seed, like the real bootstrapper) a workspace if it is new."""
        if self.config.add_workspace(workspace):
            bp = json.dumps(local_blueprint())
            default_collection = json.dumps(
                {"collection": "default", "name": "Default", "description": "Default collection", "tags": []}
            )
            self.config.put_many(
                workspace,
                [
                    ("flow-blueprint", DEFAULT_BLUEPRINT, bp),
                    ("collection", "default", default_collection),
                    *seed_prompts(echo=self.llm_url is None),
                    *seed_tools(),
                ],
            )
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

    def start_flow(self, workspace: str, flow_id: Any, blueprint: Any, description: Any, parameters: Any) -> None:
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

        def fill(template: str) -> str:
            return _substitute(template, workspace, blueprint, flow_id, params)

        interfaces = {
            name: {k: fill(v) for k, v in spec.items()} for name, spec in definition.get("interfaces", {}).items()
        }
        record = {
            "description": description,
            "blueprint-name": blueprint,
            "interfaces": interfaces,
            "parameters": params,
        }
        processors = [
            (
                f"processor:{name}",
                fill(variant),
                json.dumps(
                    {
                        "topics": {fill(k): fill(v) for k, v in spec.get("topics", {}).items()},
                        "parameters": {fill(k): fill(v) for k, v in spec.get("parameters", {}).items()},
                    }
                ),
            )
            for name, variant, spec in _processors(definition, ("blueprint", "flow"))
        ]
        self.config.put_many(workspace, [*processors, ("flow", flow_id, json.dumps(record))])
        self._add_consumers(workspace, flow_id)

    def _add_consumers(self, workspace: str, flow_id: str) -> None:
        """The store processors subscribe to a running flow's store topics (their metrics
        series appear at 0, as the real consumers' do)."""
        for name in STORE_CONSUMERS:
            spec = self.interface(workspace, flow_id, name)
            topic = spec.get("flow") if isinstance(spec, dict) else None
            if isinstance(topic, str):
                self.metrics.add_consumers(name, topic)

    def stop_flow(self, workspace: str, flow_id: Any) -> None:
        if flow_id is None:
            raise FlowStartError("No flow ID")
        if flow_id not in self.config.keys(workspace, "flow"):
            raise FlowStartError("Flow ID invalid")
        record = self.flow(workspace, flow_id) or {}
        blueprint = str(record.get("blueprint-name", ""))
        definition = json.loads(self.config.get(workspace, "flow-blueprint", blueprint) or "{}")
        params = {str(k): str(v) for k, v in (record.get("parameters") or {}).items()}
        # The flow's own processors go; the blueprint's stay, shared with its other flows.
        mine = [
            (f"processor:{name}", _substitute(variant, workspace, blueprint, flow_id, params))
            for name, variant, _spec in _processors(definition, ("flow",))
        ]
        self.config.delete_many(workspace, [*mine, ("flow", flow_id)])

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
        spec = self.interface(workspace, flow_id, STORE_INTERFACES[kind])
        topic = spec.get("flow") if isinstance(spec, dict) else None
        return topic if isinstance(topic, str) else None

    async def publish(self, workspace: str, topic: str, kind: str, data: Any, raw: str | bytes | None = None) -> None:
        """One message on a flow store topic: validate, store, keep in the core, tap.

        ``data`` is a parsed import frame (``raw`` its JSON text, if at hand). Anything
        malformed raises before anything is stored, as the real import dispatcher raises
        before anything is sent. Triples may still be in the store queue on return; call
        :meth:`settle` before answering anything that must see them. With a paced store the
        message is only validated and queued (raising :class:`StoreQueueFull` at the cap).
        """
        if self.queue is not None:
            rows, message = self._check(kind, data)
            self.queue.put(Queued(workspace, topic, kind, raw if raw is not None else json.dumps(data), rows))
            self._start_writer()
            self.accepted[topic] = self.accepted.get(topic, 0) + 1
            if kind != "rows" and self.taps.active(workspace, topic):  # the broker's fan-out: at once
                if message is None:
                    message = wire.triples_message(data)
                await self.taps.publish(workspace, topic, json.dumps(message))
            return
        await self._consume(workspace, topic, kind, data, raw, tap=True)
        self.accepted[topic] = self.accepted.get(topic, 0) + 1

    def _check(self, kind: str, data: Any) -> tuple[int, dict[str, Any] | None]:
        """Validate a message as :meth:`_consume` would, storing nothing: its row count and,
        when already built, its translated message (``None`` for triples and rows)."""
        if kind == "triples":
            meta = data["metadata"]
            _required = (meta["id"], meta["collection"])  # the real decoder's KeyErrors
            items = data["triples"]
            if items:
                self._validator.quads(items, record=False)
            elif not isinstance(items, list):
                wire.triples(items)
            return (len(items) if items else 0), None
        if kind == "graph-embeddings":
            message = wire.graph_embeddings_message(data)
            return len(message["entities"]), message
        if kind == "document-embeddings":
            message = wire.document_embeddings_message(data)
            return len(message["chunks"]), message
        if kind == "entity-contexts":
            message = wire.entity_contexts_message(data)
            wire.entity_types(data)
            return len(message["entities"]), message
        if kind == "rows":
            return len(wire.rows_message(data)["values"]), None
        raise ValueError(f"unknown kind {kind!r}")

    async def _consume(
        self,
        workspace: str,
        topic: str,
        kind: str,
        data: Any,
        raw: str | bytes | None,
        tap: bool,
        paced_seconds: float = 0.0,
    ) -> None:
        """The store processors handle one message (and, unless paced, the tap sees it).

        ``paced_seconds``: the time a paced store spent on the message, counted as write time in
        the triples store's duration metric, so its metrics show the store's speed as a slow
        store's would."""
        if kind == "triples":
            await self._consume_triples(workspace, topic, data, raw, tap, paced_seconds)
            return
        translate = _STORE_TRANSLATORS.get(kind)
        if translate is None:
            raise ValueError(f"unknown kind {kind!r}")
        to_message, to_extras = translate
        message = to_message(data)
        extras = to_extras(data) if to_extras is not None else []  # validated before anything is stored
        meta = message["metadata"]
        collection = str(meta["collection"])
        ws = self.workspace(workspace)
        _STORE_WRITERS[kind](ws, collection, message, extras)
        self.ensure_collection(workspace, collection)
        interface = STORE_INTERFACES[kind]
        for processor in STORE_CONSUMERS.get(interface, ()):  # ge-write + kg-store, de-write
            self.metrics.consumed(processor, topic, seconds=paced_seconds if processor != CORE_WRITER else 0.0)
        if tap and kind != "rows" and self.taps.active(workspace, topic):
            await self.taps.publish(workspace, topic, json.dumps(message))

    async def _consume_triples(
        self,
        workspace: str,
        topic: str,
        data: Any,
        raw: str | bytes | None,
        tap: bool,
        paced_seconds: float = 0.0,
    ) -> None:
        """The hot path: convert straight from the parsed frame, keep the frame's own JSON text
        in the core, insert on the store thread (see :meth:`_commit`), and build the
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
            # The core first, then the store: after a crash the core holds every frame the store
            # may hold, and the restart stores again what the core has past its stored mark.
            key = _core_key(meta, doc_id)
            mark = ws.cores.append_frame(key, "t", raw if raw is not None else json.dumps(data))
            self.metrics.consumed(CORE_WRITER, topic)
            await self._commit(store, quads, ws.cores, key, mark, topic, paced_seconds)
        else:
            if not isinstance(items, list):
                wire.triples(items)  # let the translator raise on e.g. a number
            # An empty message is still one message for both processors, and a write of 0.
            self.metrics.consumed(CORE_WRITER, topic)
            self.metrics.triples_written(0, 0.0)
            self.metrics.consumed(TRIPLES_WRITER, topic)
        self.ensure_collection(workspace, collection)
        if tap and self.taps.active(workspace, topic):
            await self.taps.publish(workspace, topic, json.dumps(wire.triples_message(data)))

    async def _commit(
        self,
        store: TripleStore,
        quads: list[ox.Quad],
        cores: CoreStore,
        key: str,
        mark: Mark,
        topic: str,
        paced_seconds: float = 0.0,
    ) -> None:
        """Queue an insert on the single store thread, in arrival order.

        pyoxigraph releases the GIL while inserting, so the event loop converts the next
        frame meanwhile. At most :data:`_MAX_PENDING` inserts are queued (bounded memory);
        :meth:`settle` waits for all of them.
        """
        while len(self._pending) >= _MAX_PENDING:
            await asyncio.wrap_future(self._pending[0])
            self._reap()
        self._pending.append(self._executor.submit(self._write, store, quads, cores, key, mark, topic, paced_seconds))
        self._reap()

    def _write(
        self,
        store: TripleStore,
        quads: list[ox.Quad],
        cores: CoreStore,
        key: str,
        mark: Mark,
        topic: str,
        paced_seconds: float = 0.0,
    ) -> None:
        """On the store thread: commit, then mark the core item stored and count the write
        (TriplesStoreService.on_message's metrics, then the consumer's)."""
        started = time.monotonic()
        try:
            store.commit(quads)
        except Exception:
            cores.spoil(key)
            self.metrics.triples_write_failed()
            self.metrics.consumed(TRIPLES_WRITER, topic, ok=False)
            raise
        elapsed = time.monotonic() - started + paced_seconds
        cores.mark_stored(key, mark)
        self.metrics.triples_written(len(quads), elapsed)
        self.metrics.consumed(TRIPLES_WRITER, topic, seconds=elapsed)

    def _reap(self) -> None:
        while self._pending and self._pending[0].done():
            self._pending.popleft().result()  # re-raise an insert failure here

    async def settle(self) -> None:
        """Wait until every queued store insert is done (read-your-writes).

        With a paced store this is only the insert in progress, never the queue behind it.
        """
        while self._pending:
            await asyncio.wrap_future(self._pending[-1])
            self._reap()

    # -- the paced store ------------------------------------------------------------------

    def _start_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_queue())

    async def _write_queue(self) -> None:
        """The paced store's writer: the queue's messages, in order, at most the set rate."""
        queue = self.queue
        assert queue is not None
        loop = asyncio.get_running_loop()
        while True:
            item = await queue.get()
            try:
                wait = queue.pacer.delay(item.rows, loop.time())
                if wait > 0:
                    await asyncio.sleep(wait)
            except asyncio.CancelledError:
                queue.put_back(item)  # not started: still queued (and counted) at shutdown
                raise
            try:
                # The pacer spends rows / rate seconds of the store's time on each message: that
                # is how long this store takes to write it.
                await self._consume(
                    item.workspace,
                    item.topic,
                    item.kind,
                    json.loads(item.text),
                    item.text,
                    tap=False,
                    paced_seconds=item.rows / queue.pacer.rate,
                )
            except Exception as exc:  # validated when queued, so a failing store
                logger.error("paced store: a %s message was not stored: %s", item.kind, exc)
            finally:
                queue.done(item)
            if not len(queue):  # caught up: the inserts done, the Arrow logs written
                await self.settle()
                self.flush()

    # -- crash recovery -------------------------------------------------------------------

    def _recover(self) -> None:
        """Store again the triples frames each core holds past its stored mark (see
        :mod:`.stores`): after a ``kill -9`` the store then has what the core has."""
        for workspace in list(self.config.workspaces):
            ws = self.workspace(workspace)
            for core_id in ws.cores.ids("t"):
                frames = triples = 0
                for frame in ws.cores.unstored(core_id):
                    try:
                        collection = str(frame["metadata"]["collection"])
                        items = frame["triples"]
                        store = ws.triple_store(collection, create=True)
                        assert store is not None
                        triples += store.add(items) if items else 0
                        self.ensure_collection(workspace, collection)
                        frames += 1
                    except Exception as exc:  # checked when it arrived; never stop a restart
                        logger.error("recovery: a frame of core %r was not stored: %s", core_id, exc)
                if frames:
                    logger.warning(
                        "recovery: stored %d frame(s), %d triple(s) of knowledge core %r that"
                        " a crash left out of the triple store",
                        frames,
                        triples,
                        core_id,
                    )

    # -- lifecycle ------------------------------------------------------------------------

    async def stop_writer(self) -> None:
        """Stop the paced store's writer; what is still queued is dropped (and logged)."""
        task, self._writer = self._writer, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self.queue is not None and len(self.queue):
            logger.warning(
                "paced store: %d queued message(s) (%d rows) were not stored before shutdown",
                len(self.queue),
                self.queue.rows,
            )

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


def _core_key(meta: dict[str, Any], doc_id: Any = None) -> str:
    """The knowledge core a message belongs to: kg-store keys it by metadata.root, else metadata.id."""
    key = meta.get("root") or (meta.get("id") if doc_id is None else doc_id)
    return key if isinstance(key, str) else json_text(key)


# -- the non-triples store writers: one Arrow batch per message ------------------------------


def _write_graph_embeddings(ws: WorkspaceData, collection: str, message: dict[str, Any], _extras: list[Any]) -> None:
    """ge-write's log and kg-store's core item (kg-store keys a core by metadata.root or
    metadata.id; root is always "" here)."""
    entities = message["entities"]
    if not entities:
        return
    meta = message["metadata"]
    log = ws.log("graph-embeddings", collection)
    log.append(
        pa.RecordBatch.from_arrays(
            [
                pa.array([text_or_none(meta["id"])] * len(entities), pa.string()),
                pa.array([json_text(e["entity"]) for e in entities], pa.string()),
                vector_array([e["vector"] for e in entities]),
            ],
            schema=log.schema,
        )
    )
    ws.cores.append(_core_key(meta), "ge", [[e["entity"], e["vector"]] for e in entities])


def _write_document_embeddings(
    ws: WorkspaceData, collection: str, message: dict[str, Any], attributes: list[Any]
) -> None:
    """de-write's log; each chunk keeps its ``attributes`` (not part of the message)."""
    chunks = message["chunks"]
    if not chunks:
        return
    meta = message["metadata"]
    log = ws.log("document-embeddings", collection)
    log.append(
        pa.RecordBatch.from_arrays(
            [
                pa.array([text_or_none(meta["id"])] * len(chunks), pa.string()),
                pa.array([text_or_none(meta["root"])] * len(chunks), pa.string()),
                pa.array([text_or_none(c["chunk_id"]) for c in chunks], pa.string()),
                vector_array([c["vector"] for c in chunks]),
                pa.array([json_text(a) for a in attributes], pa.string()),
            ],
            schema=log.schema,
        )
    )


def _write_entity_contexts(ws: WorkspaceData, collection: str, message: dict[str, Any], types: list[Any]) -> None:
    """The entity-contexts log; each entity keeps its ``rdf_type`` (dropped from the message)."""
    entities = message["entities"]
    if not entities:
        return
    log = ws.log("entity-contexts", collection)
    log.append(
        pa.RecordBatch.from_arrays(
            [
                pa.array([text_or_none(message["metadata"]["id"])] * len(entities), pa.string()),
                pa.array([json_text(e["entity"]) for e in entities], pa.string()),
                pa.array([text_or_none(e["context"]) for e in entities], pa.string()),
                pa.array([json_text(t) for t in types], pa.string()),
            ],
            schema=log.schema,
        )
    )


def _write_rows(ws: WorkspaceData, collection: str, message: dict[str, Any], _extras: list[Any]) -> None:
    """The rows log of the message's ``schema_name``."""
    values = message["values"]
    schema_name = str(message["schema_name"])
    if not values:
        return
    confidence = message["confidence"]
    log = ws.log("rows", collection, schema_name)
    log.append(
        pa.RecordBatch.from_arrays(
            [
                pa.array([text_or_none(message["metadata"]["id"])] * len(values), pa.string()),
                pa.array([json_text(v) for v in values], pa.string()),
                pa.array([confidence if isinstance(confidence, (int, float)) else None] * len(values), pa.float64()),
                pa.array([text_or_none(message["source_span"])] * len(values), pa.string()),
            ],
            schema=log.schema,
        )
    )


# kind -> (the translated message, the per-item data it drops but the store keeps)
_STORE_TRANSLATORS: dict[str, tuple[Callable[[Any], dict[str, Any]], Callable[[Any], list[Any]] | None]] = {
    "graph-embeddings": (wire.graph_embeddings_message, None),
    "document-embeddings": (wire.document_embeddings_message, wire.document_embeddings_attributes),
    "entity-contexts": (wire.entity_contexts_message, wire.entity_types),
    "rows": (wire.rows_message, None),
}
_STORE_WRITERS: dict[str, Callable[[WorkspaceData, str, dict[str, Any], list[Any]], None]] = {
    "graph-embeddings": _write_graph_embeddings,
    "document-embeddings": _write_document_embeddings,
    "entity-contexts": _write_entity_contexts,
    "rows": _write_rows,
}
