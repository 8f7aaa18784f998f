"""The librarian's storage: documents, processing records and chunked uploads of one workspace.

The service answering ``/api/v1/librarian`` over it is :mod:`..standins.librarian`. Follows the
real librarian (``trustgraph/librarian/librarian.py``) operation by operation,
including the messages of the errors it surfaces. The real store is Cassandra plus an S3
bucket; here metadata lives in memory (and in ``library.json`` under the data directory)
and document bytes as files (``blobs/``) or in memory.

Differences, on purpose: upload sessions never expire; ``add-processing`` stores the record
and then fails like the real one when the flow has no ``text-load``/``document-load``
interface (the local blueprint has neither, and there is no extraction pipeline);
``stream-document`` of an empty document sends one empty final frame (the real one sends
nothing and the request waits for the gateway timeout).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from ..front import wire
from .files import atomic_write

DEFAULT_UPLOAD_CHUNK = 2 * 1024 * 1024
DEFAULT_STREAM_CHUNK = 1024 * 1024


class RequestError(Exception):
    """Answered as ``{"error": {"type": "request-error", ...}}``."""


class LibrarianError(Exception):
    """Anything else the librarian raises: ``{"error": {"type": "unexpected-error", ...}}``."""


def decode_metadata(data: Any) -> dict[str, Any]:
    """``DocumentMetadataTranslator.decode`` (absent fields are ``None``; defaults as the real)."""
    metadata = data.get("metadata", [])
    return {
        "id": data.get("id"),
        "time": data.get("time"),
        "kind": data.get("kind"),
        "title": data.get("title"),
        "comments": data.get("comments"),
        "metadata": wire.triples(metadata) if metadata is not None else [],
        "tags": data.get("tags"),
        "parent-id": data.get("parent-id", ""),
        "document-type": data.get("document-type", "source"),
    }


def encode_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """``DocumentMetadataTranslator.encode``: falsy fields are left out (``metadata``, ``tags``
    only when ``None``)."""
    out: dict[str, Any] = {}
    for key in ("id", "time", "kind", "title", "comments"):
        if meta.get(key):
            out[key] = meta[key]
    if meta.get("metadata") is not None:
        out["metadata"] = meta["metadata"]
    if meta.get("tags") is not None:
        out["tags"] = meta["tags"]
    for key in ("parent-id", "document-type"):
        if meta.get(key):
            out[key] = meta[key]
    return out


def decode_processing(data: Any) -> dict[str, Any]:
    return {k: data.get(k) for k in ("id", "document-id", "time", "flow", "collection", "tags")}


def encode_processing(meta: dict[str, Any]) -> dict[str, Any]:
    out = {k: meta[k] for k in ("id", "document-id", "time", "flow", "collection") if meta.get(k)}
    if meta.get("tags") is not None:
        out["tags"] = meta["tags"]
    return out


def b64decode(content: Any) -> bytes:
    if content is None:
        content = b""
    try:
        return base64.b64decode(content)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise LibrarianError(str(exc)) from exc


class Library:
    """The librarian's tables for one workspace (see the module docstring)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.documents: dict[str, dict[str, Any]] = {}  # id -> {"meta": ..., "object": id}
        self.processing: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self._blobs: dict[str, bytes] = {}
        if path is not None and (path / "library.json").exists():
            saved = json.loads((path / "library.json").read_text("utf-8"))
            self.documents = saved.get("documents", {})
            self.processing = saved.get("processing", {})
            self.uploads = saved.get("uploads", {})
            for session in self.uploads.values():
                session["chunks"] = {int(k): v for k, v in session.get("chunks", {}).items()}

    # -- persistence ------------------------------------------------------------------------

    def _save(self) -> None:
        if self.path is not None:
            body = {"documents": self.documents, "processing": self.processing, "uploads": self.uploads}
            atomic_write(self.path / "library.json", json.dumps(body, ensure_ascii=True).encode())

    def _put_blob(self, object_id: str, data: bytes) -> None:
        if self.path is None:
            self._blobs[object_id] = data
        else:
            atomic_write(self.path / "blobs" / object_id, data)

    def _get_blob(self, object_id: str) -> bytes:
        if self.path is None:
            return self._blobs[object_id]
        return (self.path / "blobs" / object_id).read_bytes()

    def _drop_blob(self, object_id: str) -> None:
        self._blobs.pop(object_id, None)
        if self.path is not None:
            (self.path / "blobs" / object_id).unlink(missing_ok=True)

    def _chunk_path(self, upload_id: str, index: int) -> Path:
        assert self.path is not None
        return self.path / "uploads" / upload_id / str(index)

    # -- documents ----------------------------------------------------------------------------

    def _document(self, doc_id: Any) -> dict[str, Any]:
        record = self.documents.get(doc_id) if isinstance(doc_id, str) else None
        if record is None:
            raise LibrarianError("No such document row?")
        return record

    def add_document(self, metadata: dict[str, Any], content: Any) -> None:
        meta = decode_metadata(metadata)
        if not meta["kind"]:
            raise RequestError("Document kind (MIME type) is required")
        if meta["id"] in self.documents:
            raise LibrarianError("Document already exists")
        data = b64decode(content)
        self._store_document(meta, data)

    def _store_document(self, meta: dict[str, Any], data: bytes) -> None:
        if meta.get("tags") is None:
            meta["tags"] = []
        object_id = str(uuid.uuid4())
        self._put_blob(object_id, data)
        self.documents[str(meta["id"])] = {"meta": meta, "object": object_id}
        self._save()

    def update_document(self, metadata: dict[str, Any]) -> None:
        meta = decode_metadata(metadata)
        record = self.documents.get(meta["id"]) if isinstance(meta["id"], str) else None
        if record is None:
            raise LibrarianError("Document does not exist")
        if meta.get("tags") is None:
            meta["tags"] = []
        record["meta"] = meta
        self._save()

    def remove_document(self, doc_id: Any) -> None:
        record = self.documents.get(doc_id) if isinstance(doc_id, str) else None
        if record is None:
            raise LibrarianError("Document does not exist")
        for child_id in [k for k, v in self.documents.items() if v["meta"].get("parent-id") == doc_id]:
            child = self.documents.pop(child_id)
            self._drop_blob(child["object"])
        del self.documents[str(doc_id)]  # a str: it had a record
        self._drop_blob(record["object"])
        self._save()

    def metadata(self, doc_id: Any) -> dict[str, Any]:
        return encode_metadata(self._document(doc_id)["meta"])

    def content(self, doc_id: Any) -> bytes:
        return self._get_blob(self._document(doc_id)["object"])

    def tree(self, doc_id: str) -> Iterator[tuple[dict[str, Any], bytes]]:
        """``doc_id`` and its children, depth first, as (metadata, content): the library part
        of the knowledge core of that id (get-kg-core streams them after its rows)."""
        record = self.documents.get(doc_id)
        if record is None:
            return
        yield encode_metadata(record["meta"]), self._get_blob(record["object"])
        for child_id in [k for k, v in self.documents.items() if v["meta"].get("parent-id") == doc_id]:
            yield from self.tree(child_id)

    def add_from_core(self, metadata: dict[str, Any], content: Any) -> None:
        """A document that came with a knowledge core (put-kg-core's library metadata, then its
        blob, base64 text as the librarian's own content is): added, or, if a document of
        that id exists, left as it is (as the real knowledge service does)."""
        if metadata.get("id") in self.documents:
            return
        meta = decode_metadata({"time": 0, "metadata": [], **metadata})
        self._store_document(meta, b64decode(content))

    def list_documents(self, include_children: bool) -> list[dict[str, Any]]:
        metas = [r["meta"] for r in self.documents.values()]
        if not include_children:
            metas = [m for m in metas if not m.get("parent-id") and m.get("document-type") != "answer"]
        return [encode_metadata(m) for m in metas]

    def stream(self, doc_id: Any, chunk_size: int) -> Iterator[dict[str, Any]]:
        """The ``stream-document`` replies (fields as the librarian sets them)."""
        chunk_size = chunk_size if chunk_size > 0 else DEFAULT_STREAM_CHUNK
        data = self.content(doc_id)
        total = len(data)
        chunks = math.ceil(total / chunk_size)
        if chunks == 0:
            yield {"final": True}
            return
        for index in range(chunks):
            offset = index * chunk_size
            piece = data[offset : offset + chunk_size]
            yield {
                "content": base64.b64encode(piece).decode(),
                "chunk-index": index,
                "chunks-received": index + 1,
                "total-chunks": chunks,
                "bytes-received": offset + len(piece),
                "total-bytes": total,
                "final": index == chunks - 1,
            }

    # -- processing ---------------------------------------------------------------------------

    def add_processing(self, processing: Any) -> dict[str, Any]:
        """Validate and store a processing record; returns the document's metadata."""
        if processing is None:
            raise LibrarianError("'NoneType' object has no attribute 'collection'")
        meta = decode_processing(processing)
        if not meta["collection"]:
            raise LibrarianError("Collection parameter is required")
        if meta["id"] in self.processing:
            raise LibrarianError("Processing already exists")
        document = self._document(meta["document-id"])
        self.processing[str(meta["id"])] = meta
        self._save()
        return document["meta"]  # type: ignore[no-any-return]

    def remove_processing(self, processing_id: Any) -> None:
        if not isinstance(processing_id, str) or processing_id not in self.processing:
            raise LibrarianError("Processing object does not exist")
        del self.processing[processing_id]
        self._save()

    def list_processing(self) -> list[dict[str, Any]]:
        return [encode_processing(m) for m in self.processing.values()]

    # -- chunked uploads -------------------------------------------------------------------------

    def begin_upload(self, metadata: Any, total_size: Any, chunk_size: Any) -> dict[str, Any]:
        if metadata is None:
            raise LibrarianError("'NoneType' object has no attribute 'id'")
        meta = decode_metadata(metadata)
        if not meta["kind"]:
            raise RequestError("Document kind (MIME type) is required")
        if meta["id"] in self.documents:
            raise RequestError("Document already exists")
        total = int(total_size or 0)
        if total <= 0:
            raise RequestError("total_size must be positive")
        size = int(chunk_size or 0)
        size = size if size > 0 else DEFAULT_UPLOAD_CHUNK
        upload_id = str(uuid.uuid4())
        session = {
            "upload-id": upload_id,
            "document-id": meta["id"],
            "document-metadata-json": json.dumps(
                {k: meta[k] for k in ("id", "time", "kind", "title", "comments", "tags")}
            ),
            "total-size": total,
            "chunk-size": size,
            "total-chunks": math.ceil(total / size),
            "created-at": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "chunks": {},
        }
        self.uploads[upload_id] = session
        self._save()
        return session

    def _session(self, upload_id: Any) -> dict[str, Any]:
        session = self.uploads.get(upload_id) if isinstance(upload_id, str) else None
        if session is None:
            raise RequestError("Upload session not found or expired")
        return session

    def upload_chunk(self, upload_id: Any, index: Any, content: Any) -> dict[str, Any]:
        session = self._session(upload_id)
        index = int(index or 0)
        total_chunks = session["total-chunks"]
        if index < 0 or index >= total_chunks:
            raise RequestError(f"Invalid chunk index {index}, must be 0-{total_chunks - 1}")
        data = b64decode(content)
        if self.path is None:
            session["chunks"][index] = base64.b64encode(data).decode()
        else:
            atomic_write(self._chunk_path(session["upload-id"], index), data)
            session["chunks"][index] = ""
        self._save()
        # The real librarian counts the chunk it just stored twice (len + 1); kept, since
        # clients observe it.
        received = len(session["chunks"]) + 1
        return {
            "upload-id": session["upload-id"],
            "chunk-index": index,
            "chunks-received": received,
            "total-chunks": total_chunks,
            "bytes-received": min(received * session["chunk-size"], session["total-size"]),
            "total-bytes": session["total-size"],
        }

    def upload_status(self, upload_id: Any) -> dict[str, Any]:
        session = self.uploads.get(upload_id) if isinstance(upload_id, str) else None
        if session is None:
            return {"upload-id": upload_id, "upload-state": "expired"}
        received = sorted(session["chunks"])
        return {
            "upload-id": upload_id,
            "upload-state": "in-progress",
            "received-chunks": received,
            "missing-chunks": [i for i in range(session["total-chunks"]) if i not in session["chunks"]],
            "chunks-received": len(received),
            "total-chunks": session["total-chunks"],
            "bytes-received": min(len(received) * session["chunk-size"], session["total-size"]),
            "total-bytes": session["total-size"],
        }

    def complete_upload(self, upload_id: Any) -> dict[str, Any]:
        session = self._session(upload_id)
        missing = [i for i in range(session["total-chunks"]) if i not in session["chunks"]]
        if missing:
            raise RequestError(f"Missing chunks: {missing[:10]}{'...' if len(missing) > 10 else ''}")
        parts = []
        for index in range(session["total-chunks"]):
            if self.path is None:
                parts.append(base64.b64decode(session["chunks"][index]))
            else:
                parts.append(self._chunk_path(session["upload-id"], index).read_bytes())
        saved = json.loads(session["document-metadata-json"])
        meta = {
            "id": saved["id"],
            "time": saved.get("time", int(time.time())),
            "kind": saved["kind"],
            "title": saved.get("title", ""),
            "comments": saved.get("comments", ""),
            "tags": saved.get("tags", []),
            "metadata": [],
            "parent-id": "",
            "document-type": "source",
        }
        if meta["id"] in self.documents:
            raise LibrarianError("Document already exists")
        self._store_document(meta, b"".join(parts))
        object_id = self.documents[str(meta["id"])]["object"]
        self._drop_upload(session["upload-id"])
        return {"document-id": meta["id"], "object-id": object_id}

    def abort_upload(self, upload_id: Any) -> None:
        session = self._session(upload_id)
        self._drop_upload(session["upload-id"])

    def _drop_upload(self, upload_id: str) -> None:
        self.uploads.pop(upload_id, None)
        if self.path is not None:
            shutil.rmtree(self.path / "uploads" / upload_id, ignore_errors=True)
        self._save()

    def list_uploads(self) -> list[dict[str, Any]]:
        out = []
        for s in self.uploads.values():
            out.append(
                {
                    "upload-id": s["upload-id"],
                    "document-id": s["document-id"],
                    "document-metadata-json": s["document-metadata-json"],
                    "total-size": s["total-size"],
                    "chunk-size": s["chunk-size"],
                    "total-chunks": s["total-chunks"],
                    "chunks-received": len(s["chunks"]),
                    "created-at": s["created-at"],
                }
            )
        return out
