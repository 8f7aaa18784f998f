"""The local librarian over REST and the mux: documents, processing, chunked uploads,
stream-document, /api/v1/document-stream and persistence, with the 2.11 replies (errors are
surfaced by the librarian, unlike most services)."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

from tg_connect.local import LocalGateway

from .helpers import TOKEN, Http, Mux

EMPTY = {"document-metadatas": [], "processing-metadatas": []}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def lib(http: Http, body: dict[str, Any]) -> Any:
    status, reply = http.post("/api/v1/librarian", body)
    assert status == 200, reply
    return reply


def error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}, **EMPTY}


def test_documents(http: Http) -> None:
    doc = f"urn:doc:{uuid.uuid4().hex[:8]}"
    content = b"hello world, this is a test document"
    meta = {
        "id": doc,
        "time": 1730000000,
        "kind": "text/plain",
        "title": "T",
        "comments": "c",
        "metadata": [
            {
                "s": {"t": "i", "i": doc},
                "p": {"t": "i", "i": "http://purl.org/dc/elements/1.1/title"},
                "o": {"t": "l", "v": "T"},
            }
        ],
        "tags": ["x"],
    }
    assert lib(http, {"operation": "add-document", "document-metadata": meta, "content": b64(content)}) == EMPTY
    assert lib(http, {"operation": "add-document", "document-metadata": meta, "content": b64(content)}) == error(
        "unexpected-error", "Document already exists"
    )
    assert lib(http, {"operation": "add-document", "document-metadata": {"id": doc + "x"}, "content": ""}) == error(
        "request-error", "Document kind (MIME type) is required"
    )
    assert lib(http, {"operation": "get-document-metadata", "document-id": doc}) == {
        "document-metadata": {**meta, "document-type": "source"},
        **EMPTY,
    }
    assert lib(http, {"operation": "get-document-content", "document-id": doc}) == {"content": b64(content), **EMPTY}
    for op in ("get-document-metadata", "get-document-content", "stream-document"):
        assert lib(http, {"operation": op, "document-id": "urn:nope"}) == error(
            "unexpected-error", "No such document row?"
        )
    listed = lib(http, {"operation": "list-documents"})["document-metadatas"]
    assert {**meta, "document-type": "source"} in listed
    # update-document replaces the metadata (the content stays).
    assert (
        lib(
            http,
            {
                "operation": "update-document",
                "document-metadata": {"id": doc, "title": "T2", "kind": "text/plain", "tags": ["y"]},
            },
        )
        == EMPTY
    )
    assert lib(http, {"operation": "get-document-metadata", "document-id": doc})["document-metadata"] == {
        "id": doc,
        "kind": "text/plain",
        "title": "T2",
        "metadata": [],
        "tags": ["y"],
        "document-type": "source",
    }
    assert lib(http, {"operation": "update-document", "document-metadata": {"id": "urn:nope"}}) == error(
        "unexpected-error", "Document does not exist"
    )
    # Children and answers are listed only with include-children; removing cascades.
    lib(
        http,
        {
            "operation": "add-document",
            "document-metadata": {"id": doc + "/p1", "kind": "text/plain", "parent-id": doc, "document-type": "page"},
            "content": b64(b"page"),
        },
    )
    assert all(d["id"] != doc + "/p1" for d in lib(http, {"operation": "list-documents"})["document-metadatas"])
    assert any(
        d["id"] == doc + "/p1"
        for d in lib(http, {"operation": "list-documents", "include-children": True})["document-metadatas"]
    )
    assert lib(http, {"operation": "remove-document", "document-id": doc}) == EMPTY
    assert lib(http, {"operation": "remove-document", "document-id": doc}) == error(
        "unexpected-error", "Document does not exist"
    )
    assert lib(http, {"operation": "get-document-content", "document-id": doc + "/p1"})["error"]["message"] == (
        "No such document row?"
    )
    # Decoding as the translator does: criteria need key/value/operator.
    assert lib(http, {"operation": "list-documents", "criteria": [{"key": "k"}]}) == {
        "error": {"type": "gateway-error", "message": "'value'"}
    }


def test_stream_document(local_gw: LocalGateway, http: Http) -> None:
    doc = f"urn:doc:{uuid.uuid4().hex[:8]}"
    content = b"hello world, this is a probe document"
    lib(
        http,
        {"operation": "add-document", "document-metadata": {"id": doc, "kind": "text/plain"}, "content": b64(content)},
    )
    mux = Mux(local_gw.url, TOKEN)
    try:
        frames = mux.request("s", "librarian", {"operation": "stream-document", "document-id": doc, "chunk-size": 10})
        empty = f"urn:doc:{uuid.uuid4().hex[:8]}"
        lib(
            http, {"operation": "add-document", "document-metadata": {"id": empty, "kind": "text/plain"}, "content": ""}
        )
        assert mux.request("e", "librarian", {"operation": "stream-document", "document-id": empty}) == [
            {"id": "e", "response": EMPTY, "complete": True}
        ]
    finally:
        mux.close()
    assert [f["complete"] for f in frames] == [False, False, False, True]
    # Exactly the real frames: chunk-index 0 is left out (falsy), as the translator does.
    assert frames[0]["response"] == {
        "content": b64(content[:10]),
        **EMPTY,
        "total-chunks": 4,
        "chunks-received": 1,
        "bytes-received": 10,
        "total-bytes": 37,
    }
    assert frames[3]["response"] == {
        "content": b64(content[30:]),
        **EMPTY,
        "total-chunks": 4,
        "chunk-index": 3,
        "chunks-received": 4,
        "bytes-received": 37,
        "total-bytes": 37,
    }
    assert b"".join(base64.b64decode(f["response"]["content"]) for f in frames) == content
    # REST returns the last chunk; /api/v1/document-stream the raw bytes.
    assert lib(http, {"operation": "stream-document", "document-id": doc, "chunk-size": 10})["content"] == b64(
        content[30:]
    )
    status, headers, body = http.get(f"/api/v1/document-stream?document-id={doc}&chunk-size=7")
    assert (status, body) == (200, content) and headers["Content-Type"] == "application/octet-stream"
    assert http.get("/api/v1/document-stream?document-id=urn:nope")[::2] == (200, b"")
    status, _h, body = http.get("/api/v1/document-stream")
    assert (status, body) == (500, b"Missing required parameter: document-id")
    assert http.get(f"/api/v1/document-stream?document-id={doc}", token="wrong")[0] == 401


def test_processing(http: Http) -> None:
    doc = f"urn:doc:{uuid.uuid4().hex[:8]}"
    lib(
        http,
        {"operation": "add-document", "document-metadata": {"id": doc, "kind": "text/plain"}, "content": b64(b"text")},
    )
    processing = {
        "id": doc + "-p",
        "document-id": doc,
        "time": 1,
        "flow": "default",
        "collection": "proc-coll",
        "tags": [],
    }
    # The local blueprint has no text-load interface: stored, then failing like the real one.
    assert lib(http, {"operation": "add-processing", "processing-metadata": processing}) == error(
        "unexpected-error", "'text-load'"
    )
    assert processing in lib(http, {"operation": "list-processing"})["processing-metadatas"]
    assert lib(http, {"operation": "add-processing", "processing-metadata": processing}) == error(
        "unexpected-error", "Processing already exists"
    )
    collections = http.post("/api/v1/collection-management", {"operation": "list-collections"})[1]["collections"]
    assert any(c["collection"] == "proc-coll" for c in collections)
    assert lib(
        http, {"operation": "add-processing", "processing-metadata": {**processing, "id": "p2", "flow": "nope"}}
    ) == error("unexpected-error", "Invalid flow ID nope for workspace default")
    assert lib(http, {"operation": "remove-processing", "processing-id": doc + "-p"}) == EMPTY
    assert lib(http, {"operation": "remove-processing", "processing-id": doc + "-p"}) == error(
        "unexpected-error", "Processing object does not exist"
    )


def test_chunked_upload(http: Http) -> None:
    doc = f"urn:doc:{uuid.uuid4().hex[:8]}"
    begun = lib(
        http,
        {
            "operation": "begin-upload",
            "document-metadata": {"id": doc, "time": 5, "kind": "text/plain", "title": "Up", "tags": ["a"]},
            "total-size": 25,
            "chunk-size": 10,
        },
    )
    upload = begun["upload-id"]
    assert begun == {**EMPTY, "upload-id": upload, "chunk-size": 10, "total-chunks": 3}
    # chunks-received counts the chunk just stored twice, as the real librarian does.
    assert lib(
        http, {"operation": "upload-chunk", "upload-id": upload, "chunk-index": 0, "content": b64(b"0123456789")}
    ) == {
        **EMPTY,
        "upload-id": upload,
        "total-chunks": 3,
        "chunks-received": 2,
        "bytes-received": 20,
        "total-bytes": 25,
    }
    assert (
        lib(http, {"operation": "upload-chunk", "upload-id": upload, "chunk-index": 2, "content": b64(b"abcde")})[
            "chunk-index"
        ]
        == 2
    )
    assert lib(http, {"operation": "upload-chunk", "upload-id": upload, "chunk-index": 7, "content": ""}) == error(
        "request-error", "Invalid chunk index 7, must be 0-2"
    )
    assert lib(http, {"operation": "get-upload-status", "upload-id": upload}) == {
        **EMPTY,
        "upload-id": upload,
        "total-chunks": 3,
        "chunks-received": 2,
        "bytes-received": 20,
        "total-bytes": 25,
        "upload-state": "in-progress",
        "received-chunks": [0, 2],
        "missing-chunks": [1],
    }
    [session] = [s for s in lib(http, {"operation": "list-uploads"})["upload-sessions"] if s["upload-id"] == upload]
    assert session["document-id"] == doc and session["total-size"] == 25 and session["chunks-received"] == 2
    assert lib(http, {"operation": "complete-upload", "upload-id": upload}) == error(
        "request-error", "Missing chunks: [1]"
    )
    lib(http, {"operation": "upload-chunk", "upload-id": upload, "chunk-index": 1, "content": b64(b"0123456789")})
    done = lib(http, {"operation": "complete-upload", "upload-id": upload})
    assert done["document-id"] == doc and done["object-id"]
    assert lib(http, {"operation": "get-upload-status", "upload-id": upload}) == {
        **EMPTY,
        "upload-id": upload,
        "upload-state": "expired",
    }
    assert lib(http, {"operation": "get-document-metadata", "document-id": doc})["document-metadata"] == {
        "id": doc,
        "time": 5,
        "kind": "text/plain",
        "title": "Up",
        "metadata": [],
        "tags": ["a"],
        "document-type": "source",
    }
    assert base64.b64decode(lib(http, {"operation": "get-document-content", "document-id": doc})["content"]) == (
        b"01234567890123456789abcde"
    )
    assert lib(http, {"operation": "abort-upload", "upload-id": upload}) == error(
        "request-error", "Upload session not found or expired"
    )
    assert lib(
        http, {"operation": "begin-upload", "document-metadata": {"id": doc, "kind": "text/plain"}, "total-size": 25}
    ) == error("request-error", "Document already exists")
    assert lib(
        http,
        {"operation": "begin-upload", "document-metadata": {"id": doc + "z", "kind": "text/plain"}, "total-size": 0},
    ) == error("request-error", "total_size must be positive")
    aborted = lib(
        http,
        {"operation": "begin-upload", "document-metadata": {"id": doc + "z", "kind": "text/plain"}, "total-size": 30},
    )
    assert aborted["chunk-size"] == 2 * 1024 * 1024 and aborted["total-chunks"] == 1
    assert lib(http, {"operation": "abort-upload", "upload-id": aborted["upload-id"]}) == EMPTY


def test_librarian_persists(tmp_path: Path) -> None:
    data = tmp_path / "gw"
    with LocalGateway(data=data, token=TOKEN) as gw:
        h = Http(gw.url, TOKEN)
        lib(
            h,
            {
                "operation": "add-document",
                "document-metadata": {"id": "urn:keep", "kind": "text/plain", "title": "Kept"},
                "content": b64(b"kept bytes"),
            },
        )
        upload = lib(
            h,
            {
                "operation": "begin-upload",
                "document-metadata": {"id": "urn:later", "kind": "text/plain"},
                "total-size": 4,
                "chunk-size": 2,
            },
        )["upload-id"]
        lib(h, {"operation": "upload-chunk", "upload-id": upload, "chunk-index": 0, "content": b64(b"ab")})
    with LocalGateway(data=data, token=TOKEN) as gw:
        h = Http(gw.url, TOKEN)
        assert (
            lib(h, {"operation": "get-document-metadata", "document-id": "urn:keep"})["document-metadata"]["title"]
            == "Kept"
        )
        assert h.get("/api/v1/document-stream?document-id=urn:keep")[2] == b"kept bytes"
        assert lib(h, {"operation": "get-upload-status", "upload-id": upload})["received-chunks"] == [0]
        lib(h, {"operation": "upload-chunk", "upload-id": upload, "chunk-index": 1, "content": b64(b"cd")})
        lib(h, {"operation": "complete-upload", "upload-id": upload})
        assert h.get("/api/v1/document-stream?document-id=urn:later")[2] == b"abcd"
        lib(h, {"operation": "remove-document", "document-id": "urn:keep"})
    assert len(list((data / "library" / "default" / "blobs").iterdir())) == 1


def test_iam_is_the_no_auth_regime(local_gw: LocalGateway, http: Http) -> None:
    anonymous = {
        "id": "anonymous",
        "default_workspace": "default",
        "username": "anonymous",
        "name": "Anonymous User",
        "email": "",
        "roles": ["admin"],
        "enabled": True,
        "must_change_password": False,
        "created": "",
    }
    assert http.post("/api/v1/iam", {"operation": "whoami"}) == (200, {"user": anonymous, "bootstrap_available": False})
    assert http.post("/api/v1/iam", {"operation": "nope"}) == (400, {"error": "unknown operation"})
    workspace = "ws-" + uuid.uuid4().hex[:6]
    mux = Mux(local_gw.url, TOKEN)
    try:
        assert mux.request("w", "iam", {"operation": "list-users"})[0]["response"] == {
            "users": [anonymous],
            "bootstrap_available": False,
        }
        assert mux.request("c", "iam", {"operation": "create-workspace", "workspace_record": {"id": workspace}})[0][
            "response"
        ] == {"bootstrap_available": False}
        flows = mux.request("f", "flow", {"operation": "list-flows"}, workspace=workspace)[0]["response"]
        assert flows["flow-ids"] == ["default"]
        greet = mux.request(
            "g", "prompt", {"id": "greet", "variables": {"name": "W"}}, flow="default", workspace=workspace
        )[0]["response"]
        assert greet["text"] == "Hello W"
    finally:
        mux.close()
