"""The flow layer's socket against a raw websockets client, on the same local server, in one run.

A minimal mux server in its own process authenticates the first frame and answers every
text-completion request at once: one complete frame, or, for ``"streaming": true``, N chunk
frames then a final one (N from the prompt). So the client side is what is measured:

* sequential round trips (one request at a time): tg_connect sync and async vs raw;
* 1,000 concurrent requests on one connection: tg_connect (``asyncio.gather`` on one socket;
  at most 16 in flight, the gateway's limit) vs a raw client pipelining 100 in flight;
* a streamed completion of 10,000 chunks: chunks/s, tg_connect sync and async vs raw;
* peak memory of a fresh process streaming 10,000 and 300,000 chunks (flat = bounded buffers).

    python bench/flow_mux.py [--round-trips 3000] [--concurrent 1000] [--chunks 10000] [--big-chunks 300000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from typing import Any

from server_process import spawn  # a sibling module: the benches run as scripts

TOKEN = "tg_bench"


def server(port_queue: mp.Queue[int]) -> None:
    import websockets

    async def handler(ws: Any) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            if msg.get("type") == "auth":
                await ws.send(json.dumps({"type": "auth-ok", "default_workspace": "default"}))
                continue
            rid = json.dumps(msg["id"])
            request = msg["request"]
            if request.get("streaming"):
                n = int(request["prompt"])
                head = (
                    '{"id": ' + rid + ', "response": {"response": " word", "end_of_stream": false}, "complete": false}'
                )
                for _ in range(n):
                    await ws.send(head)
                await ws.send(
                    '{"id": ' + rid + ', "response": {"response": "", "end_of_stream": true, '
                    '"in_token": 1, "out_token": ' + str(n) + '}, "complete": true}'
                )
            else:
                await ws.send(
                    '{"id": ' + rid + ', "response": {"response": "ok", "end_of_stream": true}, "complete": true}'
                )

    async def main() -> None:
        async with websockets.serve(handler, "127.0.0.1", 0, max_size=None, compression=None) as srv:
            port_queue.put(srv.sockets[0].getsockname()[1])
            await asyncio.Future()

    asyncio.run(main())


# -- the raw client ---------------------------------------------------------------------------


def envelope(rid: int, prompt: str, streaming: bool) -> str:
    return json.dumps(
        {
            "id": f"r{rid}",
            "service": "text-completion",
            "flow": "default",
            "workspace": "default",
            "request": {"system": "", "prompt": prompt, "streaming": streaming},
        }
    )


async def raw_connect(url: str) -> Any:
    import websockets

    ws = await websockets.connect(url, max_size=None, compression=None)
    await ws.send(json.dumps({"type": "auth", "token": TOKEN}))
    assert json.loads(await ws.recv())["type"] == "auth-ok"
    return ws


async def raw_round_trips(url: str, n: int) -> float:
    ws = await raw_connect(url)
    start = time.perf_counter()
    for i in range(n):
        await ws.send(envelope(i, "x", False))
        frame = json.loads(await ws.recv())
        assert frame["complete"] and frame["response"]["response"] == "ok"
    elapsed = time.perf_counter() - start
    await ws.close()
    return elapsed


async def raw_pipelined(url: str, n: int, window: int = 100) -> float:
    ws = await raw_connect(url)
    slots = asyncio.Semaphore(window)
    start = time.perf_counter()

    async def send() -> None:
        for i in range(n):
            await slots.acquire()
            await ws.send(envelope(i, "x", False))

    sender = asyncio.ensure_future(send())
    for _ in range(n):
        frame = json.loads(await ws.recv())
        assert frame["complete"]
        slots.release()
    await sender
    elapsed = time.perf_counter() - start
    await ws.close()
    return elapsed


async def raw_stream(url: str, chunks: int) -> float:
    ws = await raw_connect(url)
    start = time.perf_counter()
    await ws.send(envelope(0, str(chunks), True))
    received = 0
    while True:
        frame = json.loads(await ws.recv())
        received += 1
        if frame["complete"]:
            break
    elapsed = time.perf_counter() - start
    assert received == chunks + 1
    await ws.close()
    return elapsed


# -- tg_connect -------------------------------------------------------------------------------


def ours_round_trips_sync(base: str, n: int) -> float:
    import tg_connect

    with tg_connect.Api(base, token=TOKEN) as api:
        flow = api.socket().flow("default")
        flow.text_completion("", "x")  # connect
        start = time.perf_counter()
        for _ in range(n):
            assert flow.text_completion("", "x") == "ok"
        return time.perf_counter() - start


async def ours_round_trips_async(base: str, n: int) -> float:
    import tg_connect

    async with tg_connect.Api(base, token=TOKEN) as api:
        flow = api.async_socket().flow("default")
        await flow.text_completion("", "x")
        start = time.perf_counter()
        for _ in range(n):
            assert await flow.text_completion("", "x") == "ok"
        return time.perf_counter() - start


async def ours_concurrent(base: str, n: int) -> float:
    import tg_connect

    async with tg_connect.Api(base, token=TOKEN) as api:
        flow = api.async_socket().flow("default")
        await flow.text_completion("", "x")
        start = time.perf_counter()
        answers = await asyncio.gather(*[flow.text_completion("", "x") for _ in range(n)])
        elapsed = time.perf_counter() - start
        assert answers == ["ok"] * n
        return elapsed


async def ours_stream_async(base: str, chunks: int) -> float:
    import tg_connect

    async with tg_connect.Api(base, token=TOKEN) as api:
        flow = api.async_socket().flow("default")
        await flow.text_completion("", "x")
        start = time.perf_counter()
        received = 0
        async for _chunk in flow.text_completion("", str(chunks), streaming=True):
            received += 1
        elapsed = time.perf_counter() - start
        assert received == chunks + 1
        return elapsed


def ours_stream_sync(base: str, chunks: int) -> float:
    import tg_connect

    with tg_connect.Api(base, token=TOKEN) as api:
        flow = api.socket().flow("default")
        flow.text_completion("", "x")
        start = time.perf_counter()
        received = sum(1 for _ in flow.text_completion("", str(chunks), streaming=True))
        elapsed = time.perf_counter() - start
        assert received == chunks + 1
        return elapsed


def peak_rss_mb(base: str, chunks: int, sync: bool) -> float:
    """Peak RSS (VmHWM) of a fresh process that streams ``chunks`` chunks and counts them."""
    face = "socket" if sync else "async_socket"
    loop = (
        "n = sum(1 for _ in api.socket().flow('default').text_completion('', str(N), streaming=True))"
        if sync
        else "import asyncio\n"
        "async def go():\n"
        "    async with api:\n"
        "        return sum([1 async for _ in api.async_socket().flow('default').text_completion('', str(N),"
        " streaming=True)])\n"
        "n = asyncio.run(go())"
    )
    code = (
        f"import tg_connect\nN = {chunks}\napi = tg_connect.Api({base!r}, token={TOKEN!r})\n{loop}\n"
        f"assert n == N + 1, ({face!r}, n)\napi.close()\n"
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def best(repeat: int, *fns: Any) -> list[float]:
    """The best time of each function, run in turns so that all see the same machine load."""
    times = [[] for _ in fns]  # type: list[list[float]]
    for _ in range(repeat):
        for t, fn in zip(times, fns, strict=True):
            t.append(fn())
    return [min(t) for t in times]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--round-trips", type=int, default=3000)
    ap.add_argument("--concurrent", type=int, default=1000)
    ap.add_argument("--chunks", type=int, default=10_000)
    ap.add_argument("--big-chunks", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    proc, port = spawn(server)
    base = f"http://127.0.0.1:{port}"
    url = f"ws://127.0.0.1:{port}/api/v1/socket"
    r = args.repeat
    try:
        n, c, k = args.round_trips, args.concurrent, args.chunks
        raw_rt, async_rt, sync_rt = best(
            r,
            lambda: asyncio.run(raw_round_trips(url, n)),
            lambda: asyncio.run(ours_round_trips_async(base, n)),
            lambda: ours_round_trips_sync(base, n),
        )
        raw_pipe, ours_conc = best(
            r, lambda: asyncio.run(raw_pipelined(url, c)), lambda: asyncio.run(ours_concurrent(base, c))
        )
        raw_st, async_st, sync_st = best(
            r,
            lambda: asyncio.run(raw_stream(url, k)),
            lambda: asyncio.run(ours_stream_async(base, k)),
            lambda: ours_stream_sync(base, k),
        )
        memory = {
            f"{face} {m:,} chunks": round(peak_rss_mb(base, m, face == "sync"), 1)
            for face in ("async", "sync")
            for m in (k, args.big_chunks)
        }
        result = {
            "round_trips_per_s": {
                "raw": round(n / raw_rt),
                "tg_connect_async": round(n / async_rt),
                "tg_connect_sync": round(n / sync_rt),
            },
            "round_trip_ratio": {"async": round(raw_rt / async_rt, 3), "sync": round(raw_rt / sync_rt, 3)},
            "concurrent_requests_per_s": {
                "raw_pipelined_100": round(c / raw_pipe),
                "tg_connect_gather": round(c / ours_conc),
            },
            "concurrent_ratio": round(raw_pipe / ours_conc, 3),
            "stream_chunks_per_s": {
                "raw": round(k / raw_st),
                "tg_connect_async": round(k / async_st),
                "tg_connect_sync": round(k / sync_st),
            },
            "stream_ratio": {"async": round(raw_st / async_st, 3), "sync": round(raw_st / sync_st, 3)},
            "peak_rss_mb": memory,
            "cpus": os.cpu_count(),
        }
        print(json.dumps(result, indent=2))
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
