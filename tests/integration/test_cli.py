"""The tg-connect command line, run as a real process against a local gateway."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import tg_connect
from tg_connect.sample import sample_path, sample_triples

from ..conftest import Gateway


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tg_connect", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_load_then_dump(local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str) -> None:
    loaded = cli("load", "triples", str(sample_path()), "--url", local_gateway.url, "--collection", f"c{run_id}")
    assert loaded.returncode == 0, loaded.stderr
    assert "rows read 5,000, delivered 5,000 (sent 5,000), rejected 0" in loaded.stdout
    out = tmp_path / "dump.parquet"
    dumped = cli("dump", "triples", str(out), "--url", local_gateway.url, "--collection", f"c{run_id}")
    assert dumped.returncode == 0, dumped.stderr
    keys = [(k, "ascending") for k in pq.read_schema(out).names]
    assert pq.read_table(out).sort_by(keys).equals(pq.read_table(sample_path()).sort_by(keys))


def test_load_json_report_and_exit_status_on_rejections(local_gateway: tg_connect.LocalGateway, tmp_path: Path) -> None:
    table = sample_triples(20)
    s = table.column("s").to_pylist()
    s[5] = None
    bad = tmp_path / "bad.parquet"
    pq.write_table(table.set_column(0, "s", pa.array(s, pa.string())), bad)
    raised = cli("load", "triples", str(bad), "--url", local_gateway.url)
    assert raised.returncode == 1 and "row 5" in raised.stderr and "column 's'" in raised.stderr
    skipped = cli("load", "triples", str(bad), "--url", local_gateway.url, "--on-error", "skip", "--json")
    assert skipped.returncode == 0, skipped.stderr
    report = json.loads(skipped.stdout)
    assert report["rows_sent"] == 19 and report["rejections"][0]["row"] == 5


def test_token_from_environment_is_never_printed(tmp_path: Path) -> None:
    secret = "tg_cli_secret_987"
    with tg_connect.LocalGateway(token=secret) as gw:
        ok = cli("load", "triples", str(sample_path()), "--url", gw.url, env={"TRUSTGRAPH_TOKEN": secret})
        assert ok.returncode == 0, ok.stderr
        bad = cli("load", "triples", str(sample_path()), "--url", gw.url, env={"TRUSTGRAPH_TOKEN": "tg_wrong_555"})
        assert bad.returncode == 1 and "authentication failed" in bad.stderr
        for text in (ok.stdout, ok.stderr, bad.stdout, bad.stderr):
            assert secret not in text and "tg_wrong_555" not in text


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The first line ``proc`` writes to stdout, or ``""`` if none comes within ``timeout``."""
    assert proc.stdout is not None
    stdout = proc.stdout
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else ""


def test_serve_answers_and_persists(tmp_path: Path) -> None:
    """``serve --port 0`` picks a free port and says which on its first line (a port chosen by
    the test and freed before the server binds it could be taken by another process first)."""
    data = tmp_path / "data"

    def start() -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tg_connect", "serve", "--port", "0", "--data", str(data)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        banner = _first_line(proc, 60)
        found = re.fullmatch(r"tg-connect local gateway at (http://127\.0\.0\.1:\d+)\n", banner)
        if found is None:
            proc.kill()
            raise AssertionError(f"tg-connect serve did not say where it listens: {banner!r}")
        url = found.group(1)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                req = urllib.request.Request(url + "/api/v1/flow", data=b'{"operation":"list-flows"}', method="POST")
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if "default" in json.loads(resp.read())["flow-ids"]:
                        return proc, url
            except OSError:
                time.sleep(0.2)
        proc.kill()
        raise AssertionError("tg-connect serve did not answer")

    proc, url = start()
    try:
        tg_connect.to_trustgraph(sample_triples(100), url=url, progress=False)
    finally:
        proc.terminate()
        proc.wait(30)
    proc, url = start()
    try:
        assert len(tg_connect.read_trustgraph(url=url)) == 100
    finally:
        proc.terminate()
        proc.wait(30)


def test_demo_runs() -> None:
    demo = cli("demo")
    assert demo.returncode == 0, demo.stderr
    assert "identical to the file: True" in demo.stdout and "sent 5,000" in demo.stdout


def test_dump_writes_any_format(local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str) -> None:
    table = sample_triples(300)
    tg_connect.to_trustgraph(table, url=local_gateway.url, collection=f"f{run_id}", progress=False)
    turtle = cli("dump", "triples", str(tmp_path / "out.ttl"), "--url", local_gateway.url, "--collection", f"f{run_id}")
    assert turtle.returncode == 1 and "named graphs" in turtle.stderr  # never drops graphs silently
    for name in ("out.csv", "out.jsonl", "out.nq", "out.trig.gz"):
        done = cli("dump", "triples", str(tmp_path / name), "--url", local_gateway.url, "--collection", f"f{run_id}")
        assert done.returncode == 0, done.stderr
        assert "wrote 300 triples rows" in done.stdout and (tmp_path / name).stat().st_size > 0
    back = tg_connect.read_batches("triples", local_gateway.url, collection=f"f{run_id}").read_all()
    reloaded = cli(
        "load", "triples", str(tmp_path / "out.nq"), "--url", local_gateway.url, "--collection", f"g{run_id}"
    )
    assert reloaded.returncode == 0, reloaded.stderr
    again = tg_connect.read_batches("triples", local_gateway.url, collection=f"g{run_id}").read_all()
    keys = [(k, "ascending") for k in back.schema.names]
    assert again.sort_by(keys).equals(back.sort_by(keys))
    parts = cli(
        "dump",
        "triples",
        str(tmp_path / "parts"),
        "--url",
        local_gateway.url,
        "--collection",
        f"f{run_id}",
        "--max-rows-per-file",
        "100",
        "--format",
        "parquet",
    )
    assert parts.returncode == 0, parts.stderr
    assert "3 files" in parts.stdout


def test_load_exit_status_follows_what_was_verified(gateway: Gateway, tmp_path: Path, run_id: str) -> None:
    """--verify: rows delivered but not read back exit 2, never 0 (the real gateway's store drops
    languages and datatypes; the local gateway keeps them)."""
    path = tmp_path / "typed.parquet"
    pq.write_table(
        pa.table(
            {
                "s": [f"http://example.org/{run_id}/{i}" for i in range(3)],
                "p": [f"http://run-{run_id}.example/p"] * 3,
                "o": ["plain", "tagged", "typed"],
                "o_language": [None, "en", None],
                "o_datatype": [None, None, "http://www.w3.org/2001/XMLSchema#token"],
            }
        ),
        path,
    )
    env = {"TRUSTGRAPH_TOKEN": gateway.token} if gateway.token else None
    done = cli(
        "load",
        "triples",
        str(path),
        "--url",
        gateway.url,
        "--collection",
        f"cv{run_id}",
        "--verify",
        "--verify-timeout",
        "10" if gateway.real else "1",
        "--json",
        env=env,
    )
    report = json.loads(done.stdout)
    assert report["rows_delivered"] == 3
    if gateway.real:
        assert done.returncode == 2 and report["rows_unconfirmed"] == 2 and not report["ok"]
        assert "load not complete: 2 delivered rows not read back (verify)" in done.stderr
    else:
        assert done.returncode == 0 and report["ok"], done.stderr
