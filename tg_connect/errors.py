"""One exception hierarchy for everything tg_connect raises.

``TgConnectError`` is the root. Connection problems are also builtin ``ConnectionError``s
and timeouts also ``TimeoutError``s, so code written against the standard library keeps
working. Messages name the endpoint, row, column or field at fault and never contain a
token: every constructor here receives already-redacted text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


class TgConnectError(Exception):
    """Base class of every error raised by tg_connect.

    A read that fails part way says how far it got, so nothing read is lost and nothing short
    passes for complete: ``rows_read`` is the number of rows it had delivered before the error
    (``None`` on errors that do not come from a read), and ``partial`` holds those rows as a
    ``pyarrow.Table`` when the call was collecting them for the caller (``read_trustgraph``,
    ``Api.bulk().read``). A ``read_batches`` consumer already has every batch it was given,
    so there ``partial`` stays ``None``.
    """

    rows_read: int | None = None
    partial: pa.Table | None = None


class GatewayConnectionError(TgConnectError, ConnectionError):
    """The gateway could not be reached, or a connection to it was lost."""


class GatewayTimeoutError(TgConnectError, TimeoutError):
    """The gateway did not answer within the configured timeout."""


class AuthenticationError(TgConnectError, PermissionError):
    """The gateway refused the credential (HTTP 401, or an ``auth-failed`` frame).

    ``transient`` is true when the refusal came for one request on a socket whose token the
    gateway had accepted: then its IAM service failed or timed out while authorising the
    request (the 2.11 gateway fails closed), and the same request may well pass if retried.
    """

    def __init__(
        self, endpoint: str, detail: str = "auth failure", *, transient: bool = False, advice: str | None = None
    ) -> None:
        self.endpoint = endpoint
        self.detail = detail
        self.transient = transient
        if advice is None:
            advice = (
                (
                    "the socket's token had been accepted, so the gateway's IAM service failed or"
                    " timed out while authorising this request; retry"
                )
                if transient
                else "check the token"
            )
        super().__init__(f"authentication failed at {endpoint}: {detail} ({advice})")


class AccessDeniedError(TgConnectError, PermissionError):
    """The credential is valid but lacks the capability (HTTP 403)."""

    def __init__(self, endpoint: str, detail: str = "access denied") -> None:
        self.endpoint = endpoint
        self.detail = detail
        super().__init__(f"access denied at {endpoint}: {detail}")


class ServiceError(TgConnectError):
    """A gateway service reported an error, or returned a reply missing what it must carry.

    ``service`` is the gateway service name (``triples``, ``config``...), ``type`` the
    gateway's error type (``gateway-error``, ``triples-query-error``...) and ``message``
    its text.
    """

    def __init__(self, service: str, type: str, message: str) -> None:
        self.service = service
        self.type = type
        self.message = message
        super().__init__(f"{service}: {type}: {message}" if message else f"{service}: {type}")


class NotFoundError(TgConnectError, LookupError):
    """The flow, interface, collection or knowledge core named does not exist on the gateway.

    Checked before anything is sent: the gateway itself would accept the data and drop it.
    """


class ProtocolError(TgConnectError):
    """The gateway sent something that does not follow the wire protocol."""


class InputError(TgConnectError, ValueError):
    """Input data cannot be used: a missing column, a wrong type, an unreadable file.

    ``source`` names the file or object, ``column`` and ``row`` locate the fault when known.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        column: str | None = None,
        row: int | None = None,
    ) -> None:
        self.source = source
        self.column = column
        self.row = row
        where = []
        if source is not None:
            where.append(f"source {source}")
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
