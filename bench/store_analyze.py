"""Analyse a store_*.py sample file (JSONL, one row per second).

    python bench/store_analyze.py /tmp/store_bench/<tag>.jsonl [--base-stored N] [--events]

Prints:
* every change of the back end's own counters (direct /metrics): per message of triples-write,
  its write time (tg_triples_store_write_duration_seconds_sum delta / count delta) and the
  resulting triples/s, with the number of triples already written before it (base + delta);
* kg-store vs triples-write progress (which one is slower);
* metric lag: for each value of tw_sum / kg_ok first seen through the Prometheus proxy, the
  time since the back end's own counter first showed it (sampled each 1 s, so +-1 s), and the
  age of the Prometheus scrape itself;
* triples-write batch size (sum delta / count delta).
"""

from __future__ import annotations

import argparse
import json


def load(path: str) -> list[dict]:
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def first_reach(rows: list[dict], src: str, key: str, value: float) -> float | None:
    for r in rows:
        d = r.get(src)
        if d and d.get(key, 0) >= value:
            return r["t"]
    return None


def analyze(rows: list[dict], base_stored: float = 0.0, events: bool = False) -> dict:
    rows = [r for r in rows if "d" in r]
    if not rows:
        return {}
    d0 = rows[0]["d"]
    out: dict = {}
    # per-message events of triples-write (direct counters)
    msgs = []
    prev = d0
    for r in rows:
        d = r["d"]
        dc = d["tw_count"] - prev["tw_count"]
        if dc > 0:
            ds = d["tw_sum"] - prev["tw_sum"]
            dd = d["tw_dur"] - prev["tw_dur"]
            msgs.append(
                {
                    "t": r["t"],
                    "msgs": int(dc),
                    "triples": int(ds),
                    "stored_before": int(base_stored + prev["tw_sum"] - d0["tw_sum"]),
                    "write_s": round(dd, 2),
                    "rate": round(ds / dd) if dd > 0 else None,
                    "kg_done": int(d["kg_ok"] + d["kg_err"] - d0["kg_ok"] - d0["kg_err"]),
                    "q": r.get("q"),
                    "probe": r.get("probe"),
                }
            )
            prev = d
    out["tw_messages"] = msgs if events else len(msgs)
    last = rows[-1]["d"]
    written = last["tw_sum"] - d0["tw_sum"]
    nmsg = last["tw_count"] - d0["tw_count"]
    out["tw_written"] = written
    out["tw_batch_size_per_msg"] = round(written / nmsg, 1) if nmsg else None
    out["tw_write_time_s"] = round(last["tw_dur"] - d0["tw_dur"], 2)
    out["tw_rate_while_writing"] = round(written / (last["tw_dur"] - d0["tw_dur"])) if written else None
    # elapsed from first to last change
    t_first = next((r["t"] for r in rows if r["d"]["tw_sum"] > d0["tw_sum"]), None)
    t_last_tw = next((r["t"] for r in reversed(rows) if r["d"]["tw_sum"] < last["tw_sum"]), None)
    out["tw_first_change_t"] = t_first
    out["tw_last_change_t"] = None if t_last_tw is None else rows[[r["t"] for r in rows].index(t_last_tw) + 1]["t"]
    kg_last = last["kg_ok"] + last["kg_err"]
    t_kg_done = next((r["t"] for r in rows if r["d"]["kg_ok"] + r["d"]["kg_err"] >= kg_last), None)
    out["kg_processed"] = kg_last - d0["kg_ok"] - d0["kg_err"]
    out["kg_done_t"] = t_kg_done
    out["tw_errors"] = last["tw_err"] - d0["tw_err"]
    out["kg_errors"] = last["kg_err"] - d0["kg_err"]
    # rate per window of stored triples (10 s windows by time while busy)
    # metric lag
    lags = []
    seen = set()
    for r in rows:
        p = r.get("p")
        if not p:
            continue
        v = p.get("tw_sum", 0)
        if v > d0["tw_sum"] and v not in seen:
            seen.add(v)
            td = first_reach(rows, "d", "tw_sum", v)
            if td is not None:
                lags.append(
                    {
                        "value": v,
                        "direct_t": td,
                        "prom_t": r["t"],
                        "lag": round(r["t"] - td, 1),
                        "scrape_age": round(r["wall"] - p["scrape_ts"], 1) if p.get("scrape_ts") else None,
                    }
                )
    out["prom_lag_tw_sum"] = (
        lags
        if events
        else {
            "n": len(lags),
            "min": min((x["lag"] for x in lags), default=None),
            "median": sorted(x["lag"] for x in lags)[len(lags) // 2] if lags else None,
            "max": max((x["lag"] for x in lags), default=None),
        }
    )
    ages = [round(r["wall"] - r["p"]["scrape_ts"], 1) for r in rows if r.get("p") and r["p"].get("scrape_ts")]
    out["scrape_age_s"] = {"min": min(ages, default=None), "max": max(ages, default=None)}
    gaps = [r["t"] for r in rows if "p_err" in r]
    out["prom_errors"] = len(gaps)
    # counter resets
    resets = [
        r["t"]
        for i, r in enumerate(rows[1:])
        if r["d"]["tw_sum"] < rows[i]["d"]["tw_sum"] or r["d"]["kg_ok"] < rows[i]["d"]["kg_ok"]
    ]
    out["direct_counter_resets_at"] = resets
    probes = [r.get("probe") for r in rows if "probe" in r]
    if any(p is not None for p in probes) or probes:
        ok = [p for p in probes if p is not None]
        out["probe_latency"] = {"n": len(probes), "ok": len(ok), "max": max(ok, default=None)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--base-stored", type=float, default=0.0)
    ap.add_argument("--events", action="store_true")
    a = ap.parse_args()
    res = analyze(load(a.path), a.base_stored, a.events)
    if a.events:
        for m in res.pop("tw_messages"):
            print(json.dumps(m))
        for m in res.pop("prom_lag_tw_sum"):
            print("lag", json.dumps(m))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
