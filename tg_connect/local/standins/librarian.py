"""The librarian service: ``/api/v1/librarian``, over a workspace's :class:`~..storage.library_store.Library`.

Follows the real librarian (``trustgraph/librarian/librarian.py``) operation by operation: a
dispatch table operation -> answer, the reply encoded as ``LibraryResponseTranslator`` does,
errors surfaced as ``request-error`` or ``unexpected-error`` (see
:mod:`..storage.library_store` for the storage and its differences from the real one).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from ..storage.library_store import (
    LibrarianError,
    Library,
    RequestError,
    decode_metadata,
    decode_processing,
)
from .registration import handles_global

if TYPE_CHECKING:
    from ..storage.backend import Backend

_REPLY_ORDER = (
    "error",
    "document-metadata",
    "content",
    "document-metadatas",
    "processing-metadatas",
    "upload-id",
    "chunk-size",
    "total-chunks",
    "chunk-index",
    "chunks-received",
    "bytes-received",
    "total-bytes",
    "document-id",
    "object-id",
    "upload-state",
    "received-chunks",
    "missing-chunks",
    "upload-sessions",
)


def librarian_reply(**fields: Any) -> dict[str, Any]:
    """``LibraryResponseTranslator.encode``: the two lists always, anything else if truthy."""
    fields.setdefault("document-metadatas", [])
    fields.setdefault("processing-metadatas", [])
    out: dict[str, Any] = {}
    for key in _REPLY_ORDER:
        value = fields.get(key)
        if key in ("document-metadatas", "processing-metadatas") or value:
            out[key] = value
    return out


def _add_document(backend: Backend, workspace: str, library: Library, request: dict[str, Any]) -> dict[str, Any]:
    metadata = request.get("document-metadata")
    if metadata is None:
        raise LibrarianError("'NoneType' object has no attribute 'kind'")
    library.add_document(metadata, request.get("content"))
    return librarian_reply()


def _remove_document(backend: Backend, workspace: str, library: Library, request: dict[str, Any]) -> dict[str, Any]:
    library.remove_document(request.get("document-id", ""))
    return librarian_reply()


def _update_document(backend: Backend, workspace: str, library: Library, request: dict[str, Any]) -> dict[str, Any]:
    metadata = request.get("document-metadata")
    if metadata is None:
        raise LibrarianError("'NoneType' object has no attribute 'id'")
    library.update_document(metadata)
    return librarian_reply()


def _get_document_metadata(
    backend: Backend, workspace: str, library: Library, request: dict[str, Any]
) -> dict[str, Any]:
    return librarian_reply(**{"document-metadata": library.metadata(request.get("document-id", ""))})


def _get_document_content(
    backend: Backend, workspace: str, library: Library, request: dict[str, Any]
) -> dict[str, Any]:
    data = library.content(request.get("document-id", ""))
    return librarian_reply(content=base64.b64encode(data).decode())


def _list_documents(backend: Backend, workspace: str, library: Library, request: dict[str, Any]) -> dict[str, Any]:
    return librarian_reply(
        **{"document-metadatas": library.list_documents(bool(request.get("include-children", False)))}
    )


def _add_processing(backend: Backend, workspace: str, library: Library, request: dict[str, Any]) -> dict[str, Any]:
    processing = request.get("processing-metadata")
    if isinstance(processing, dict) and processing.get("collection"):
        backend.ensure_collection(workspace, str(processing["collection"]))
    document = library.add_processing(processing)
    _load_document(backend, workspace, document, decode_processing(processing))
    return librarian_reply()


def _remove_processing(backend: Backend, workspace: str, library: Library, request: dict[str, Any]) -> dict[str, Any]:
    library.remove_processing(request.get("processing-id", ""))
    return librarian_reply()


def _list_processing(backend: Backend, workspace: str, library: Library, request: dict[str, Any]) -> dict[str, Any]:
    return librarian_reply(**{"processing-metadatas": library.list_processing()})


def _begin_upload(backend: Backend, workspace: str, library: Library, request: dict[str, Any]) -> dict[str, Any]:
    session = library.begin_upload(
        request.get("document-metadata"), request.get("total-size", 0), request.get("chunk-size", 0)
    )
    return librarian_reply(
        **{
            "upload-id": session["upload-id"],
            "chunk-size": session["chunk-size"],
            "total-chunks": session["total-chunks"],
        }
    )


def _upload_chunk(backend: Backend, workspace: str, library: Library, request: dict[str, Any]) -> dict[str, Any]:
    return librarian_reply(
        **library.upload_chunk(request.get("upload-id", ""), request.get("chunk-index", 0), request.get("content"))
    )


def _complete_upload(backend: Backend, workspace: str, library: Library, request: dict[str, Any]) -> dict[str, Any]:
    return librarian_reply(**library.complete_upload(request.get("upload-id", "")))


def _abort_upload(backend: Backend, workspace: str, library: Library, request: dict[str, Any]) -> dict[str, Any]:
    library.abort_upload(request.get("upload-id", ""))
    return librarian_reply()


def _get_upload_status(backend: Backend, workspace: str, library: Library, request: dict[str, Any]) -> dict[str, Any]:
    return librarian_reply(**library.upload_status(request.get("upload-id", "")))


def _list_uploads(backend: Backend, workspace: str, library: Library, request: dict[str, Any]) -> dict[str, Any]:
    return librarian_reply(**{"upload-sessions": library.list_uploads()})


LibrarianOperation = Callable[["Backend", str, Library, dict[str, Any]], dict[str, Any]]

# Every operation but ``stream-document`` (several frames, see :func:`librarian_service`).
LIBRARIAN_DISPATCH: dict[str, LibrarianOperation | None] = {
    "stream-document": None,
    "add-document": _add_document,
    "remove-document": _remove_document,
    "update-document": _update_document,
    "get-document-metadata": _get_document_metadata,
    "get-document-content": _get_document_content,
    "list-documents": _list_documents,
    "add-processing": _add_processing,
    "remove-processing": _remove_processing,
    "list-processing": _list_processing,
    "begin-upload": _begin_upload,
    "upload-chunk": _upload_chunk,
    "complete-upload": _complete_upload,
    "abort-upload": _abort_upload,
    "get-upload-status": _get_upload_status,
    "list-uploads": _list_uploads,
}


@handles_global("librarian", LIBRARIAN_DISPATCH)
async def librarian_service(
    backend: Backend, workspace: str, request: dict[str, Any]
) -> AsyncIterator[tuple[Any, bool]]:
    """The librarian behind ``/api/v1/librarian`` (errors are surfaced, as in 2.11)."""
    if "criteria" in request:  # decoded with required keys, as the translator does
        [(c["key"], c["value"], c["operator"]) for c in request["criteria"]]
    if "document-metadata" in request:
        decode_metadata(request["document-metadata"])
    if "processing-metadata" in request:
        decode_processing(request["processing-metadata"])
    op = request.get("operation")
    library = backend.workspace(workspace).library
    try:
        if op == "stream-document":
            chunk_size = int(request.get("chunk-size", 0) or 0)
            for piece in library.stream(request.get("document-id", ""), chunk_size):
                final = piece.pop("final")
                yield librarian_reply(**piece), final
                await asyncio.sleep(0)
            return
        answer = LIBRARIAN_DISPATCH.get(op) if isinstance(op, str) else None
        if answer is None:
            raise RequestError(f"Invalid operation: {op}")
        reply = answer(backend, workspace, library, request)
    except RequestError as exc:
        reply = librarian_reply(error={"type": "request-error", "message": str(exc)})
    except Exception as exc:
        reply = librarian_reply(error={"type": "unexpected-error", "message": str(exc)})
    yield reply, True


def _load_document(backend: Backend, workspace: str, document: dict[str, Any], processing: dict[str, Any]) -> None:
    """Hand the document to the flow's loader, as the real librarian does. The local gateway
    has no extraction pipeline: a flow with a ``text-load``/``document-load`` interface accepts
    the document (like a queue nothing reads), any other fails like the real one."""
    flow = backend.flow(workspace, processing["flow"])
    if flow is None:
        raise LibrarianError(f"Invalid flow ID {processing['flow']} for workspace {workspace}")
    kind = "text-load" if document.get("kind") == "text/plain" else "document-load"
    interfaces = flow.get("interfaces") or {}
    if kind not in interfaces:
        raise LibrarianError(repr(kind))
