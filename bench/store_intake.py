"""Experiment 1 (and the sending half of 3): how fast the REAL gateway's import socket takes
frames in, and whether PONGs wait for the frames sent before their PING.

Sends N triples in frames of F at full speed (or at --rate triples/s) on
/api/v1/flow/default/import/<kind>, with a PING after every --ping-every frames. Records when
each send() returned and when each PONG came back. A PONG for the PING sent after frame n
proves frames 1..n were handed to the broker, so pong_t(n) is the intake curve.

With --wait it then samples the store counters every second (back end's /metrics directly and
the Prometheus proxy) until triples-write and kg-store have processed every frame, and prints
the store's progress.

    python bench/store_intake.py --triples 20000 [--kind triples|entity-contexts] [--ping-every 1]
                                 [--collection C] [--rate 0] [--wait] [--frame 1000]

kind entity-contexts is a queue-only interface here (nothing consumes it, the fanout drops
it), so it measures the gateway's intake with no store behind it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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


def summarize_intake(s: Sender, n_frames: int, frame_size: int, t_send0: float) -> dict:
    pt = s.pong_table()
    done = [p for p in pt if p["pong_t"] is not None]
    last = done[-1] if done else None
    out = {
        "frames": n_frames,
        "send_returned_last_s": round(s.send_done[-1] - t_send0, 3) if s.send_done else None,
        "last_pong_s": round(last["pong_t"] - t_send0, 3) if last else None,
        "pong_latency_s": {
            "min": round(min(p["latency"] for p in done), 4) if done else None,
            "median": round(sorted(p["latency"] for p in done)[len(done) // 2], 4) if done else None,
            "max": round(max(p["latency"] for p in done), 4) if done else None,
        },
    }
    if last and last["pong_t"] > t_send0:
        el = last["pong_t"] - t_send0
        out["intake_frames_per_s"] = round(last["frames"] / el, 1)
        out["intake_triples_per_s"] = round(last["frames"] * frame_size / el)
    # are pongs in order and do they trail the sends? pong(n) - send_done(n)
    trail = [p["pong_t"] - s.send_done[p["frames"] - 1] for p in done if p["frames"] > 0]
    if trail:
        out["pong_after_send_return_s"] = {"min": round(min(trail), 4), "max": round(max(trail), 4)}
    out["pongs_in_order"] = all(done[i]["pong_t"] <= done[i + 1]["pong_t"] for i in range(len(done) - 1))
    return out


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--triples", type=int, default=20000)
    ap.add_argument("--frame", type=int, default=1000)
    ap.add_argument("--kind", default="triples")
    ap.add_argument("--ping-every", type=int, default=1)
    ap.add_argument("--collection", default=None)
    ap.add_argument("--rate", type=float, default=0.0, help="triples/s, 0 = full speed")
    ap.add_argument("--wait", action="store_true", help="sample the store until it has processed all")
    ap.add_argument("--wait-timeout", type=float, default=1800)
    ap.add_argument("--probe-every", type=float, default=0.0, help="REST triples query every s while waiting")
    ap.add_argument("--stall-after", type=float, default=360, help="give up after this long without progress")
    ap.add_argument("--tag", default="")
    return ap.parse_args()


async def send_all(s: Sender, fr: list, a: argparse.Namespace, t_send0: float) -> None:
    """Send every frame, at full speed or paced to --rate triples/s from ``t_send0``."""
    for i, f in enumerate(fr):
        if a.rate:
            due = t_send0 + i * a.frame / a.rate
            delay = due - s.now()
            if delay > 0:
                await asyncio.sleep(delay)
        await s.send(f)


async def wait_for_store(sampler: Sampler, before: dict, target: int, a: argparse.Namespace) -> str | None:
    """Wait until triples-write and kg-store have each processed ``target`` messages (as the
    sampler last saw them), or --wait-timeout passes; a message if it gave up for lack of progress."""
    deadline = time.monotonic() + a.wait_timeout
    last_change, last_v = time.monotonic(), None
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        row = sampler.rows[-1] if sampler.rows else {}
        d = row.get("d") or {}
        tw = d.get("tw_ok", 0) + d.get("tw_err", 0) - before["tw_ok"] - before["tw_err"]
        kg = d.get("kg_ok", 0) + d.get("kg_err", 0) - before["kg_ok"] - before["kg_err"]
        v = (tw, kg)
        if v != last_v:
            last_v, last_change = v, time.monotonic()
        if tw >= target and kg >= target:
            return None
        if time.monotonic() - last_change > a.stall_after:
            return f"no progress for {a.stall_after} s at tw={tw} kg={kg} of {target} (t={sampler.now():.0f})"
    return None


async def main() -> None:
    a = parse_args()

    run = uuid.uuid4().hex[:8]
    coll = a.collection or f"bench-{run}"
    tag = a.tag or f"intake-{a.kind}-{a.triples}-{run}"
    fr = frames(run, a.triples, coll, a.frame, kind=a.kind)
    log_off = log_size(BACKEND_LOG)
    rmq_off = log_size(RMQ_LOG)
    res: dict = {
        "run": run,
        "collection": coll,
        "kind": a.kind,
        "triples": a.triples,
        "frame": a.frame,
        "bytes_per_frame": len(fr[0]),
        "ping_every": a.ping_every,
        "rate": a.rate,
    }

    async with aiohttp.ClientSession() as session:
        if a.kind == "triples":
            await create_collection(session, coll)
            await asyncio.sleep(1.0)  # let the config push reach the stores
        before = await read_direct(session)
        sampler = (
            Sampler(session, f"{OUT_DIR}/{tag}.jsonl", interval=1.0, probe_every=a.probe_every) if a.wait else None
        )
        if sampler:
            sampler.start()
        s = await Sender.open(a.kind, a.ping_every)
        t_send0 = s.now()
        await send_all(s, fr, a, t_send0)
        if sampler:
            sampler.mark("sent_all_t", round(sampler.now(), 3))
        await s.drain()
        res["intake"] = summarize_intake(s, len(fr), a.frame, t_send0)
        res["close_s"] = round(await s.close(), 3)
        res["pongs"] = s.pong_table()
        if sampler:
            sampler.mark("confirmed_all_t", round(sampler.now(), 3))
            target = len(fr)
            stalled = await wait_for_store(sampler, before, target, a)
            if stalled is not None:
                res["stalled"] = stalled
            await asyncio.sleep(12)  # let Prometheus catch up for the lag measurement
            await sampler.stop()
            res["samples"] = sampler.path
            res["store"] = store_summary(sampler.rows, before, target, a.frame)
    res["backend_log"] = log_since(BACKEND_LOG, log_off)[-30:]
    res["rabbitmq_log"] = log_since(RMQ_LOG, rmq_off, r"heartbeat|missed|closing|error|timeout")[-30:]
    if a.wait:
        res["falkordb"] = falkor_counts()
    out = f"{OUT_DIR}/{tag}.json"
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(out, "w") as fh:
        json.dump(res, fh, indent=1)
    brief = {k: v for k, v in res.items() if k != "pongs"}
    print(json.dumps(brief, indent=1))
    print("pongs (first 5, last 5):", json.dumps(res["pongs"][:5]), json.dumps(res["pongs"][-5:]))
    print("written", out)


def store_summary(rows: list[dict], before: dict, target_msgs: int, frame: int) -> dict:
    """Store progress from the direct samples: time to finish per consumer, rate per 5k triples."""
    out: dict = {}
    pts = [(r["t"], r["d"]) for r in rows if "d" in r]
    if not pts:
        return out
    t_first = pts[0][0]
    for key in ("tw", "kg"):
        done_t = None
        for t, d in pts:
            if d[f"{key}_ok"] + d[f"{key}_err"] - before[f"{key}_ok"] - before[f"{key}_err"] >= target_msgs:
                done_t = t
                break
        out[f"{key}_done_s"] = None if done_t is None else round(done_t - t_first, 1)
    # triples-write rate per 5,000 triples written (triples/s), from tw_sum
    marks = []
    step = 5000
    nxt = step
    prev_t = t_first
    for t, d in pts:
        w = d["tw_sum"] - before["tw_sum"]
        while w >= nxt:
            marks.append({"written": nxt, "t": round(t - t_first, 1), "rate": round(step / max(t - prev_t, 1e-9))})
            prev_t = t
            nxt += step
    out["tw_rate_per_5k"] = marks
    last = pts[-1][1]
    out["tw_written"] = last["tw_sum"] - before["tw_sum"]
    out["tw_msgs"] = last["tw_count"] - before["tw_count"]
    out["tw_err"] = last["tw_err"] - before["tw_err"]
    out["kg_err"] = last["kg_err"] - before["kg_err"]
    out["tw_write_s"] = round(last["tw_dur"] - before["tw_dur"], 1)
    return out


if __name__ == "__main__":
    asyncio.run(main())
