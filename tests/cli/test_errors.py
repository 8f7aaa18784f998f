"""Every command-line mistake is one line on stderr, with the exit status the module docstring
of tg_connect.cli lists, run through the installed ``tg-connect`` console script.

64: the command line is wrong (nothing was done); 1: the gateway or a file failed; 130: Ctrl-C;
141: standard output closed early (nothing printed).
"""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import pytest

import tg_connect
from tg_connect.sample import sample_path

from ..conftest import REAL_URL
from ..processes import ctrl_c_as_at_a_terminal
from .helpers import console_script, one_line, run

SAMPLE = str(sample_path())
KIND_LIST = "triples, graph-embeddings, document-embeddings, entity-contexts, rows"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


USAGE = [
    (("load", "triples", SAMPLE, "--url", "localhost:8088"), "did you mean --url http://localhost:8088?"),
    (("load", "triples", SAMPLE, "--url", "127.0.0.1:8088"), "did you mean --url http://127.0.0.1:8088?"),
    (
        ("load", "triples", SAMPLE, "--url", "http://127.0.0.1:8088/api/v1"),
        "give the gateway's base URL, --url http://127.0.0.1:8088",
    ),
    (("dump", "triples", "out.parquet", "--url", "http://h:1/api/v1/"), "base URL, --url http://h:1 "),
    (("load", "triples", SAMPLE, "--format", "foo"), "unknown --format 'foo': expected one of parquet, csv,"),
    (("dump", "triples", "out.parquet", "--format", "xls"), "unknown --format 'xls'"),
    (("dump", "triples", "out.unknown"), "cannot tell the format from 'out.unknown': pass --format (parquet,"),
    (("load", "trip", SAMPLE), f"argument KIND: unknown kind 'trip'; one of {KIND_LIST}"),
    (("dump", "vectors", "out.parquet"), f"unknown kind 'vectors'; one of {KIND_LIST}"),
    (("dump", "triples", "out.parquet", "--source", "core"), "--source core needs --core-id"),
    (("dump", "triples", "-"), "writing to standard output (-) needs --format"),
    (("dump", "triples", "out.parquet", "--source", "everything"), "argument --source: invalid choice"),
    (("load",), "the following arguments are required: KIND, SOURCE"),
    ((), "the following arguments are required: COMMAND"),
    (("lod",), "invalid choice: 'lod'"),
    (("load", "triples", SAMPLE, "--bogus"), "unrecognized arguments: --bogus"),
    (("load", "triples", SAMPLE, "--batch-size", "0"), "argument --batch-size: must be at least 1, not 0"),
    (("load", "triples", SAMPLE, "--rate", "fast"), "expected rows per second, 'auto' or 'none', not 'fast'"),
    (("load", "triples", SAMPLE, "--timeout", "-1"), "argument --timeout: must be more than 0 seconds"),
]


@pytest.mark.parametrize("args, expected", USAGE, ids=[" ".join(a[:1] + a[3:]) or "(none)" for a, _ in USAGE])
def test_usage_errors_are_one_line_and_exit_64(args: tuple[str, ...], expected: str, tmp_path: Path) -> None:
    result = run(*args)
    line = one_line(result)
    assert result.returncode == 64, result.stderr
    assert expected in line
    command = f"tg-connect {args[0]}" if args and args[0] in ("load", "dump") else "tg-connect"
    if "unrecognized arguments" not in line:  # argparse reports those from the top-level parser
        assert line.startswith(f"{command}: error: ") and line.endswith(f"(see {command} --help)")
    assert "usage:" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "out.parquet").exists()


def test_choices_are_listed_once() -> None:
    for args, choice in [
        (("load", "trip", SAMPLE), "graph-embeddings"),
        (("load", "triples", SAMPLE, "--format", "x"), "ttl"),
    ]:
        assert one_line(run(*args)).count(choice) == 1


def test_url_from_the_environment_is_named_as_such() -> None:
    result = run("load", "triples", SAMPLE, env={"TRUSTGRAPH_URL": "gateway.example:8088"})
    line = one_line(result)
    assert result.returncode == 1
    assert (
        "TRUSTGRAPH_URL=gateway.example:8088 has no scheme: did you mean TRUSTGRAPH_URL=http://gateway.example:8088?"
        in line
    )


def test_unreachable_gateway() -> None:
    port = free_port()
    result = run("load", "triples", SAMPLE, "--url", f"http://127.0.0.1:{port}", "--no-progress")
    line = one_line(result)
    assert result.returncode == 1
    assert line.startswith(f"tg-connect: error: nothing answers at http://127.0.0.1:{port}/")
    assert line.endswith("is the gateway running? set --url or TRUSTGRAPH_URL")
    dumped = run("dump", "triples", "out.parquet", "--url", f"http://127.0.0.1:{port}")
    assert dumped.returncode == 1 and "nothing answers at" in one_line(dumped)


def test_missing_token_and_refused_token_on_a_local_gateway(tmp_path: Path) -> None:
    secret = "tg_cli_right_4711"
    with tg_connect.LocalGateway(token=secret) as gw:
        cases = {
            "missing": {},
            "refused": {"TRUSTGRAPH_TOKEN": "tg_cli_wrong_0815"},
        }
        for case, env in cases.items():
            for args in (
                ("load", "triples", SAMPLE, "--url", gw.url, "--no-progress"),
                ("dump", "triples", str(tmp_path / "out.parquet"), "--url", gw.url),
                ("export-core", "some-core", str(tmp_path / "core.msgpack"), "--url", gw.url),
            ):
                result = run(*args, env=env)
                line = one_line(result)
                assert result.returncode == 1, (case, args, result.stderr)
                if case == "missing":
                    assert (
                        "the gateway requires a token and none was given (pass --token or set TRUSTGRAPH_TOKEN)" in line
                    )
                else:
                    assert (
                        "the gateway refused the token (check the token given as --token or $TRUSTGRAPH_TOKEN)" in line
                    )
                assert secret not in line and "tg_cli_wrong_0815" not in line + result.stdout
                if args[0] != "load":
                    assert line.endswith(f"{args[2]} was not written")
        wrong_flag = run("load", "triples", SAMPLE, "--url", gw.url, "--token", "tg_cli_wrong_0815")
        assert "refused the token" in one_line(wrong_flag) and "tg_cli_wrong_0815" not in wrong_flag.stderr
        ok = run("load", "triples", SAMPLE, "--url", gw.url, "--no-progress", env={"TRUSTGRAPH_TOKEN": secret})
        assert ok.returncode == 0 and ok.stderr == ""
    assert not (tmp_path / "out.parquet").exists() and not (tmp_path / "core.msgpack").exists()


@pytest.mark.real
@pytest.mark.skipif(REAL_URL is None, reason="no real gateway configured (set TG_REAL_GATEWAY_URL)")
def test_missing_token_and_refused_token_on_the_real_gateway() -> None:
    """The 2.11 gateway lets REST through without a token (anonymous) but refuses an import
    socket without one; a token it does not know is refused everywhere (HTTP 401)."""
    assert REAL_URL is not None
    missing = run("load", "triples", SAMPLE, "--url", REAL_URL, "--no-progress", "--rate", "none")
    line = one_line(missing)
    assert missing.returncode == 1
    assert "/import/triples" in line and "the gateway requires a token and none was given" in line
    refused = run("load", "triples", SAMPLE, "--url", REAL_URL, "--token", "not-a-tg-token", "--no-progress")
    assert refused.returncode == 1 and "the gateway refused the token" in one_line(refused)
    dumped = run("dump", "triples", "-", "--format", "nt", "--url", REAL_URL, "--token", "not-a-tg-token")
    assert dumped.returncode == 1 and "the gateway refused the token" in one_line(dumped)
    assert "not-a-tg-token" not in missing.stderr + refused.stderr + dumped.stderr


def test_ctrl_c_is_one_line_and_exit_130() -> None:
    """Interrupted while the load waits for a gateway that accepted the connection and is silent."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent.settimeout(120)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        proc = subprocess.Popen(
            [console_script(), "load", "triples", SAMPLE, "--url", url, "--no-progress"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=ctrl_c_as_at_a_terminal,
        )
        conn, _ = silent.accept()  # the load is past its imports and waiting for an answer
        with conn:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.splitlines() == ["tg-connect: interrupted"] and out == ""


def test_closed_stdout_is_quiet_and_exit_141(local_gateway: tg_connect.LocalGateway, run_id: str) -> None:
    """``tg-connect dump triples - --format nq | head -1``: no traceback, no message."""
    tg_connect.to_trustgraph(SAMPLE, url=local_gateway.url, collection=f"p{run_id}", progress=False)
    proc = subprocess.Popen(
        [console_script(), "dump", "triples", "-", "--format", "nq", "--url", local_gateway.url]
        + ["--collection", f"p{run_id}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # as head does after its lines
    err = proc.stderr.read()
    proc.wait(60)
    assert first.startswith(b"<http") and first.endswith(b" .\n")
    assert proc.returncode == 141 and err == b""


def _injected(tmp_path: Path) -> dict[str, str]:
    """An environment whose interpreter starts with a fault in the load path (a bug's stand-in):
    ``sitecustomize`` runs before the console script's ``main``."""
    (tmp_path / "sitecustomize.py").write_text(
        "import tg_connect.bulk.api as api\n"
        "def broken(*args, **kwargs):\n"
        "    raise RuntimeError('injected fault for the test')\n"
        "api.to_trustgraph = broken\n"
    )
    return {"PYTHONPATH": str(tmp_path)}


def test_unexpected_error_is_one_line_pointing_at_debug(tmp_path: Path) -> None:
    env = _injected(tmp_path)
    result = run("load", "triples", SAMPLE, env=env)
    assert result.returncode == 1
    assert one_line(result) == (
        "tg-connect: error: RuntimeError: injected fault for the test (run with --debug for the traceback)"
    )
    for debug in (
        run("load", "triples", SAMPLE, "--debug", env=env),
        run("load", "triples", SAMPLE, env={**env, "TG_CONNECT_DEBUG": "1"}),
    ):
        assert debug.returncode == 1
        lines = debug.stderr.splitlines()
        assert lines[0] == "Traceback (most recent call last):" and "in broken" in debug.stderr
        assert lines[-1] == "tg-connect: error: RuntimeError: injected fault for the test"


def test_file_errors_are_one_line(local_gateway: tg_connect.LocalGateway, tmp_path: Path) -> None:
    missing = run("load", "triples", str(tmp_path / "nope.parquet"), "--url", local_gateway.url)
    assert missing.returncode == 1
    assert one_line(missing).startswith("tg-connect: error: no such file") and "nope.parquet" in missing.stderr
    unwritable = run("dump", "triples", "/proc/no-such-dir/out.parquet", "--url", local_gateway.url)
    line = one_line(unwritable)
    assert unwritable.returncode == 1 and line.startswith("tg-connect: error: ")
    assert line.endswith("; /proc/no-such-dir/out.parquet was not written") and "--debug" not in line


def test_unknown_flow_names_the_flag(local_gateway: tg_connect.LocalGateway) -> None:
    result = run("load", "triples", SAMPLE, "--url", local_gateway.url, "--flow", "nope", "--no-progress")
    line = one_line(result)
    assert result.returncode == 1
    assert "unknown flow 'nope'" in line and "has: 'default'" in line and line.endswith("pass --flow NAME")
