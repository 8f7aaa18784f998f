"""How quick the command line is, against the upstream ``tg-load-turtle``, in one run.

Measures, each as a fresh process as a user's shell starts it:

* ``tg-connect --help`` and ``tg-connect load --help`` (and ``tg-load-turtle --help``);
* an end-to-end load of a generated 5,000-triple Turtle file into one local gateway
  (``tg-connect serve``, started here in the background): ``tg-connect load triples FILE``
  (as a user runs it: ``--rate auto`` starts with small messages and follows the stores'
  metrics; and ``--rate none``, which sends as upstream does) against upstream
  ``tg-load-turtle -i ID FILE`` from trustgraph-cli 2.11.1.

Both environments should hold compiled bytecode, as ``pip install`` leaves them: where
``PYTHONDONTWRITEBYTECODE`` is set nothing is cached and every start compiles every module
(1.5 s of a 3.8 s load here). ``--compile`` runs ``compileall`` on both first.

Runs alternate between the tools, so both see the same machine load; each figure is the
median and the best of ``--runs``, in wall-clock seconds and CPU seconds (user + system, of
the process and its children). After the runs, both collections are read back and must hold
every triple, so a tool that fails quietly is not counted as fast.

The upstream tool lives in its own virtualenv (its dependencies are not ours)::

    uv venv /work/upstream-venv && uv pip install -p /work/upstream-venv/bin/python trustgraph-cli==2.11.1
    python bench/cli_quick.py [--runs 9] [--triples 5000] [--upstream /work/upstream-venv/bin/tg-load-turtle]

Without the upstream tool the bench measures tg-connect alone and says so.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_UPSTREAM = "/work/upstream-venv/bin/tg-load-turtle"


@dataclass
class Timing:
    """Wall-clock and CPU seconds of each run of one command."""

    name: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def row(self) -> str:
        return (
            f"| {self.name} | {statistics.median(self.wall):.3f} | {min(self.wall):.3f}"
            f" | {statistics.median(self.cpu):.3f} | {min(self.cpu):.3f} |"
        )


def timed(timing: Timing, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` once; record its wall-clock and CPU time; fail loudly if it failed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr}")
    timing.wall.append(wall)
    timing.cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return result


def turtle(path: Path, triples: int) -> None:
    """A Turtle file of ``triples`` triples: IRIs, typed and language-tagged literals."""
    lines = ["@prefix ex: <http://example.org/> .", "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .", ""]
    shapes = [
        '{s} ex:name "Thing {i}"@en .',
        '{s} ex:count "{i}"^^xsd:integer .',
        "{s} ex:link ex:s{link} .",
        "{s} a ex:Class{cls} .",
        '{s} ex:note "note number {i} with some text" .',
    ]
    for i in range(triples):
        lines.append(shapes[i % 5].format(s=f"ex:s{i // 5}", i=i, link=(i * 7) % 1000, cls=i % 13))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def script(name: str) -> str:
    """An installed console script beside this interpreter (else on PATH)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is not installed (pip install -e . in this environment)")
    return found


def serve(tg_connect: str) -> tuple[subprocess.Popen[bytes], str]:
    """``tg-connect serve`` on a free port, once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [tg_connect, "serve", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url + "/api/v1/flow", data=b'{"operation":"list-flows"}', method="POST")
            with urllib.request.urlopen(request, timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("tg-connect serve did not answer within 60 s")


def stored(url: str, collection: str) -> int:
    """Triples the gateway holds in ``collection`` (read in this process, after the runs)."""
    import tg_connect

    return int(tg_connect.read_batches("triples", url, collection=collection).read_all().num_rows)


def compile_bytecode(interpreters: list[str]) -> None:
    """``compileall`` over each interpreter's site-packages (and tg_connect, wherever it is)."""
    import tg_connect

    for python in interpreters:
        paths = subprocess.run(
            [python, "-c", "import site, sys; print(*site.getsitepackages(), sep=chr(10))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if python == sys.executable:
            paths.append(str(Path(tg_connect.__file__).parent))
        subprocess.run([python, "-m", "compileall", "-q", "-j", "0", *paths], capture_output=True, check=False)


def measure(timings: dict[str, Timing], runs: int, ours: str, upstream: str | None, url: str, data: Path) -> None:
    """``runs`` rounds of every command, in alternating order."""
    names = list(timings)
    ours_load = [ours, "load", "triples", str(data), "--url", url, "--no-progress"]
    ours_load += ["--collection", "bench-ours", "--document-id", "bench-ours"]
    pairs = [(names[0], [ours, "--help"]), (names[1], [ours, "load", "--help"]), (names[3], ours_load)]
    pairs.append((names[5], [*ours_load, "--rate", "none"]))
    if upstream:
        # upstream writes to a collection it does not create: the default one exists
        upstream_load = [upstream, "-u", url, "-i", "bench-upstream", "-C", "default", str(data)]
        pairs += [(names[2], [upstream, "--help"]), (names[4], upstream_load)]
    for run in range(runs):
        for name, argv in pairs if run % 2 == 0 else reversed(pairs):
            timed(timings[name], argv)


def report(timings: dict[str, Timing], runs: int) -> None:
    names = list(timings)
    print(f"{runs} runs each, alternating; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    print("| command | wall median s | wall best s | CPU median s | CPU best s |")
    print("|---|---|---|---|---|")
    for timing in timings.values():
        if timing.wall:
            print(timing.row())
    print()
    if timings[names[4]].wall:
        for ours in (names[3], names[5]):
            wall = statistics.median(timings[ours].wall) / statistics.median(timings[names[4]].wall)
            cpu = statistics.median(timings[ours].cpu) / statistics.median(timings[names[4]].cpu)
            print(f"{ours} / upstream (medians): wall {wall:.2f}, CPU {cpu:.2f}")
        print("every triple stored by both tools")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--triples", type=int, default=5000)
    parser.add_argument("--upstream", default=os.environ.get("TG_UPSTREAM_TURTLE", DEFAULT_UPSTREAM))
    parser.add_argument("--compile", action="store_true", help="compile both environments' bytecode first")
    args = parser.parse_args()
    ours = script("tg-connect")
    upstream = args.upstream if os.path.exists(args.upstream) else None
    if upstream is None:
        print(f"upstream tg-load-turtle not found at {args.upstream}: measuring tg-connect alone", file=sys.stderr)
    if args.compile:
        compile_bytecode([sys.executable] + ([str(Path(upstream).parent / "python")] if upstream else []))
    names = [
        "tg-connect --help",
        "tg-connect load --help",
        "tg-load-turtle --help (upstream)",
        f"tg-connect load triples ({args.triples:,}-triple Turtle)",
        f"tg-load-turtle ({args.triples:,}-triple Turtle, upstream)",
        f"tg-connect load triples --rate none ({args.triples:,}-triple Turtle, unpaced like upstream)",
    ]
    timings = {name: Timing(name) for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "graph.ttl"
        turtle(data, args.triples)
        proc, url = serve(ours)
        try:
            measure(timings, args.runs, ours, upstream, url, data)
            counts = {"bench-ours": stored(url, "bench-ours")}
            if upstream:
                counts["default"] = stored(url, "default")
        finally:
            proc.terminate()
            proc.wait(30)
    for collection, count in counts.items():
        if count != args.triples:
            raise SystemExit(f"collection {collection} holds {count:,} triples, not {args.triples:,}")
    report(timings, args.runs)


if __name__ == "__main__":
    main()
