"""A scripted stand-in gateway for failure paths real gateways cannot be made to produce on
demand: dropped sockets, stalls, error frames, slow streams, refused tokens.

Each service answers with its script: a list of steps, each a response frame
(``{"response": ..., "complete": ...}`` or ``{"error": ...}``; the request id is added),
:class:`Sleep`, :class:`Drop` (abort the TCP connection) or :class:`Hang` (send nothing more).
REST answers the first final or error frame's ``response`` (or ``error``), as the real gateway does.
The server runs on its own loop in a thread and records what it received.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web


@dataclass
class Sleep:
    seconds: float


@dataclass
class Drop:
    pass


@dataclass
class Hang:
    pass


Step = dict[str, Any] | Sleep | Drop | Hang


def frames(*responses: dict[str, Any]) -> list[Step]:
    """Response frames, the last one complete."""
    return [{"response": r, "complete": i == len(responses) - 1} for i, r in enumerate(responses)]


@dataclass
class ScriptedGateway:
    token: str = "tg_good"
    scripts: dict[str, list[Step] | Callable[[dict[str, Any]], list[Step]]] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    sent: int = 0
    sockets_opened: int = 0
    sockets_closed: int = 0

    def start(self) -> ScriptedGateway:
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve(ready))
            self._loop.run_forever()

        self._thread = threading.Thread(target=main, name="scripted-gateway", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    async def _serve(self, ready: threading.Event) -> None:
        self._release = asyncio.Event()  # ends every Hang when the server stops
        app = web.Application()
        app.router.add_get("/api/v1/socket", self._socket)
        app.router.add_post("/api/v1/flow/{flow}/service/{kind}", self._rest)
        app.router.add_post("/api/v1/{kind}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._release.set)
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, service: str, request: dict[str, Any]) -> list[Step]:
        script = self.scripts.get(service, frames({"error": {"type": "error", "message": f"no script for {service}"}}))
        return script(request) if callable(script) else script

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "auth failure"}, status=401)
        body = await request.json()
        self.received.append({"path": request.path, "body": body})
        answer: Any = {}
        for step in self.script(request.match_info["kind"], body):
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, (Drop, Hang)):
                if isinstance(step, Hang):
                    await self._release.wait()
                assert request.transport is not None
                request.transport.abort()
                return web.Response()
            else:
                answer = step.get("response", {"error": step.get("error")})
                if step.get("complete") or "error" in answer:  # as the real requestor: the final or error frame
                    break
        return web.json_response(answer)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self.sockets_opened += 1
        authed = False
        tasks: set[asyncio.Task[None]] = set()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                if data.get("type") == "auth":
                    authed = data.get("token") == self.token
                    await ws.send_json(
                        {"type": "auth-ok", "default_workspace": "default"}
                        if authed
                        else {"type": "auth-failed", "error": "auth failure"}
                    )
                    continue
                self.received.append(data)
                if not authed:
                    await ws.send_json(
                        {
                            "id": data.get("id"),
                            "error": {"message": "auth failure", "type": "auth-required"},
                            "complete": True,
                        }
                    )
                    continue
                task = asyncio.ensure_future(self._play(ws, request, data))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            for task in tasks:
                task.cancel()
            self.sockets_closed += 1
        return ws

    async def _play(self, ws: web.WebSocketResponse, request: web.Request, data: dict[str, Any]) -> None:
        for step in self.script(data["service"], data.get("request") or {}):
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, Hang):
                await self._release.wait()
                return
            elif isinstance(step, Drop):
                assert request.transport is not None
                request.transport.abort()
                return
            else:
                await ws.send_str(json.dumps({"id": data["id"], **step}))
                self.sent += 1
