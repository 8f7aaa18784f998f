"""Builders of the IAM service: who the caller is, and the users of the deployment.

The worked example of docs/architecture.md ("adding a service"): these builders, their
``@method("iam")`` registrations and the local gateway's ``iam`` handler are all it took to get
``api.flow().iam().whoami()`` on the sync, async, REST and socket faces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...types import IamUser
from ..calls import Call, call_single
from ..registry import method


def _user(record: Any) -> IamUser:
    """An :class:`IamUser` from the reply's user record (fields the gateway leaves out take defaults)."""
    r: Mapping[str, Any] = record if isinstance(record, Mapping) else {}

    def text(key: str) -> str:
        value = r.get(key)
        return value if isinstance(value, str) else ""

    roles = r.get("roles")
    return IamUser(
        id=text("id"),
        username=text("username"),
        name=text("name"),
        email=text("email"),
        roles=tuple(str(x) for x in roles) if isinstance(roles, list) else (),
        enabled=r.get("enabled") is not False,
        default_workspace=text("default_workspace"),
        must_change_password=r.get("must_change_password") is True,
        created=text("created"),
    )


@method("iam", example={})
def whoami() -> Call[Mapping[str, Any], IamUser]:
    """The user the gateway takes the caller's token for."""
    return call_single("iam", {"operation": "whoami"}, lambda r: _user(r.get("user")), ("user",))


@method("iam", example={})
def list_users() -> Call[Mapping[str, Any], list[IamUser]]:
    """Every user of the deployment."""
    return call_single(
        "iam", {"operation": "list-users"}, lambda r: [_user(u) for u in r.get("users") or []], ("users",)
    )
