"""Builders of the librarian (documents, processing) and collection-management services."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from typing import (
    Any,
)

from ...errors import InputError
from ...types import (
    CollectionMetadata,
    DocumentMetadata,
    ProcessingMetadata,
    TripleList,
)
from ..calls import (
    Call,
    call_single,
    check_bool,
    check_int,
    check_str,
    check_strs,
    missing,
    opt_int,
    opt_str,
    put_field,
    term_arg,
)
from ..registry import method
from ..terms import Triple

# -- librarian ---------------------------------------------------------------------------------


def _document(d: Mapping[str, Any]) -> DocumentMetadata:
    time = d.get("time")
    return DocumentMetadata(
        str(d.get("id") or ""),
        opt_int(time),
        d.get("kind"),
        str(d.get("title") or ""),
        str(d.get("comments") or ""),
        TripleList(d.get("metadata") or []),
        tuple(d.get("tags") or []),
        d.get("parent-id") or None,
        d.get("document-type") or None,
    )


def _processing(d: Mapping[str, Any]) -> ProcessingMetadata:
    return ProcessingMetadata(
        str(d.get("id") or ""),
        str(d.get("document-id") or ""),
        opt_int(d.get("time")),
        d.get("flow"),
        d.get("collection"),
        tuple(d.get("tags") or []),
    )


def _wire_triples(metadata: Iterable[Triple | Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for t in metadata or ():
        if isinstance(t, Triple):
            out.append(t.to_wire())
        elif isinstance(t, Mapping):
            out.append({pos: term_arg(pos, t[pos]) for pos in ("s", "p", "o")})
        else:
            raise InputError(f"metadata must hold Triples, not {type(t).__name__}")
    return out


@method("library", generated=False)
def add_document(
    document: bytes,
    id: str,
    *,
    title: str = "",
    comments: str = "",
    kind: str = "text/plain",
    tags: Sequence[str] = (),
    metadata: Iterable[Triple] | None = None,
    time: int | None = None,
) -> Call[Mapping[str, Any], None]:
    if not isinstance(document, (bytes, bytearray, memoryview)):
        raise InputError("document must be bytes")
    import time as _time

    meta = {
        "id": check_str("id", id),
        "time": int(_time.time()) if time is None else check_int("time", time, low=0),
        "kind": check_str("kind", kind),
        "title": check_str("title", title, empty=True),
        "comments": check_str("comments", comments, empty=True),
        "metadata": _wire_triples(metadata),
        "tags": check_strs("tags", tags),
    }
    body = {
        "operation": "add-document",
        "document-metadata": meta,
        "content": base64.b64encode(bytes(document)).decode("ascii"),
    }
    return call_single("librarian", body, lambda r: None, ())


@method("library")
def update_document(
    id: str,
    *,
    title: str | None = None,
    comments: str | None = None,
    tags: Sequence[str] | None = None,
    metadata: Iterable[Triple] | None = None,
) -> Call[Mapping[str, Any], None]:
    meta: dict[str, Any] = {"id": check_str("id", id)}
    put_field(meta, "title", opt_str("title", title))
    put_field(meta, "comments", opt_str("comments", comments))
    if tags is not None:
        meta["tags"] = check_strs("tags", tags)
    if metadata is not None:
        meta["metadata"] = _wire_triples(metadata)
    return call_single(
        "librarian",
        {"operation": "update-document", "document-id": meta["id"], "document-metadata": meta},
        lambda r: None,
        (),
    )


@method("library", "get_documents", example={})
def list_documents(include_children: bool = False) -> Call[Mapping[str, Any], list[DocumentMetadata]]:
    body: dict[str, Any] = {"operation": "list-documents"}
    if check_bool("include_children", include_children):
        body["include-children"] = True
    return call_single(
        "librarian", body, lambda r: [_document(d) for d in r.get("document-metadatas") or []], ("document-metadatas",)
    )


@method("library")
def get_document(id: str) -> Call[Mapping[str, Any], DocumentMetadata]:
    def convert(r: Mapping[str, Any]) -> DocumentMetadata:
        meta = r.get("document-metadata")
        if not isinstance(meta, Mapping):
            raise missing("librarian", ("document-metadata",))
        return _document(meta)

    return call_single(
        "librarian", {"operation": "get-document-metadata", "document-id": check_str("id", id)}, convert, ()
    )


@method("library")
def get_document_content(id: str) -> Call[Mapping[str, Any], bytes]:
    def convert(r: Mapping[str, Any]) -> bytes:
        content = r.get("content")
        if not isinstance(content, str):
            raise missing("librarian", ("content",))
        return base64.b64decode(content)

    return call_single(
        "librarian", {"operation": "get-document-content", "document-id": check_str("id", id)}, convert, ()
    )


@method("library")
def remove_document(id: str) -> Call[Mapping[str, Any], None]:
    return call_single(
        "librarian", {"operation": "remove-document", "document-id": check_str("id", id)}, lambda r: None, ()
    )


@method("library", generated=False)
def start_processing(
    id: str,
    document_id: str,
    *,
    flow: str = "default",
    collection: str = "default",
    tags: Sequence[str] = (),
    time: int | None = None,
) -> Call[Mapping[str, Any], None]:
    import time as _time

    meta = {
        "id": check_str("id", id),
        "document-id": check_str("document_id", document_id),
        "time": int(_time.time()) if time is None else check_int("time", time, low=0),
        "flow": check_str("flow", flow),
        "collection": check_str("collection", collection),
        "tags": check_strs("tags", tags),
    }
    return call_single("librarian", {"operation": "add-processing", "processing-metadata": meta}, lambda r: None, ())


@method("library")
def stop_processing(id: str) -> Call[Mapping[str, Any], None]:
    return call_single(
        "librarian", {"operation": "remove-processing", "processing-id": check_str("id", id)}, lambda r: None, ()
    )


@method("library", "get_processings", example={})
def list_processing() -> Call[Mapping[str, Any], list[ProcessingMetadata]]:
    return call_single(
        "librarian",
        {"operation": "list-processing"},
        lambda r: [_processing(d) for d in r.get("processing-metadatas") or []],
        ("processing-metadatas",),
    )


# -- collections -------------------------------------------------------------------------------


def _collection(c: Mapping[str, Any]) -> CollectionMetadata:
    return CollectionMetadata(
        str(c.get("collection") or ""),
        str(c.get("name") or ""),
        str(c.get("description") or ""),
        tuple(c.get("tags") or []),
    )


@method("collection", example={})
def list_collections(
    tag_filter: Sequence[str] | None = None, limit: int | None = None
) -> Call[Mapping[str, Any], list[CollectionMetadata]]:
    body: dict[str, Any] = {"operation": "list-collections"}
    if tag_filter is not None:
        body["tag_filter"] = check_strs("tag_filter", tag_filter)
    if limit is not None:
        body["limit"] = check_int("limit", limit)
    return call_single(
        "collection-management", body, lambda r: [_collection(c) for c in r.get("collections") or []], ("collections",)
    )


@method("collection")
def update_collection(
    collection: str, *, name: str | None = None, description: str | None = None, tags: Sequence[str] | None = None
) -> Call[Mapping[str, Any], CollectionMetadata]:
    """Create or update a collection."""
    body: dict[str, Any] = {"operation": "update-collection", "collection": check_str("collection", collection)}
    put_field(body, "name", opt_str("name", name))
    put_field(body, "description", opt_str("description", description))
    if tags is not None:
        body["tags"] = check_strs("tags", tags)

    def convert(r: Mapping[str, Any]) -> CollectionMetadata:
        found = [c for c in r.get("collections") or [] if c.get("collection") == collection]
        return (
            _collection(found[0])
            if found
            else CollectionMetadata(collection, name or "", description or "", tuple(tags or ()))
        )

    return call_single("collection-management", body, convert, ())


@method("collection")
def delete_collection(collection: str) -> Call[Mapping[str, Any], None]:
    return call_single(
        "collection-management",
        {"operation": "delete-collection", "collection": check_str("collection", collection)},
        lambda r: None,
        (),
    )
