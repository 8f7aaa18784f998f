"""A knowledge core carries the library document of its id: export-core streams the document
(and its children) after the core's rows, and import-core puts it into the librarian.

Raw HTTP, on both gateways, since this is the wire a core file moves on.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import aiohttp
import msgpack

from tg_connect.transport import bridge

from ..conftest import Gateway

TEXT = b"hello world, from a library document"


def call(gateway: Gateway, method: str, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, bytes]:
    async def run() -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {gateway.token}"} if gateway.token else {}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
            data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
            async with session.request(method, gateway.url + path, data=data, headers=headers) as response:
                return response.status, await response.read()

    return bridge.run(run())


def post(gateway: Gateway, service: str, body: dict[str, Any]) -> Any:
    status, data = call(gateway, "POST", f"/api/v1/{service}", body)
    assert status == 200, (service, body, data)
    reply = json.loads(data or b"null")
    assert not (isinstance(reply, dict) and reply.get("error")), reply
    return reply


def export_items(gateway: Gateway, core_id: str) -> list[Any]:
    status, data = call(gateway, "GET", f"/api/v1/export-core?id={core_id}&workspace=default")
    assert status == 200
    return list(msgpack.Unpacker(io.BytesIO(data), raw=False))


def test_a_core_carries_its_library_document(gateway: Gateway, run_id: str) -> None:
    doc = f"urn:tg-connect-test:core-doc-{run_id}"
    metadata = {
        "id": doc,
        "kind": "text/plain",
        "title": "A document",
        "comments": "for a core",
        "tags": ["t1"],
        "time": 0,
        "metadata": [],
    }
    post(
        gateway,
        "librarian",
        {"operation": "add-document", "document-metadata": metadata, "content": base64.b64encode(TEXT).decode()},
    )
    triple = {
        "s": {"t": "i", "i": f"http://example.org/{run_id}/s"},
        "p": {"t": "i", "i": "http://example.org/p"},
        "o": {"t": "l", "v": "v"},
    }
    post(
        gateway,
        "knowledge",
        {
            "operation": "put-kg-core",
            "id": doc,
            "triples": {"metadata": {"id": doc, "collection": "default"}, "triples": [triple]},
            "graph-embeddings": {
                "metadata": {"id": doc, "collection": "default"},
                "entities": [{"entity": triple["s"], "vector": [0.5, 0.25]}],
            },
        },
    )
    items = gateway.eventually(lambda: export_items(gateway, doc), lambda got: len(got) >= 4, timeout=30)
    assert [tag for tag, _body in items] == ["t", "ge", "lm", "lb"]
    assert items[2][1] == {
        "i": doc,
        "k": "text/plain",
        "t": "A document",
        "p": "",
        "d": "source",
        "c": "for a core",
        "g": ["t1"],
    }
    assert items[3][1] == {"i": doc, "d": base64.b64encode(TEXT).decode()}  # the librarian's base64 text

    # Deleting the core leaves the document; importing the core file brings a deleted one back.
    post(gateway, "knowledge", {"operation": "delete-kg-core", "id": doc})
    listed = post(gateway, "librarian", {"operation": "list-documents"})["document-metadatas"]
    assert doc in [d["id"] for d in listed]
    post(gateway, "librarian", {"operation": "remove-document", "document-id": doc})
    copy = f"core-copy-{run_id}"
    status, _body = call(
        gateway,
        "POST",
        f"/api/v1/import-core?id={copy}&workspace=default",
        raw=b"".join(msgpack.packb(item, use_bin_type=True) for item in items),
    )
    assert status == 200

    def content() -> bytes | None:
        status, data = call(
            gateway, "POST", "/api/v1/librarian", {"operation": "get-document-content", "document-id": doc}
        )
        reply = json.loads(data or b"null")
        return base64.b64decode(reply["content"]) if status == 200 and reply.get("content") else None

    assert gateway.eventually(content, lambda got: got is not None, timeout=30) == TEXT
    meta = post(gateway, "librarian", {"operation": "get-document-metadata", "document-id": doc})["document-metadata"]
    assert (meta["title"], meta["kind"], meta.get("tags")) == ("A document", "text/plain", ["t1"])
    # The copy's own id names no library document: it carries the rows only.
    copied = gateway.eventually(lambda: export_items(gateway, copy), lambda got: len(got) >= 2, timeout=30)
    assert [tag for tag, _body in copied] == ["t", "ge"]
    post(gateway, "librarian", {"operation": "remove-document", "document-id": doc})
