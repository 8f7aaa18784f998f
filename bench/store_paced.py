"""Experiment 4: a paced loader that keeps the store's backlog under a bound, steered only by
what a client can see (the import socket's PONGs and the gateway's /api/metrics proxy).

Why frame size matters more than the bound: the FalkorDB writer blocks the back end's single
shared event loop for the whole of each message (W = frame x seconds-per-triple, which grows
with everything already stored). W > ~2 s already makes the gateway's IAM look-ups time out now
and then (401 "auth failure" after 10 s on any request once its 60 s API-key cache expires);
W > ~100-150 s loses the back end's RabbitMQ connections for good (missed heartbeats).

Control rule (one loop, every --tick s; the defaults are the rule that worked):
  * counters through /api/metrics/query: tg_triples_store_write_batch_size_sum (= triples
    written) and _count, tg_triples_store_write_duration_seconds_sum (= seconds spent writing),
    tg_consumer_processing_total{consumer="flow:tg:default:triples-store:default"} for
    triples-write and kg-store, and max(timestamp(tg_consumer_state{...})) = when they were
    scraped. Deltas from a baseline taken at start. A failed or slow query keeps the previous
    values (stale = backlog over-estimated = safe). At most one query in flight, long timeout.
  * seconds per triple tau = d(duration_sum) / d(batch_size_sum) over the last --window s.
  * frame = clamp(--msg-seconds / tau, --min-frame, --frame); --initial-frame until tau is known.
  * backlog = triples sent - triples written (by triples-write); send the next frame only while
    backlog + frame <= --bound, and while kg-store is fewer than --kg-max-lag messages behind.
  * done when written >= total and kg-store has processed every frame.
  (--frame-rule rate / --backlog-on slowest are the first version, kept for comparison: sizing
  frames from the slowest consumer's rate shrinks them needlessly, because kg-store lags in
  messages whenever the writer is busy.)

    python bench/store_paced.py --triples 50000 --bound 2000 --adaptive-frame --msg-seconds 1
                                [--frame 1000] [--collection C] [--source prom|direct]

Writes /tmp/store_bench/<tag>.jsonl (one row per tick) and <tag>.json (summary).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from store_common import (
    BACKEND_LOG,
    OUT_DIR,
    RMQ_LOG,
    Sender,
    create_collection,
    falkor_counts,
    frames,
    log_since,
    log_size,
    read_direct,
    read_prom,
    read_queues,
)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--triples", type=int, default=50000)
    ap.add_argument("--frame", type=int, default=1000)
    ap.add_argument("--min-frame", type=int, default=20)
    ap.add_argument(
        "--initial-frame",
        type=int,
        default=100,
        help="frame size until the write time per triple has been measured (a big first frame "
        "into a big store can block the back end for minutes)",
    )
    ap.add_argument("--adaptive-frame", action="store_true")
    ap.add_argument("--msg-seconds", type=float, default=10.0)
    ap.add_argument("--bound", type=int, default=2000, help="B: max triples sent but not yet processed")
    ap.add_argument("--collection", default=None)
    ap.add_argument("--source", default="prom", choices=["prom", "direct"])
    ap.add_argument("--tick", type=float, default=1.0)
    ap.add_argument("--window", type=float, default=60.0)
    ap.add_argument("--query-timeout", type=float, default=3.0)
    ap.add_argument("--stall-after", type=float, default=400.0)
    ap.add_argument(
        "--backlog-on",
        default="writer",
        choices=["writer", "slowest"],
        help="writer: backlog = sent - triples written by triples-write (kg-store only has to stay "
        "within --kg-max-lag messages); slowest: min over both consumers, in messages",
    )
    ap.add_argument("--kg-max-lag", type=int, default=200, help="max frames kg-store may be behind the sender")
    ap.add_argument(
        "--frame-rule",
        default="write-time",
        choices=["write-time", "rate"],
        help="write-time: frame = msg-seconds / (seconds per triple from "
        "tg_triples_store_write_duration_seconds_sum / _batch_size_sum); "
        "rate: msg-seconds x processed rate",
    )
    ap.add_argument("--tag", default="")
    return ap.parse_args()


@dataclass
class Sent:
    """The frames sent so far."""

    sizes: list[int] = field(default_factory=list)  # size of each frame sent, in order
    prefix: list[int] = field(default_factory=lambda: [0])  # prefix sums of sizes
    next_i: int = 0  # the next triple to send

    @property
    def triples(self) -> int:
        return self.prefix[len(self.sizes)]


async def read_counters(session: aiohttp.ClientSession, a: argparse.Namespace) -> dict | None:
    """The store counters from --source, or None if the query failed or took too long."""
    try:
        if a.source == "prom":
            return await asyncio.wait_for(read_prom(session), a.query_timeout)
        d = await asyncio.wait_for(read_direct(session), a.query_timeout)
        d["scrape_ts"] = time.time()
        return d
    except Exception:  # noqa: BLE001
        return None


async def baseline(session: aiohttp.ClientSession, a: argparse.Namespace) -> dict:
    """The counters at start (every later value is a delta from them): retried until read."""
    base = None
    while base is None:
        base = await read_counters(session, a)
    return base


async def refresh_queues(into: dict) -> None:
    """Replace ``into``'s contents with the broker's queue depths (read in a thread: it blocks)."""
    fresh = await asyncio.to_thread(read_queues)
    into.clear()
    into.update(fresh)


def warn_on_reset(cur: dict, c: dict) -> None:
    # a counter that went down = the back end restarted: rebase (its queue kept the backlog)
    if c["tw_count"] < cur.get("tw_count", 0) or c["kg_ok"] < cur.get("kg_ok", 0):
        print("counter reset seen", flush=True)


def processed_msgs(c: dict, base: dict) -> int:
    tw = c["tw_ok"] + c["tw_err"] - base["tw_ok"] - base["tw_err"]
    kg = c["kg_ok"] + c["kg_err"] - base["kg_ok"] - base["kg_err"]
    return int(max(0, min(tw, kg)))


def progress(cur: dict, base: dict, sent: Sent, a: argparse.Namespace) -> tuple[int, int, int]:
    """(triples written, kg-store messages processed, triples processed as --backlog-on counts them)."""
    pm = min(processed_msgs(cur, base), len(sent.sizes))
    written = int(cur["tw_sum"] - base["tw_sum"])
    kg_msgs = int(cur["kg_ok"] + cur["kg_err"] - base["kg_ok"] - base["kg_err"])
    if a.backlog_on == "slowest":
        ptriples = sent.prefix[pm]
    else:
        ptriples = min(written, sent.triples)
    return written, kg_msgs, ptriples


def slide(hist: deque, item: tuple, window: float) -> None:
    """Add ``item`` (scrape time, value, ...) to a window of samples if there is a scrape time and
    the value changed; then drop samples more than ``window`` s older than the newest, keeping two."""
    if item[0] and (not hist or hist[-1][1] != item[1]):
        hist.append(item)
    while hist and hist[-1][0] - hist[0][0] > window and len(hist) > 2:
        hist.popleft()


def seconds_per_triple(whist: deque, tau: float) -> float:
    """Write seconds per triple over the window of (scrape_ts, tw_sum, tw_dur); ``tau`` if unknown."""
    if len(whist) >= 2 and whist[-1][1] > whist[0][1]:
        return (whist[-1][2] - whist[0][2]) / (whist[-1][1] - whist[0][1])
    return tau


def processed_rate(hist: deque, rate: float) -> float:
    """Triples processed per second over the window of (scrape_ts, processed); ``rate`` if unknown."""
    if len(hist) >= 2 and hist[-1][0] > hist[0][0]:
        return (hist[-1][1] - hist[0][1]) / (hist[-1][0] - hist[0][0])
    return rate


def frame_size(a: argparse.Namespace, frame_now: int, tau: float, whist: deque, rate: float) -> int:
    """The next frame's size under --frame-rule; ``frame_now`` until the rule has its measurement."""
    if a.adaptive_frame:
        if a.frame_rule == "write-time" and tau > 0 and len(whist) >= 2:
            return int(max(a.min_frame, min(a.frame, a.msg_seconds / tau)))
        if a.frame_rule == "rate" and rate > 0:
            return int(max(a.min_frame, min(a.frame, rate * a.msg_seconds)))
    return frame_now


async def send_under_bound(
    s: Sender, a: argparse.Namespace, run: str, coll: str, sent: Sent, frame_now: int, ptriples: int, kg_msgs: int
) -> int:
    """Send frames of ``frame_now`` while the backlog stays within --bound and kg-store within
    --kg-max-lag frames; how many were sent."""
    sent_now = 0
    while sent.next_i < a.triples:
        k = min(frame_now, a.triples - sent.next_i)
        backlog = sent.triples - ptriples
        if backlog + k > a.bound:
            break
        if len(sent.sizes) - kg_msgs >= a.kg_max_lag:
            break
        fr = frames(run, k, coll, frame_size=k, start=sent.next_i)[0]
        await s.send(fr)
        sent.sizes.append(k)
        sent.prefix.append(sent.prefix[-1] + k)
        sent.next_i += k
        sent_now += 1
    return sent_now


async def main() -> None:
    a = parse_args()

    run = uuid.uuid4().hex[:8]
    coll = a.collection or f"paced-{run}"
    tag = a.tag or f"paced-{a.triples}-B{a.bound}-{run}"
    os.makedirs(OUT_DIR, exist_ok=True)
    fh = open(f"{OUT_DIR}/{tag}.jsonl", "w")
    log_off, rmq_off = log_size(BACKEND_LOG), log_size(RMQ_LOG)

    async with aiohttp.ClientSession() as session:
        await create_collection(session, coll)
        await asyncio.sleep(1.0)

        base = await baseline(session, a)
        sent = Sent()
        s = await Sender.open("triples", ping_every=1)
        t0 = time.monotonic()
        cur = dict(base)
        hist: deque = deque()  # (scrape_ts, processed_triples)
        whist: deque = deque()  # (scrape_ts, tw_sum, tw_dur)
        tau = 0.0  # s of write per triple
        rate = 0.0
        last_progress = time.monotonic()
        last_processed = 0
        max_backlog = 0
        q_task: asyncio.Task | None = None
        qd: dict = {}
        stalled = None
        query_fail = 0
        frame_now = a.initial_frame if a.adaptive_frame else a.frame
        t_written = None
        frame_sizes_hist: list[int] = sent.sizes

        tick_n = 0
        while True:
            tick_start = time.monotonic()
            c = await read_counters(session, a)
            query_s = round(time.monotonic() - tick_start, 2)
            if c is None:
                query_fail += 1
            else:
                warn_on_reset(cur, c)
                cur = c
            written, kg_msgs, ptriples = progress(cur, base, sent, a)
            # seconds of write per triple, over the window (write-time frame rule)
            slide(whist, (cur.get("scrape_ts"), cur["tw_sum"], cur["tw_dur"]), a.window)
            tau = seconds_per_triple(whist, tau)
            slide(hist, (cur.get("scrape_ts"), ptriples), a.window)
            rate = processed_rate(hist, rate)
            if written >= a.triples and t_written is None:
                t_written = round(time.monotonic() - t0, 1)
            if ptriples > last_processed:
                last_processed, last_progress = ptriples, time.monotonic()
            # send while under the bound (the frame size is re-chosen only while there is more to send)
            if sent.next_i < a.triples:
                frame_now = frame_size(a, frame_now, tau, whist, rate)
            sent_now = await send_under_bound(s, a, run, coll, sent, frame_now, ptriples, kg_msgs)
            backlog = sent.triples - ptriples
            max_backlog = max(max_backlog, backlog)
            if tick_n % 5 == 0 and (q_task is None or q_task.done()):
                q_task = asyncio.create_task(refresh_queues(qd))
            row = {
                "t": round(time.monotonic() - t0, 2),
                "sent": sent.triples,
                "confirmed_frames": s.confirmed,
                "frames": len(sent.sizes),
                "processed": ptriples,
                "backlog": backlog,
                "rate": round(rate, 1),
                "written": written,
                "kg_msgs": kg_msgs,
                "ms_per_triple": round(1000 * tau, 2),
                "frame": frame_now,
                "scrape_age": round(time.time() - cur["scrape_ts"], 1) if cur.get("scrape_ts") else None,
                "query_ok": c is not None,
                "query_s": query_s,
                "sent_now": sent_now,
                "q": qd,
            }
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            tick_n += 1
            if tick_n % 30 == 0:
                print(json.dumps(row), flush=True)
            if written >= a.triples and kg_msgs >= len(sent.sizes) and sent.next_i >= a.triples:
                break
            if time.monotonic() - last_progress > a.stall_after:
                stalled = f"no progress for {a.stall_after} s at processed={ptriples}"
                break
            await asyncio.sleep(max(0.0, a.tick - (time.monotonic() - tick_start)))
        elapsed = time.monotonic() - t0
        close_s = await s.close()
        direct = await read_direct(session)
    fh.close()
    res = {
        "tag": tag,
        "collection": coll,
        "triples": a.triples,
        "bound": a.bound,
        "frame": a.frame,
        "adaptive_frame": a.adaptive_frame,
        "msg_seconds": a.msg_seconds,
        "source": a.source,
        "backlog_on": a.backlog_on,
        "frame_rule": a.frame_rule,
        "elapsed_s": round(elapsed, 1),
        "written_all_at_s": t_written,
        "stalled": stalled,
        "frame_size_min_max": [min(frame_sizes_hist, default=0), max(frame_sizes_hist, default=0)],
        "processed": last_processed,
        "avg_rate": round(last_processed / elapsed, 1),
        "frames_sent": len(sent.sizes),
        "max_backlog_seen": max_backlog,
        "metric_query_failures": query_fail,
        "close_s": round(close_s, 3),
        "tw_write_s_total": round(direct["tw_dur"], 1),
        "backend_log": log_since(BACKEND_LOG, log_off)[-20:],
        "rabbitmq_log": log_since(RMQ_LOG, rmq_off, r"heartbeat|missed|closing|error|timeout")[-20:],
        "falkordb": falkor_counts(),
    }
    with open(f"{OUT_DIR}/{tag}.json", "w") as out:
        json.dump(res, out, indent=1)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
