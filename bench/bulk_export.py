"""Triples export (tail) into Arrow, against a raw websockets receiver, in the same run.

A source server in its own process answers the export socket by sending the same
pre-encoded frames (1,000 triples each) as fast as it can, then closing. The raw client only
receives frames (no decoding); tg_connect decodes them into Arrow record batches through
``read_batches(source="tail")``. Peak memory is measured for exporting to Parquet at two sizes.

    python bench/bulk_export.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import subprocess
import sys
import time

from server_process import spawn  # a sibling module: the benches run as scripts


def source(port_queue: mp.Queue[int], rows: int, batch_size: int) -> None:
    import websockets

    from tg_connect.protocol import messages
    from tg_connect.sample import sample_triples

    table = sample_triples(min(rows, 200_000)).combine_chunks().to_batches()[0]
    meta = messages.Metadata("bench", "default", "bench")
    frames = [bytes(f) for f, _, _ in messages.encode_messages("triples", table, meta, batch_size)]

    async def handler(ws: websockets.ServerConnection) -> None:
        total = 0
        while total < rows:
            for frame in frames:
                await ws.send(frame, text=True)
                total += batch_size
                if total >= rows:
                    break
        await ws.close()

    async def main() -> None:
        async with websockets.serve(handler, "127.0.0.1", 0, max_size=None, compression=None) as server:
            port_queue.put(server.sockets[0].getsockname()[1])
            await asyncio.Future()

    asyncio.run(main())


async def raw_receive(url: str) -> float:
    import websockets

    start = time.perf_counter()
    async with websockets.connect(url, compression=None, max_size=None) as ws:
        try:
            while True:
                await ws.recv(decode=False)
        except websockets.ConnectionClosed:
            pass
    return time.perf_counter() - start


def tg_connect_receive(base: str, rows: int) -> float:
    import tg_connect

    start = time.perf_counter()
    got = sum(b.num_rows for b in tg_connect.read_batches("triples", base, source="tail", max_rows=rows))
    elapsed = time.perf_counter() - start
    assert got == rows, got
    return elapsed


def peak_rss_mb(base: str, rows: int) -> float:
    code = (
        "import tg_connect; from tg_connect.writers import write_parquet;"
        f"write_parquet(tg_connect.read_batches('triples', {base!r}, source='tail', max_rows={rows}),"
        " '/dev/null');"
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def start(rows: int, batch_size: int) -> tuple[mp.Process, int]:
    return spawn(source, rows, batch_size)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=int, default=3, help="memory is also measured at rows x scale")
    args = ap.parse_args()
    server, port = start(args.rows, args.batch_size)
    base = f"http://127.0.0.1:{port}"
    url = f"ws://127.0.0.1:{port}/api/v1/flow/default/export/triples"
    try:
        raw = min(asyncio.run(raw_receive(url)) for _ in range(args.repeat))
        ours = min(tg_connect_receive(base, args.rows) for _ in range(args.repeat))
        rss_1 = peak_rss_mb(base, args.rows)
    finally:
        server.terminate()
    server, port = start(args.rows * args.scale, args.batch_size)
    try:
        rss_3 = peak_rss_mb(f"http://127.0.0.1:{port}", args.rows * args.scale)
    finally:
        server.terminate()
    print(
        json.dumps(
            {
                "rows": args.rows,
                "raw_receive_triples_per_s": round(args.rows / raw),
                "tg_connect_tail_to_arrow_triples_per_s": round(args.rows / ours),
                "ratio": round(raw / ours, 3),
                "peak_rss_mb_export_to_parquet": {
                    f"{args.rows:,}": round(rss_1, 1),
                    f"{args.rows * args.scale:,}": round(rss_3, 1),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
