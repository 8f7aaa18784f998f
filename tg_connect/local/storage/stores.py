"""What the local gateway keeps: config, per-collection data, and knowledge cores.

Everything lives in memory unless a data directory is given; then every store writes under
it and is found again on restart::

    <data>/config.json                                  config of every workspace + version
    <data>/triples/<ws>/<collection>/                    pyoxigraph (RocksDB) store
    <data>/graph-embeddings/<ws>/<collection>/part-*.parquet
    <data>/document-embeddings/<ws>/<collection>/part-*.parquet
    <data>/entity-contexts/<ws>/<collection>/part-*.parquet
    <data>/rows/<ws>/<collection>/<schema>/part-*.parquet
    <data>/cores/<ws>/<core id>/{t,ge,de,lib}.items     knowledge cores, append-only
    <data>/cores/<ws>/<core id>/t.stored                how much of t.items is in the triple store
    <data>/library/<ws>/library.json, blobs/, uploads/  the librarian's documents

Path segments are percent-encoded names, so any workspace, collection or core id is safe.
This is a development and test target: one process, no locking between processes.

Crashes (``kill -9``): config, library and the languages side files are replaced atomically;
a knowledge core section is append-only, and a torn item at its end (a write cut short) is
cut off when the store opens. The triple store and the knowledge core agree after a crash
because an imported triples message is appended to its core (as its own JSON frame, which
names the collection) *before* it is committed to the triple store, and ``t.stored`` records,
after each commit, the end of the last core item known to be in the store. On restart
:meth:`CoreStore.unstored` gives back the frames after that mark and the back end inserts them
again (inserting a triple twice changes nothing). Embeddings, entity contexts and rows
buffered in an :class:`ArrowLog` since its last flush are lost by a crash, while the
graph-embeddings items of a core are not: those two can disagree after a ``kill -9``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import msgpack
import pyarrow as pa
import pyarrow.parquet as pq

from .files import atomic_write
from .library_store import Library
from .triple_store import TripleStore

logger = logging.getLogger("tg_connect.local")


def segment(name: Any) -> str:
    """A name as one safe path segment (percent-encoded; ``.`` too, so no ``..``)."""
    return quote(str(name), safe="-_").replace(".", "%2E") or "%00"


def unsegment(text: str) -> str:
    return "" if text == "%00" else unquote(text)


# -- config ---------------------------------------------------------------------------------


class ConfigStore:
    """The config service's table: workspace -> type -> key -> string value, one global version."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.version = 0
        self.workspaces: dict[str, dict[str, dict[str, str]]] = {}
        if path is not None and path.exists():
            saved = json.loads(path.read_text("utf-8"))
            self.version = int(saved.get("version", 0))
            self.workspaces = saved.get("workspaces", {})

    def _save(self) -> None:
        if self.path is not None:
            body = {"version": self.version, "workspaces": self.workspaces}
            atomic_write(self.path, json.dumps(body, ensure_ascii=True).encode())

    def add_workspace(self, workspace: str) -> bool:
        if workspace in self.workspaces:
            return False
        self.workspaces[workspace] = {}
        self._save()
        return True

    def get(self, workspace: str, type_: Any, key: Any) -> str | None:
        return self.workspaces.get(workspace, {}).get(type_, {}).get(key)

    def keys(self, workspace: str, type_: Any) -> list[str]:
        return sorted(self.workspaces.get(workspace, {}).get(type_, {}))

    def values(self, workspace: str, type_: Any) -> list[tuple[str, str]]:
        table = self.workspaces.get(workspace, {}).get(type_, {})
        return [(k, table[k]) for k in sorted(table)]

    def all(self, workspace: str) -> dict[str, dict[str, str]]:
        table = self.workspaces.get(workspace, {})
        return {t: {k: table[t][k] for k in sorted(table[t])} for t in sorted(table) if table[t]}

    def put_many(self, workspace: str, entries: list[tuple[str, str, str]]) -> None:
        table = self.workspaces.setdefault(workspace, {})
        for type_, key, value in entries:
            table.setdefault(type_, {})[key] = value
        self.version += 1
        self._save()

    def delete_many(self, workspace: str, keys: list[tuple[str, str]]) -> None:
        table = self.workspaces.setdefault(workspace, {})
        for type_, key in keys:
            entries = table.get(type_)
            if entries is not None:
                entries.pop(key, None)
                if not entries:
                    del table[type_]
        self.version += 1
        self._save()


# -- Arrow logs (embeddings, entity contexts, rows) ---------------------------------------

_FLUSH_ROWS = 50_000


class ArrowLog:
    """An append-only table kept as record batches; on disk as Parquet part files.

    Batches are buffered and written as one part when the buffer reaches ``_FLUSH_ROWS``
    rows, when an import socket closes and at shutdown, so a large import does not leave
    thousands of tiny files. A later nearest-neighbour query reads :meth:`batches`.
    """

    def __init__(self, schema: pa.Schema, path: Path | None) -> None:
        self.schema = schema
        self.path = path
        self._buffer: list[pa.RecordBatch] = []
        self._buffered_rows = 0
        self._parts = 0
        if path is not None and path.exists():
            self._parts = len(list(path.glob("part-*.parquet")))

    def append(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self._buffer.append(batch)
        self._buffered_rows += batch.num_rows
        if self.path is not None and self._buffered_rows >= _FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.path is None or not self._buffer:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_batches(self._buffer, schema=self.schema)
        self._parts += 1
        final = self.path / f"part-{self._parts:06d}.parquet"
        tmp = self.path / f".part-{self._parts:06d}.parquet.tmp"
        pq.write_table(table, str(tmp))
        os.replace(tmp, final)
        self._buffer = []
        self._buffered_rows = 0

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self.path is not None and self.path.exists():
            for part in sorted(self.path.glob("part-*.parquet")):
                yield from pq.read_table(str(part), schema=self.schema).to_batches()
        yield from self._buffer

    def num_rows(self) -> int:
        return sum(b.num_rows for b in self.batches())

    def destroy(self) -> None:
        self._buffer = []
        self._buffered_rows = 0
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)


_VECTOR = pa.list_(pa.float64())
GRAPH_EMBEDDINGS = pa.schema([("id", pa.string()), ("entity", pa.string()), ("vector", _VECTOR)])
DOCUMENT_EMBEDDINGS = pa.schema(
    [
        ("id", pa.string()),
        ("root", pa.string()),
        ("chunk_id", pa.string()),
        ("vector", _VECTOR),
        ("attributes", pa.string()),
    ]
)
ENTITY_CONTEXTS = pa.schema(
    [("id", pa.string()), ("entity", pa.string()), ("context", pa.string()), ("rdf_type", pa.string())]
)
ROWS = pa.schema(
    [("id", pa.string()), ("values", pa.string()), ("confidence", pa.float64()), ("source_span", pa.string())]
)


def json_text(value: Any) -> str:
    """Compact canonical JSON (sorted keys); the stored form of terms and free-form values."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else (None if value is None else json_text(value))


def vector_array(vectors: list[Any]) -> pa.Array:
    """Vectors as ``list<float64>``; a vector that is not a list of numbers is stored as null."""
    try:
        return pa.array(vectors, type=_VECTOR)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        clean = []
        for v in vectors:
            try:
                pa.array([v], type=_VECTOR)
                clean.append(v)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
                clean.append(None)
        return pa.array(clean, type=_VECTOR)


# -- knowledge cores ----------------------------------------------------------------------

SECTIONS = ("t", "ge", "de")
_JSON_MARK = "__tg_connect_json__"
_MSGPACK = b"m"  # item codecs: a msgpack value, or an import frame's JSON text
_FRAME = b"f"
_HEADER = struct.Struct(">cII")  # codec, stored (LZ4) length, original length
_STORED = struct.Struct(">Q")  # t.stored: the byte offset in t.items the triple store covers

# Where an appended item ends, to mark it stored once its triples are committed: (the core's
# generation, which a delete bumps, and the end offset), or None for an in-memory core.
Mark = tuple[int, int] | None


def pack(value: Any) -> bytes:
    """msgpack bytes of a JSON value; values msgpack cannot carry (huge ints, lone
    surrogates) are wrapped as JSON text so nothing a client sent is lost."""
    try:
        return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]
    except (OverflowError, UnicodeEncodeError, TypeError, ValueError):
        return msgpack.packb({_JSON_MARK: json.dumps(value, ensure_ascii=True)}, use_bin_type=True)  # type: ignore[no-any-return]


def _decode(codec: bytes, payload: bytes, key: str | None) -> Any:
    if codec == _FRAME:
        return json.loads(payload)[key]
    value = msgpack.unpackb(payload, raw=False, strict_map_key=False)
    if isinstance(value, dict) and len(value) == 1 and _JSON_MARK in value:
        return json.loads(value[_JSON_MARK])
    return value


def _walk(f: Any, start: int, size: int) -> Iterator[tuple[int, bytes, int, int]]:
    """``(offset, codec, stored length, original length)`` of each whole item of a section
    file from ``start``; stops before a torn item (a header or body cut short)."""
    pos = start
    f.seek(pos)
    while pos + _HEADER.size <= size:
        codec, stored, original = _HEADER.unpack(f.read(_HEADER.size))
        if pos + _HEADER.size + stored > size:
            return
        yield pos, codec, stored, original
        pos += _HEADER.size + stored
        f.seek(pos)


class CoreStore:
    """Knowledge cores of one workspace, like the real kg-store + knowledge service.

    A core is three append-only sections of items, each item one imported message's rows in
    compact wire form: ``t`` (a list of triples), ``ge`` (a list of ``[entity, vector]``) and
    ``de`` (a list of ``[chunk_id, vector]``). Library documents travel with a core but live in
    the librarian (the document whose id is the core's, and its children). A triples message
    that went to the triple store is kept as its import frame's JSON text (no re-encoding on
    the hot path, and it names its collection, so it can be stored again after a crash);
    other items as msgpack. Each item is kept
    LZ4-compressed, in memory and on disk (a section file is a sequence of length-prefixed
    compressed items). Opening the store cuts a torn item off the end of every section file.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._memory: dict[str, dict[str, list[tuple[bytes, int, bytes]]]] = {}
        self._sections: dict[str, set[str]] = {}
        # Store-thread marks and loop-thread deletes of the same core must not interleave.
        self._lock = threading.Lock()
        self._generation: dict[str, int] = {}
        self._spoiled: set[str] = set()  # a commit failed: leave the mark for the restart to replay
        if path is not None and path.exists():
            for child in sorted(path.iterdir()):
                if child.is_dir():
                    present = {s for s in SECTIONS if (child / f"{s}.items").exists()}
                    for section in present:
                        self._repair(child / f"{section}.items")
                    if present:
                        self._sections[unsegment(child.name)] = present

    @staticmethod
    def _repair(file: Path) -> None:
        """Cut a torn item (a write a crash interrupted) off the end of a section file."""
        size = file.stat().st_size
        end = 0
        with open(file, "rb") as f:
            for pos, _codec, stored, _original in _walk(f, 0, size):
                end = pos + _HEADER.size + stored
        if end < size:
            logger.warning("knowledge core file %s: cut off a torn item at its end (%d bytes)", file, size - end)
            with open(file, "r+b") as f:
                f.truncate(end)

    def ids(self, section: str | None = None) -> list[str]:
        return [i for i, present in self._sections.items() if section is None or section in present]

    def __contains__(self, core_id: str) -> bool:
        return core_id in self._sections

    def append(self, core_id: str, section: str, value: Any) -> Mark:
        """Append one item (a JSON value)."""
        return self._append(core_id, section, _MSGPACK, pack(value))

    def append_frame(self, core_id: str, section: str, frame: str | bytes) -> Mark:
        """Append the rows of an import frame, given as its JSON text (``frame["triples"]``).

        Only frames whose triples go to the triple store are appended this way: they are
        what :meth:`unstored` gives back after a crash.
        """
        return self._append(core_id, section, _FRAME, frame.encode() if isinstance(frame, str) else frame)

    def _append(self, core_id: str, section: str, codec: bytes, payload: bytes) -> Mark:
        self._sections.setdefault(core_id, set()).add(section)
        blob = pa.compress(payload, codec="lz4", asbytes=True)
        if self.path is None:
            self._memory.setdefault(core_id, {}).setdefault(section, []).append((codec, len(payload), blob))
            return None
        folder = self.path / segment(core_id)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{section}.items", "ab") as f:
            f.write(_HEADER.pack(codec, len(blob), len(payload)) + blob)
            end = f.tell()
        return (self._generation.get(core_id, 0), end)

    def mark_stored(self, core_id: str, mark: Mark) -> None:
        """Record that the ``t`` items up to ``mark`` are in the triple store (any thread).

        One 8-byte write at offset 0, which a killed process cannot tear.
        """
        if mark is None or self.path is None:
            return
        generation, end = mark
        with self._lock:
            if core_id in self._spoiled or self._generation.get(core_id, 0) != generation:
                return  # deleted since (or a commit failed): the restart replays from the old mark
            try:
                fd = os.open(self.path / segment(core_id) / "t.stored", os.O_WRONLY | os.O_CREAT, 0o644)
            except FileNotFoundError:
                return
            try:
                os.pwrite(fd, _STORED.pack(end), 0)
            finally:
                os.close(fd)

    def spoil(self, core_id: str) -> None:
        """A commit of this core's triples failed: stop advancing its stored mark."""
        with self._lock:
            self._spoiled.add(core_id)

    def unstored(self, core_id: str) -> Iterator[dict[str, Any]]:
        """The import frames of ``core_id`` appended but maybe not committed to the triple
        store (after a crash), in order; once exhausted, they count as stored."""
        if self.path is None:
            return
        folder = self.path / segment(core_id)
        file = folder / "t.items"
        if not file.exists():
            return
        marker = folder / "t.stored"
        start = 0
        if marker.exists():
            raw = marker.read_bytes()
            if len(raw) == _STORED.size:
                start = _STORED.unpack(raw)[0]
        size = file.stat().st_size
        if start >= size:
            return
        end = start
        with open(file, "rb") as f:
            for pos, codec, stored, original in list(_walk(f, start, size)):
                end = pos + _HEADER.size + stored
                if codec != _FRAME:
                    continue  # put-kg-core items: never sent to the triple store
                f.seek(pos + _HEADER.size)
                payload = pa.decompress(f.read(stored), decompressed_size=original, codec="lz4", asbytes=True)
                frame = json.loads(payload)
                if isinstance(frame, dict):
                    yield frame
        self.mark_stored(core_id, (self._generation.get(core_id, 0), end))

    def items(self, core_id: str, section: str) -> Iterator[Any]:
        """The section's items in append order, decoded one at a time.

        Only the items present when iteration starts are read, so a loader may append to
        the same core while iterating it (load-kg-core does, as kg-store does).
        """
        key = {"t": "triples", "ge": "entities", "de": "chunks"}.get(section)
        if self.path is None:
            for codec, size, blob in list(self._memory.get(core_id, {}).get(section, [])):
                payload = pa.decompress(blob, decompressed_size=size, codec="lz4", asbytes=True)
                yield _decode(codec, payload, key)
            return
        file = self.path / segment(core_id) / f"{section}.items"
        if not file.exists():
            return
        remaining = file.stat().st_size
        with open(file, "rb") as f:
            while remaining >= _HEADER.size:
                codec, stored, size = _HEADER.unpack(f.read(_HEADER.size))
                blob = f.read(stored)
                remaining -= _HEADER.size + stored
                if len(blob) < stored:
                    break  # a torn write at the end of the file
                yield _decode(codec, pa.decompress(blob, decompressed_size=size, codec="lz4", asbytes=True), key)

    def delete(self, core_id: str, sections: tuple[str, ...] = SECTIONS) -> None:
        present = self._sections.get(core_id)
        if present is None:
            return
        memory = self._memory.get(core_id, {})
        with self._lock:
            if "t" in sections:  # marks of commits still in flight belong to the old file
                self._generation[core_id] = self._generation.get(core_id, 0) + 1
                self._spoiled.discard(core_id)
            for section in sections:
                present.discard(section)
                memory.pop(section, None)
                if self.path is not None:
                    for name in (f"{section}.items", f"{section}.stored"):
                        file = self.path / segment(core_id) / name
                        if file.exists():
                            file.unlink()
            if not present:
                self._sections.pop(core_id, None)
                self._memory.pop(core_id, None)
                if self.path is not None:
                    shutil.rmtree(self.path / segment(core_id), ignore_errors=True)


# -- per-workspace data -------------------------------------------------------------------


def _subfolders(base: Path) -> list[Path]:
    """The folders directly in ``base``, sorted (none if it does not exist)."""
    if not base.exists():
        return []
    return [child for child in sorted(base.iterdir()) if child.is_dir()]


class WorkspaceData:
    """The stores of one workspace, created on first write and rediscovered on restart."""

    def __init__(self, root: Path | None, workspace: str) -> None:
        self.workspace = workspace
        ws = segment(workspace)
        self._root = root
        self._triples_dir = None if root is None else root / "triples" / ws
        self.triples: dict[str, TripleStore] = {}
        self.logs: dict[tuple[str, str, str], ArrowLog] = {}  # (kind, collection, schema) -> log
        self.cores = CoreStore(None if root is None else root / "cores" / ws)
        self.library_pending: dict[str, dict[str, Any]] = {}  # put-kg-core metadata awaiting its blob
        self.library = Library(None if root is None else root / "library" / ws)
        if root is not None:
            self._discover(root, ws)

    def _discover(self, root: Path, ws: str) -> None:
        """Reopen the triple stores and logs an earlier run left under ``root``."""
        if self._triples_dir is not None:
            for child in _subfolders(self._triples_dir):
                self.triples[unsegment(child.name)] = TripleStore(child)
        for kind in ("graph-embeddings", "document-embeddings", "entity-contexts"):
            for child in _subfolders(root / kind / ws):
                self.log(kind, unsegment(child.name))
        for coll in _subfolders(root / "rows" / ws):
            for schema in _subfolders(coll):
                self.log("rows", unsegment(coll.name), unsegment(schema.name))

    def collections(self) -> set[str]:
        return set(self.triples) | {c for _k, c, _s in self.logs}

    def triple_store(self, collection: str, create: bool) -> TripleStore | None:
        store = self.triples.get(collection)
        if store is None and create:
            path = None if self._triples_dir is None else self._triples_dir / segment(collection)
            store = self.triples[collection] = TripleStore(path)
        return store

    def log(self, kind: str, collection: str, schema_name: str = "") -> ArrowLog:
        key = (kind, collection, schema_name)
        log = self.logs.get(key)
        if log is None:
            schema = {
                "graph-embeddings": GRAPH_EMBEDDINGS,
                "document-embeddings": DOCUMENT_EMBEDDINGS,
                "entity-contexts": ENTITY_CONTEXTS,
                "rows": ROWS,
            }[kind]
            path = None
            if self._root is not None:
                path = self._root / kind / segment(self.workspace) / segment(collection)
                if kind == "rows":
                    path = path / segment(schema_name)
            log = self.logs[key] = ArrowLog(schema, path)
        return log

    def drop_collection(self, collection: str) -> None:
        store = self.triples.pop(collection, None)
        if store is not None:
            store.destroy()
        for key in [k for k in self.logs if k[1] == collection]:
            self.logs.pop(key).destroy()
        if self._root is not None:  # empty per-collection folders (rows keep one per schema)
            shutil.rmtree(self._root / "rows" / segment(self.workspace) / segment(collection), ignore_errors=True)

    def flush(self) -> None:
        for log in self.logs.values():
            log.flush()

    def close(self) -> None:
        self.flush()
        for store in self.triples.values():
            store.close()
        self.triples.clear()
