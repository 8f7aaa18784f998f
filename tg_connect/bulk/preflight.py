"""Checks made before a load sends anything: the gateway answers, the flow exists and has the
kind's interface, the collection exists (or is created).

The gateway cannot say any of this once data flows: its import sockets never answer, an
import to an unknown flow is accepted and dropped (or closed at once), and its stores drop
writes to unknown collections. So a load asks first, over REST, and names what is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import AuthenticationError, NotFoundError
from ..flow.core import AsyncCollection, AsyncFlow
from ..flow.transports import RestTransport
from ..protocol import schemas
from ..protocol.endpoints import redact, store_interface
from ..target import Target
from ..transport.connect import auth_refused
from ..wording import setting


@dataclass(frozen=True)
class LoadTarget:
    """What the checks found: the flow topic a kind's messages are published on (``None``
    where the gateway's flow description does not name one)."""

    flow: str
    interface: str
    topic: str | None


def token_advice(target: Target, exc: AuthenticationError) -> AuthenticationError:
    """``exc`` restated to say whether a token was missing or was refused, and how to pass one."""
    if exc.transient:
        return exc
    return auth_refused(exc.endpoint, token_given=bool(target.token))


def _interfaces(description: Mapping[str, Any]) -> Mapping[str, Any]:
    found = description.get("interfaces")
    return found if isinstance(found, Mapping) else {}


async def check_load_target(
    target: Target, kind: schemas.Kind, flow: str, collection: str, *, create_collection: bool
) -> LoadTarget:
    """Raise :class:`NotFoundError` naming the unknown flow, interface or collection; create
    the collection when asked. Returns the flow topic the load's messages go to."""
    transport = RestTransport(target)
    try:
        flows = AsyncFlow(transport)
        try:
            known = await flows.list()
        except AuthenticationError as exc:
            raise token_advice(target, exc) from None
        if flow not in known:
            have = ", ".join(repr(f) for f in known) or "none"
            raise NotFoundError(
                f"unknown flow {flow!r} at {redact(target.url)} (workspace"
                f" {target.workspace!r} has: {have}); pass {setting('flow', 'NAME')}"
            )
        interface = store_interface(kind)
        spec = _interfaces(await flows.get(flow)).get(interface)
        if spec is None:
            raise NotFoundError(f"flow {flow!r} has no {interface!r} interface, so it cannot take {kind}")
        topic = spec.get("flow") if isinstance(spec, Mapping) else None
        await _check_collection(transport, collection, create_collection)
        return LoadTarget(flow, interface, topic if isinstance(topic, str) else None)
    finally:
        await transport.aclose()


async def _check_collection(transport: RestTransport, collection: str, create: bool) -> None:
    """The real gateway's stores drop writes to a collection that is not configured."""
    collections = AsyncCollection(transport)
    names = {c.collection for c in await collections.list_collections()}
    if collection in names:
        return
    if not create:
        raise NotFoundError(
            f"unknown collection {collection!r} (the gateway's stores would drop the"
            f" data); pass {setting('create_collection', True)} or create it first"
        )
    await collections.update_collection(collection, name=collection)
