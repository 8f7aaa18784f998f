"""Async REST calls to the gateway over one aiohttp session.

Bearer auth on every request; errors from the HTTP status and from the body (in every form
the gateway uses) become :mod:`tg_connect.errors` exceptions naming the endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from ..errors import GatewayConnectionError, GatewayTimeoutError, ProtocolError
from ..protocol import replies
from ..protocol.endpoints import flow_service_path, global_service_path, http_base
from .connect import finish_without_loop, http_session, no_answer


class AsyncRestClient:
    """POSTs JSON to global and flow services. The session opens on first use."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 60.0, verify: bool = True) -> None:
        self.base = http_base(url)
        self._token = token
        self.timeout = timeout
        self.verify = verify
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"AsyncRestClient({self.base!r})"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = http_session(self.base, verify=self.verify, timeout=self.timeout)
        return self._session

    async def post(self, path: str, body: Mapping[str, Any], service: str, *, check: bool = True) -> Mapping[str, Any]:
        """POST ``body``; HTTP errors raise. With ``check=False`` an ``error`` in the reply
        body is left for the caller instead of raised."""
        session = self._open()
        endpoint = self.base + path
        try:
            async with session.post(endpoint, json=body, headers=self._headers()) as resp:
                text = await resp.text()
                try:
                    data = json.loads(text) if text else {}
                except json.JSONDecodeError:
                    data = text
                replies.raise_for_http(resp.status, data, endpoint)
        except TimeoutError:
            raise GatewayTimeoutError(f"{endpoint}: no reply within {self.timeout} s") from None
        except aiohttp.ClientConnectorError as exc:
            raise no_answer(endpoint, exc) from None
        except aiohttp.ClientError as exc:
            raise GatewayConnectionError(f"cannot reach {endpoint}: {exc}") from None
        if not isinstance(data, Mapping):
            raise ProtocolError(f"{endpoint}: reply is not a JSON object")
        if check:
            replies.raise_for_reply(service, data)
        return data

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> tuple[int, Any]:
        """GET ``path``; 401 and 403 raise, any other status is returned with the body
        (parsed JSON, or text when it is not JSON)."""
        session = self._open()
        endpoint = self.base + path
        try:
            async with session.get(endpoint, params=params, headers=self._headers()) as resp:
                text = await resp.text()
                status = resp.status
        except TimeoutError:
            raise GatewayTimeoutError(f"{endpoint}: no reply within {self.timeout} s") from None
        except aiohttp.ClientConnectorError as exc:
            raise no_answer(endpoint, exc) from None
        except aiohttp.ClientError as exc:
            raise GatewayConnectionError(f"cannot reach {endpoint}: {exc}") from None
        try:
            data: Any = json.loads(text) if text else None
        except json.JSONDecodeError:
            data = text
        if status in (401, 403):
            replies.raise_for_http(status, data, endpoint)
        return status, data

    async def global_service(self, kind: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        return await self.post(global_service_path(kind), body, kind)

    async def flow_service(self, flow: str, kind: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        return await self.post(flow_service_path(flow, kind), body, kind)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def discard(self) -> None:
        """Close the session here and now, for when its event loop no longer runs.

        Nothing can be awaited on a stopped or closed loop, and aiohttp's close has nothing to
        wait for there, so it is run to its end without one. A session left unclosed would be
        reported ("Unclosed client session") when it is garbage-collected.
        """
        session, self._session = self._session, None
        if session is not None and not session.closed:
            finish_without_loop(session.close())
