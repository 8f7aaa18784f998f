"""Helpers for talking to a LocalGateway over real sockets, synchronously.

HTTP goes through urllib and WebSockets through ``websockets.sync``, so the tests are
plain sync functions (no pytest-asyncio) while the gateway runs on its own thread.
"""

from __future__ import annotations

import inspect
import json
import os
import threading
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from ..processes import ctrl_c_as_at_a_terminal

TOKEN = "tg_local_test_token"

# websockets 17.1 and later take ``legacy=True`` to return the connection itself, without the
# warning about connect() outside a ``with``; earlier versions do so anyway and lack the flag.
_CONNECT_OPTIONS: dict[str, Any] = {"legacy": True} if "legacy" in inspect.signature(connect).parameters else {}


class Http:
    def __init__(self, base: str, token: str | None) -> None:
        self.base = base
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        token: Any = "default",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        token = self.token if token == "default" else token
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, _headers, data = self.request("POST", path, body, **kw)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data

    def get(self, path: str, **kw: Any) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path, **kw)


def ws_url(base: str, path: str, **query: str) -> str:
    url = "ws" + base[len("http") :] + path
    return url + ("?" + urlencode(query) if query else "")


def ws_connect(url: str) -> ClientConnection:
    return connect(
        url, proxy=None, max_size=None, compression=None, open_timeout=10, close_timeout=10, **_CONNECT_OPTIONS
    )


class Mux:
    """A ``/api/v1/socket`` client that collects the frames of each request id."""

    def __init__(self, base: str, token: str | None = None, auth: bool = True) -> None:
        self.ws = ws_connect(ws_url(base, "/api/v1/socket"))
        self.pending: dict[Any, list[dict[str, Any]]] = {}
        if auth:
            reply = self.auth(token)
            assert reply == {"type": "auth-ok", "default_workspace": "default"}, reply

    def auth(self, token: str | None) -> dict[str, Any]:
        self.ws.send(json.dumps({"type": "auth", "token": token or ""}))
        return self.recv()

    def send(self, frame: Any) -> None:
        self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    def recv(self, timeout: float = 30) -> dict[str, Any]:
        return json.loads(self.ws.recv(timeout=timeout))  # type: ignore[no-any-return]

    def request(
        self, rid: str, service: str, request: Any, flow: str | None = None, workspace: str | None = None
    ) -> list[dict[str, Any]]:
        env: dict[str, Any] = {"id": rid, "service": service, "request": request}
        if flow is not None:
            env["flow"] = flow
        if workspace is not None:
            env["workspace"] = workspace
        self.send(env)
        return self.collect(rid)

    def collect(self, rid: Any, timeout: float = 60) -> list[dict[str, Any]]:
        frames = self.pending.setdefault(rid, [])
        while not (frames and (frames[-1].get("complete") or "error" in frames[-1])):
            frame = self.recv(timeout)
            self.pending.setdefault(frame.get("id"), []).append(frame)
        return self.pending.pop(rid)

    def close(self) -> None:
        self.ws.close()


class Tap:
    """An export socket read on a thread, collecting frames."""

    def __init__(self, base: str, kind: str, token: str | None, flow: str = "default", **query: str) -> None:
        params = dict(query)
        if token:
            params["token"] = token
        self.ws = ws_connect(ws_url(base, f"/api/v1/flow/{flow}/export/{kind}", **params))
        self.frames: list[Any] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for message in self.ws:
                with self._cond:
                    self.frames.append(json.loads(message))
                    self._cond.notify_all()
        except ConnectionClosed:
            pass

    def wait_for(self, count: int, timeout: float = 10) -> list[Any]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.frames) >= count, timeout)
            return list(self.frames)

    def close(self) -> None:
        self.ws.close()
        self._thread.join(5)


def import_frames(
    base: str, kind: str, frames: list[Any], token: str | None, flow: str = "default", **query: str
) -> None:
    params = dict(query)
    if token:
        params["token"] = token
    with ws_connect(ws_url(base, f"/api/v1/flow/{flow}/import/{kind}", **params)) as ws:
        for frame in frames:
            ws.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))


class ServerProcess:
    """``tg-connect serve`` in a process of its own (``--port 0``: the URL is read from the
    first line it prints); stderr goes to a file, so a chatty server never blocks."""

    def __init__(self, *args: str, stderr_path: Any) -> None:
        import subprocess
        import sys
        from pathlib import Path

        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        env.pop("TRUSTGRAPH_TOKEN", None)
        self.stderr_path = stderr_path
        self._stderr = open(stderr_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tg_connect", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
            preexec_fn=ctrl_c_as_at_a_terminal,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if not first.startswith("tg-connect local gateway at "):
            self.kill()
            raise RuntimeError(f"the server did not start: {first!r} {self.stderr()!r}")
        self.url = first.split(" at ", 1)[1].strip()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def rss_mb(self) -> tuple[int, int]:
        """(resident set now, its peak so far) in MB, from /proc."""
        text = open(f"/proc/{self.pid}/status").read()
        values = {
            line.split(":")[0]: int(line.split()[1]) // 1024
            for line in text.splitlines()
            if line.startswith(("VmRSS:", "VmHWM:"))
        }
        return values["VmRSS"], values["VmHWM"]

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._close_files()

    def stop(self) -> None:
        """Ctrl-C, as a user stops it."""
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except Exception:
                self.proc.kill()
                self.proc.wait(30)
        self._close_files()

    def _close_files(self) -> None:
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
