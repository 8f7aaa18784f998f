"""Shared helpers for the store_*.py benches against the REAL TrustGraph gateway.

Raw aiohttp / websockets only (no tg_connect code). What lives here:

* ``frames()``: pre-encoded triples import frames with unique IRIs per run;
* ``create_collection()``: collection-management update-collection (the stores need it);
* ``Counters``: the store counters read three ways:
    - ``prom``: through the gateway's Prometheus proxy (what a client can see; 5 s scrape),
    - ``direct``: the back end's own exposition on 127.0.0.1:8001 (ground truth, no scrape lag;
      only for measuring, a client cannot reach it),
    - ``queues``: RabbitMQ queue depths via rabbitmqctl (ground truth backlog);
* ``Sampler``: samples all of that every ``interval`` s into a JSONL file;
* ``Sender``: sends frames on an import socket with a PING after every k frames and records
  when each send() returned and when each PONG came back;
* ``probe_query()``: a REST triples query with a timeout (is the back end answering?).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

GW = os.environ.get("TG_GW", "http://127.0.0.1:8088")
WS_GW = GW.replace("http", "ws", 1)
TOKEN = os.environ.get("TG_TOKEN", "tg_x")
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DIRECT = os.environ.get("TG_BACKEND_METRICS", "http://127.0.0.1:8001/metrics")
RMQ_ENV = os.environ.get("TG_RMQ_ENV", "/tmp/tgreal/rabbitmq/env.sh")
BACKEND_LOG = os.environ.get("TG_BACKEND_LOG", "/tmp/tgreal/run/backend.log")
RMQ_LOG = os.environ.get("TG_RMQ_LOG", "/tmp/tgreal/rabbitmq/log/tgreal@localhost.log")
GATEWAY_LOG = os.environ.get("TG_GATEWAY_LOG", "/tmp/tgreal/run/gateway.log")
CONSUMER = "flow:tg:default:triples-store:default"
OUT_DIR = os.environ.get("STORE_BENCH_OUT", "/tmp/store_bench")


def import_url(kind: str = "triples", flow: str = "default") -> str:
    return f"{WS_GW}/api/v1/flow/{flow}/import/{kind}?token={TOKEN}"


def frames(
    run: str, n_triples: int, collection: str, frame_size: int = 1000, start: int = 0, kind: str = "triples"
) -> list[str]:
    """Pre-encoded frames; every triple unique (subject and literal carry run and index)."""
    out = []
    i = start
    end = start + n_triples
    while i < end:
        k = min(frame_size, end - i)
        fid = f"{run}-f{i // frame_size}"
        if kind == "triples":
            ts = [
                {
                    "s": {"t": "i", "i": f"http://bench.example/{run}/s{j}"},
                    "p": {"t": "i", "i": f"http://bench.example/p{j % 7}"},
                    "o": {"t": "l", "v": f"value {run} {j}"},
                }
                for j in range(i, i + k)
            ]
            out.append(json.dumps({"metadata": {"id": fid, "root": fid, "collection": collection}, "triples": ts}))
        elif kind == "entity-contexts":  # queue-only interface: no consumer, nothing stored
            es = [
                {
                    "entity": {"t": "i", "i": f"http://bench.example/{run}/s{j}"},
                    "context": f"value {run} {j} " + "x" * 60,
                }
                for j in range(i, i + k)
            ]
            out.append(json.dumps({"metadata": {"id": fid, "collection": collection}, "entities": es}))
        else:
            raise ValueError(kind)
        i += k
    return out


async def create_collection(session: aiohttp.ClientSession, c: str) -> dict:
    async with session.post(
        f"{GW}/api/v1/collection-management",
        headers=AUTH,
        json={"operation": "update-collection", "collection": c, "name": c, "workspace": "default"},
    ) as r:
        body = await r.json(content_type=None)
        if r.status != 200 or "error" in body:
            raise RuntimeError(f"update-collection {c}: {r.status} {body}")
        return body


# -- counters -----------------------------------------------------------------------------------

COUNTER_KEYS = ("tw_sum", "tw_count", "tw_ok", "tw_err", "kg_ok", "kg_err", "tw_dur")


def _empty() -> dict[str, float]:
    return {k: 0.0 for k in COUNTER_KEYS}


PROM_QUERIES = {
    "batch": '{__name__=~"tg_triples_store_write_batch_size_sum|tg_triples_store_write_batch_size_count'
    '|tg_triples_store_write_duration_seconds_sum"}',
    "proc": f'tg_consumer_processing_total{{consumer="{CONSUMER}"}}',
    # when the back end's counters were last scraped (the state gauge exists from consumer start)
    "scrape": f'max(timestamp(tg_consumer_state{{consumer="{CONSUMER}"}}))',
}


def _fill(d: dict[str, float], name: str, labels: dict[str, str], v: float) -> None:
    proc = labels.get("processor")
    if name == "tg_triples_store_write_batch_size_sum" and proc == "triples-write":
        d["tw_sum"] = v
    elif name == "tg_triples_store_write_batch_size_count" and proc == "triples-write":
        d["tw_count"] = v
    elif name == "tg_triples_store_write_duration_seconds_sum" and proc == "triples-write":
        d["tw_dur"] = v
    elif name == "tg_consumer_processing_total" and labels.get("consumer") == CONSUMER:
        key = {"triples-write": "tw", "kg-store": "kg"}.get(proc or "")
        st = {"ok": "ok", "error": "err"}.get(labels.get("status", ""))
        if key and st:
            d[f"{key}_{st}"] = v


async def prom_query(session: aiohttp.ClientSession, q: str, timeout: float = 5.0) -> list[dict]:
    async with session.get(
        f"{GW}/api/metrics/query", params={"query": q}, headers=AUTH, timeout=aiohttp.ClientTimeout(total=timeout)
    ) as r:
        body = await r.json(content_type=None)
        if not isinstance(body, dict) or body.get("status") != "success":
            raise RuntimeError(f"metrics {r.status}: {str(body)[:120]}")
        return body["data"]["result"]


async def read_prom(session: aiohttp.ClientSession, timeout: float = 30.0) -> dict[str, Any]:
    """Counters as a client sees them through /api/metrics (Prometheus proxy).

    Use a long timeout: a request the client gives up on is still served by the gateway later
    (it waits its turn for the back end's IAM), so short timeouts pile requests up there."""
    d: dict[str, Any] = _empty()
    for q in ("batch", "proc"):
        for r in await prom_query(session, PROM_QUERIES[q], timeout):
            _fill(d, r["metric"].get("__name__", ""), r["metric"], float(r["value"][1]))
    res = await prom_query(session, PROM_QUERIES["scrape"], timeout)
    d["scrape_ts"] = float(res[0]["value"][1]) if res else None
    return d


_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([^\s]+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


async def read_direct(session: aiohttp.ClientSession) -> dict[str, float]:
    """The same counters straight from the back end's exposition (no Prometheus)."""
    d = _empty()
    async with session.get(DIRECT, timeout=aiohttp.ClientTimeout(total=5)) as r:
        text = await r.text()
    for line in text.splitlines():
        if not line.startswith("tg_"):
            continue
        m = _LINE.match(line)
        if not m:
            continue
        labels = dict(_LABEL.findall(m.group(2) or ""))
        _fill(d, m.group(1), labels, float(m.group(3)))
    return d


def read_queues() -> dict[str, int]:
    """messages (ready+unacked) in the two triples-store queues, from rabbitmqctl."""
    cmd = f". {RMQ_ENV} && /usr/lib/rabbitmq/bin/rabbitmqctl -q list_queues name messages --timeout 10"
    try:
        out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=20, check=False).stdout
    except subprocess.TimeoutExpired:
        return {"error": -1}
    q: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and "triples-store" in parts[0] and parts[1].isdigit():
            if parts[0].endswith("triples-write--default--default--input"):
                q["q_tw"] = int(parts[1])
            elif parts[0].endswith("kg-store--default--default--triples-input"):
                q["q_kg"] = int(parts[1])
            else:
                q["q_other"] = q.get("q_other", 0) + int(parts[1])
    return q


async def probe_query(session: aiohttp.ClientSession, timeout: float = 60.0) -> float | str:
    """Latency of a tiny REST triples query, or a string saying how it failed
    ("401 after 10.0s", "timeout 60s", ...)."""
    t0 = time.monotonic()
    try:
        async with session.post(
            f"{GW}/api/v1/flow/default/service/triples",
            headers=AUTH,
            json={"p": {"t": "i", "i": "http://bench.example/none"}, "collection": "default", "limit": 1},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as r:
            body = await r.read()
            if r.status != 200 or b'"error"' in body:
                return f"{r.status} after {time.monotonic() - t0:.1f}s {body[:80]!r}"
    except TimeoutError:
        return f"timeout {timeout:.0f}s"
    except Exception as e:  # noqa: BLE001
        return f"{e!r} after {time.monotonic() - t0:.1f}s"
    return round(time.monotonic() - t0, 3)


class Sampler:
    """Every ``interval`` s: direct counters + Prometheus counters (+ queue depths every
    ``queue_every`` s, + a probe query every ``probe_every`` s). Records go to a JSONL file and
    stay in ``self.rows``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        path: str,
        interval: float = 1.0,
        queue_every: float = 5.0,
        probe_every: float = 0.0,
        prom: bool = True,
        prom_timeout: float = 30.0,
    ) -> None:
        self.session, self.path, self.interval = session, path, interval
        self.queue_every, self.probe_every, self.prom = queue_every, probe_every, prom
        self.rows: list[dict[str, Any]] = []
        self.t0 = time.monotonic()
        self.marks: dict[str, Any] = {}
        self._task: asyncio.Task | None = None
        self._last_q = -1e9
        self._last_probe = -1e9
        self.latest_q: dict[str, int] = {}
        self.latest_probe: float | str | None = None
        self.prom_timeout = prom_timeout
        self.probes: list[tuple[float, float | str]] = []  # (t sent, result)
        self._probe_task: asyncio.Task | None = None
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._fh = open(path, "w")

    def now(self) -> float:
        return time.monotonic() - self.t0

    def mark(self, key: str, value: Any) -> None:
        self.marks[key] = value

    async def _queues(self) -> None:
        self.latest_q = await asyncio.to_thread(read_queues)
        self.latest_q["q_t"] = round(self.now(), 2)

    async def _probe(self) -> None:
        t = round(self.now(), 2)
        self.latest_probe = await probe_query(self.session)
        self.probes.append((t, self.latest_probe))

    async def sample(self) -> dict[str, Any]:
        row: dict[str, Any] = {"t": round(self.now(), 3), "wall": time.time()}
        try:
            row["d"] = await read_direct(self.session)
        except Exception as e:  # noqa: BLE001
            row["d_err"] = repr(e)
        if self.prom:
            t_p = time.monotonic()
            try:
                row["p"] = await read_prom(self.session, self.prom_timeout)
            except Exception as e:  # noqa: BLE001
                row["p_err"] = repr(e)[:200]
            row["p_s"] = round(time.monotonic() - t_p, 2)
        now = self.now()
        if self.queue_every and now - self._last_q >= self.queue_every:
            self._last_q = now
            asyncio.create_task(self._queues())
        if (
            self.probe_every
            and now - self._last_probe >= self.probe_every
            and (self._probe_task is None or self._probe_task.done())
        ):  # one in flight at most
            self._last_probe = now
            self._probe_task = asyncio.create_task(self._probe())
        row["q"] = dict(self.latest_q)
        row["probe"] = self.latest_probe
        row.update(self.marks)
        self.rows.append(row)
        self._fh.write(json.dumps(row) + "\n")
        self._fh.flush()
        return row

    async def _loop(self) -> None:
        nxt = time.monotonic()
        while True:
            await self.sample()
            nxt += self.interval
            await asyncio.sleep(max(0.0, nxt - time.monotonic()))

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._fh.close()


@dataclass
class Sender:
    """An import socket with timing of every send() and every PING/PONG.

    A PING goes out after every ``ping_every`` frames; its PONG proves that the gateway has
    taken in (handed to the broker) every earlier frame (docs/reliability.md)."""

    ws: Any
    ping_every: int = 1
    t0: float = field(default_factory=time.monotonic)
    sent: int = 0
    send_done: list[float] = field(default_factory=list)  # t when send() of frame i returned
    pings: list[tuple[int, float]] = field(default_factory=list)  # (frames before it, t sent)
    pongs: dict[int, float] = field(default_factory=dict)  # frames before it -> t pong came
    confirmed: int = 0  # frames proved taken in
    _tasks: list[asyncio.Task] = field(default_factory=list)

    @classmethod
    async def open(cls, kind: str = "triples", ping_every: int = 1) -> Sender:
        import websockets

        ws = await websockets.connect(
            import_url(kind), max_size=None, compression=None, ping_interval=None, close_timeout=30
        )
        return cls(ws=ws, ping_every=ping_every)

    def now(self) -> float:
        return time.monotonic() - self.t0

    async def _wait_pong(self, n: int, waiter: Any) -> None:
        try:
            await waiter
        except Exception:  # noqa: BLE001
            return
        self.pongs[n] = self.now()
        self.confirmed = max(self.confirmed, n)

    async def ping(self) -> None:
        waiter = await self.ws.ping()
        self.pings.append((self.sent, self.now()))
        self._tasks.append(asyncio.create_task(self._wait_pong(self.sent, waiter)))

    async def send(self, frame: str) -> None:
        await self.ws.send(frame)
        self.sent += 1
        self.send_done.append(self.now())
        if self.ping_every and self.sent % self.ping_every == 0:
            await self.ping()

    async def drain(self, timeout: float = 600) -> None:
        """Wait for every outstanding PONG."""
        if self.ping_every == 0 or self.sent % self.ping_every:
            await self.ping()
        await asyncio.wait_for(asyncio.gather(*self._tasks), timeout)

    async def close(self) -> float:
        t = time.monotonic()
        await self.ws.close()
        return time.monotonic() - t

    def pong_table(self) -> list[dict[str, float]]:
        out = []
        for n, ts in self.pings:
            tp = self.pongs.get(n)
            out.append(
                {
                    "frames": n,
                    "ping_t": round(ts, 4),
                    "pong_t": None if tp is None else round(tp, 4),
                    "latency": None if tp is None else round(tp - ts, 4),
                }
            )
        return out


def log_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def log_since(
    path: str, offset: int, pattern: str = r"ERROR|WARNING|Traceback|heartbeat|onnection|stuck|closed"
) -> list[str]:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    rx = re.compile(pattern)
    return [ln for ln in text.splitlines() if rx.search(ln)]


def falkor_counts() -> dict[str, int]:
    """Node counts per label in the FalkorDB graph (ground truth of what is stored)."""
    code = (
        "from falkordb import FalkorDB;import json;"
        "g=FalkorDB.from_url('falkor://127.0.0.1:6380').select_graph('trustgraph');"
        "r=g.query('MATCH (n) RETURN labels(n)[0], count(n)').result_set;"
        "e=g.query('MATCH ()-[r]->() RETURN count(r)').result_set;"
        "print(json.dumps({'labels':{a:b for a,b in r},'rels':e[0][0]}))"
    )
    try:
        out = subprocess.run(
            ["/tmp/tgreal/venv/bin/python", "-c", code], capture_output=True, text=True, timeout=60, check=False
        ).stdout
        return json.loads(out)
    except Exception as e:  # noqa: BLE001
        return {"error": repr(e)}
