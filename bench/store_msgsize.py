"""Experiment 3, by message size: how long ONE import message keeps the back end busy, and what
a client sees meanwhile.

The FalkorDB triples writer makes 3 synchronous queries per triple inside an async handler, and
every back-end processor (IAM, config, triples-query, kg-store, ...) shares its event loop, so one
message of F triples blocks all of them for W = F x (time per triple at the current store size).
This sends single frames of increasing size (one at a time, each after the previous is stored)
and records W, the metrics-proxy latency/failures and a REST triples query probe during it.

    python bench/store_msgsize.py [--preload 20000] --sizes 100,300,1000,3000 [--collection C]

--preload puts N triples straight into FalkorDB first (store_preload.py), to reach a store size
in seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from store_common import (
    BACKEND_LOG,
    OUT_DIR,
    RMQ_LOG,
    Sampler,
    Sender,
    create_collection,
    falkor_counts,
    frames,
    log_since,
    log_size,
    read_direct,
)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preload", type=int, default=0)
    ap.add_argument("--sizes", default="100,300,1000,3000")
    ap.add_argument("--collection", default=None)
    ap.add_argument("--probe-every", type=float, default=1.0)
    ap.add_argument("--settle", type=float, default=15.0, help="idle s after each message")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    run = uuid.uuid4().hex[:8]
    coll = a.collection or f"msgsize-{run}"
    tag = a.tag or f"msgsize-{run}"
    here = os.path.dirname(os.path.abspath(__file__))
    res: dict = {"tag": tag, "collection": coll, "runs": []}
    if a.preload:
        out = subprocess.run(
            [sys.executable, os.path.join(here, "store_preload.py"), "--triples", str(a.preload)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        res["preload"] = json.loads(out)
    log_off, rmq_off = log_size(BACKEND_LOG), log_size(RMQ_LOG)
    async with aiohttp.ClientSession() as session:
        await create_collection(session, coll)
        await asyncio.sleep(1.5)
        sampler = Sampler(session, f"{OUT_DIR}/{tag}.jsonl", interval=1.0, probe_every=a.probe_every)
        sampler.start()
        start = 0
        for f in (int(x) for x in a.sizes.split(",")):
            d0 = await read_direct(session)
            t0 = sampler.now()
            sampler.mark("frame", f)
            s = await Sender.open()
            await s.send(frames(run, f, coll, f, start=start)[0])
            start += f
            await s.drain()
            pong_s = s.pong_table()[-1]["latency"]
            await s.close()
            deadline = time.monotonic() + a.timeout
            while time.monotonic() < deadline:
                d = await read_direct(session)
                if d["tw_count"] > d0["tw_count"] and d["kg_ok"] + d["kg_err"] > d0["kg_ok"] + d0["kg_err"]:
                    break
                await asyncio.sleep(0.5)
            t1 = sampler.now()
            w = d["tw_dur"] - d0["tw_dur"]
            await asyncio.sleep(a.settle)
            rows = [r for r in sampler.rows if t0 <= r["t"] <= t1 + 2]
            probes = [p for p in sampler.probes if t0 - 1 <= p[0] <= t1]
            prom_fail = [r.get("p_err", "")[:60] for r in rows if "p_err" in r]
            prom_s = [r.get("p_s", 0) for r in rows]
            rec = {
                "frame": f,
                "nodes_after": falkor_counts().get("labels", {}).get("Node"),
                "write_s": round(w, 2),
                "per_triple_ms": round(1000 * w / f, 2),
                "elapsed_s": round(t1 - t0, 1),
                "pong_s": pong_s,
                "metrics_queries": len(rows),
                "metrics_failures": len(prom_fail),
                "metrics_fail_kinds": sorted(set(prom_fail))[:3],
                "metrics_max_s": max(prom_s, default=None),
                "probes": len(probes),
                "probe_ok": sum(isinstance(p[1], float) for p in probes),
                "probe_max_s": max((p[1] for p in probes if isinstance(p[1], float)), default=None),
                "probe_fail_kinds": sorted({str(p[1])[:40] for p in probes if not isinstance(p[1], float)})[:3],
            }
            res["runs"].append(rec)
            print(json.dumps(rec), flush=True)
        await sampler.stop()
    res["backend_log"] = log_since(BACKEND_LOG, log_off)[-20:]
    res["rabbitmq_log"] = log_since(RMQ_LOG, rmq_off, r"heartbeat|missed|closing|error|timeout")[-20:]
    with open(f"{OUT_DIR}/{tag}.json", "w") as fh:
        json.dump(res, fh, indent=1)
    print(json.dumps({k: v for k, v in res.items() if k != "runs"}, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
