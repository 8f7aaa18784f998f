"""Reading back what was loaded: graph embeddings by collection (no id to remember), the read
paths each kind has, progress on reads, and what the CLI prints at the end of a load.

A 2.11 knowledge core keeps no collection (both gateways hand every core row back as
collection ``"default"``), so each load notes its core's collection in the workspace's config
and ``source="cores"`` reads the cores noted for a collection. The real gateway's kg-store
keeps cores asynchronously, so reads there poll (``Gateway.eventually``).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from aiohttp import web

import tg_connect
from tg_connect import wording
from tg_connect.bulk.progress import Progress
from tg_connect.errors import InputError, NotFoundError, TgConnectError
from tg_connect.sample import sample_triples

from ..conftest import Gateway
from ..faults.read_helpers import BodyServer

STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ tg-connect ", re.M)


def embeddings(run_id: str, tag: str, n: int) -> pd.DataFrame:
    """``n`` graph embeddings with run-unique http IRIs (the real store keeps those as IRIs)."""
    return pd.DataFrame(
        {
            "entity": [f"http://example.org/{run_id}/{tag}/{i}" for i in range(n)],
            "vector": [[float(i), 1.0, 2.0, float(len(tag))] for i in range(n)],
        }
    )


def load(gateway: Gateway, df: pd.DataFrame, collection: str, document_id: str | None = None) -> None:
    report = tg_connect.to_trustgraph(
        df,
        "graph-embeddings",
        url=gateway.url,
        token=gateway.token,
        collection=collection,
        document_id=document_id,
        progress=False,
    )
    assert report.ok and report.rows_delivered == len(df)


def read_entities(gateway: Gateway, collection: str, expected: int) -> list[str]:
    """The entities read from ``collection``'s cores, once ``expected`` are there (real: polled)."""

    def probe() -> list[str]:
        df = tg_connect.read_trustgraph(
            "graph-embeddings", url=gateway.url, token=gateway.token, collection=collection, progress=False
        )
        return sorted(df["entity"])

    return gateway.eventually(probe, lambda got: len(got) >= expected)


@pytest.mark.real
def test_graph_embeddings_read_back_by_collection(gateway: Gateway, run_id: str) -> None:
    mine, other = f"ge{run_id}", f"go{run_id}"
    first, second, elsewhere = embeddings(run_id, "a", 5), embeddings(run_id, "bb", 3), embeddings(run_id, "c", 4)
    load(gateway, first, mine, document_id=f"doc-{run_id}")
    load(gateway, second, mine)  # a generated document id: nothing to remember either way
    load(gateway, elsewhere, other)

    assert read_entities(gateway, mine, 8) == sorted([*first["entity"], *second["entity"]])
    assert read_entities(gateway, other, 4) == sorted(elsewhere["entity"])

    reader = tg_connect.read_batches(
        "graph-embeddings", url=gateway.url, token=gateway.token, collection=mine, source="cores"
    )
    table = reader.read_all()
    vectors = dict(zip(table.column("entity").to_pylist(), table.column("vector").to_pylist(), strict=True))
    assert vectors == {
        e: v for e, v in zip([*first["entity"], *second["entity"]], [*first["vector"], *second["vector"]], strict=True)
    }


@pytest.mark.real
def test_a_collection_with_no_core_reads_empty(gateway: Gateway, run_id: str) -> None:
    df = tg_connect.read_trustgraph(
        "graph-embeddings", url=gateway.url, token=gateway.token, collection=f"none{run_id}", progress=False
    )
    assert df.empty and list(df.columns) == ["entity", "entity_type", "vector"]


@pytest.mark.real
def test_max_rows_stops_across_cores(gateway: Gateway, run_id: str) -> None:
    mine = f"gm{run_id}"
    load(gateway, embeddings(run_id, "a", 5), mine)
    load(gateway, embeddings(run_id, "b", 5), mine)
    read_entities(gateway, mine, 10)
    df = tg_connect.read_trustgraph(
        "graph-embeddings", url=gateway.url, token=gateway.token, collection=mine, max_rows=7, progress=False
    )
    assert len(df) == 7


@pytest.mark.real
def test_a_core_loaded_into_two_collections_is_refused(gateway: Gateway, run_id: str) -> None:
    """The core keeps no collection per row: its rows cannot be split, so the read says so."""
    shared = f"shared-{run_id}"
    load(gateway, embeddings(run_id, "x", 2), f"gx{run_id}", document_id=shared)
    load(gateway, embeddings(run_id, "y", 2), f"gy{run_id}", document_id=shared)

    def probe() -> str:
        try:
            tg_connect.read_trustgraph(
                "graph-embeddings", url=gateway.url, token=gateway.token, collection=f"gx{run_id}", progress=False
            )
        except InputError as exc:
            return str(exc)
        return ""  # the real kg-store has not listed the core yet

    message = gateway.eventually(probe, bool)
    assert f"'{shared}' also holds 'gy{run_id}'" in message
    assert 'source="core" core_id' in message
    whole = tg_connect.read_trustgraph(
        "graph-embeddings", url=gateway.url, token=gateway.token, source="core", core_id=shared, progress=False
    )
    assert len(whole) == 4


def test_triples_read_back_by_collection_from_cores(local_gateway: tg_connect.LocalGateway, run_id: str) -> None:
    """Cores hold triples too; the local gateway's triple query agrees with them."""
    table = sample_triples(50)
    report = tg_connect.to_trustgraph(table, url=local_gateway.url, collection=f"t{run_id}", progress=False)
    assert report.ok
    keys = [(k, "ascending") for k in table.schema.names]
    from_cores = tg_connect.read_batches(
        "triples", url=local_gateway.url, collection=f"t{run_id}", source="cores"
    ).read_all()
    queried = tg_connect.read_batches("triples", url=local_gateway.url, collection=f"t{run_id}").read_all()
    assert from_cores.sort_by(keys).equals(table.sort_by(keys))
    assert queried.sort_by(keys).equals(table.sort_by(keys))


class UnpatchedGateway(BodyServer):
    """An unpatched 2.11.1 gateway as a core read sees it: the knowledge service lists core
    ``k1`` (noted for collection ``c``), and its export-core route sends an empty body."""

    async def _config(self, request: web.Request) -> web.Response:
        note = {"type": "tg-connect-core", "key": '["c", "k1"]', "value": '{"core": "k1", "collection": "c"}'}
        return web.json_response({"version": 1, "values": [note]})

    async def _knowledge(self, request: web.Request) -> web.Response:
        return web.json_response({"ids": ["k1"]})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v1/export-core", self._export)
        app.router.add_post("/api/v1/config", self._config)
        app.router.add_post("/api/v1/knowledge", self._knowledge)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


def test_a_listed_core_exported_as_nothing_names_the_unpatched_gateway() -> None:
    with UnpatchedGateway(b"") as server:
        with pytest.raises(NotFoundError) as raised:
            tg_connect.read_trustgraph("graph-embeddings", url=server.url, collection="c", progress=False)
    message = str(raised.value)
    assert "knowledge core 'k1' not found" in message
    assert "it is listed by the knowledge service, which an unpatched 2.11.1 gateway does" in message


@pytest.mark.parametrize("kind", ["document-embeddings", "entity-contexts"])
def test_kinds_no_core_holds_name_the_tail(local_gateway: tg_connect.LocalGateway, kind: str) -> None:
    for source in (None, "cores", "core"):
        with pytest.raises(InputError) as raised:
            tg_connect.read_trustgraph(kind, url=local_gateway.url, source=source, core_id="x", progress=False)
        message = str(raised.value)
        assert f"no knowledge core holds {kind}" in message
        assert 'the one read path is source="tail" with max_rows or idle_timeout' in message


def test_the_read_paths_are_named_in_the_callers_terms(local_gateway: tg_connect.LocalGateway) -> None:
    wording.use_cli_spelling()
    try:
        with pytest.raises(InputError) as raised:
            tg_connect.read_trustgraph("document-embeddings", url=local_gateway.url, progress=False)
    finally:
        wording.use_python_spelling()
    assert "the one read path is --source tail with --max-rows or --idle-timeout" in str(raised.value)


def test_rows_have_no_read_path(local_gateway: tg_connect.LocalGateway) -> None:
    with pytest.raises(InputError, match="the gateway has no read path for rows"):
        tg_connect.read_trustgraph("rows", url=local_gateway.url, progress=False)


def test_a_core_read_needs_its_id(local_gateway: tg_connect.LocalGateway) -> None:
    with pytest.raises(InputError, match='source="core" needs core_id .* use source="cores"'):
        tg_connect.read_trustgraph("graph-embeddings", url=local_gateway.url, source="core", progress=False)


# -- progress on reads --------------------------------------------------------------------


def test_read_progress_in_a_log_is_timestamped_lines(
    local_gateway: tg_connect.LocalGateway, run_id: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """Under pytest stderr is no terminal: the lines a scheduler's log would get."""
    tg_connect.to_trustgraph(sample_triples(30), url=local_gateway.url, collection=f"p{run_id}", progress=False)
    capfd.readouterr()
    quiet = tg_connect.read_trustgraph("triples", url=local_gateway.url, collection=f"p{run_id}")
    assert len(quiet) == 30 and capfd.readouterr().err == ""  # reads are quiet unless asked
    df = tg_connect.read_trustgraph("triples", url=local_gateway.url, collection=f"p{run_id}", progress=True)
    err = capfd.readouterr().err
    assert len(df) == 30
    assert STAMPED.match(err), err
    assert err.strip().endswith("(done)") and "tg-connect read triples: 30 rows" in err and "\r" not in err


def test_read_batches_is_quiet_unless_asked(
    local_gateway: tg_connect.LocalGateway, run_id: str, capfd: pytest.CaptureFixture[str]
) -> None:
    tg_connect.to_trustgraph(sample_triples(30), url=local_gateway.url, collection=f"q{run_id}", progress=False)
    capfd.readouterr()
    seen: list[Progress] = []
    quiet = tg_connect.read_batches("triples", url=local_gateway.url, collection=f"q{run_id}").read_all()
    reader = tg_connect.read_batches(
        "triples", url=local_gateway.url, collection=f"q{run_id}", progress=seen.append, batch_size=7
    )
    so_far, running = 0, []
    for batch in reader:
        so_far += batch.num_rows
        running.append(so_far)
    assert capfd.readouterr().err == ""
    assert quiet.num_rows == so_far == 30
    assert [p.rows for p in seen if not p.done] == running  # one record per batch, as it is read
    assert seen[-1].done and not seen[-1].failed and seen[-1].rows == 30


def test_a_failed_read_shows_stopped_never_done(local_gateway: tg_connect.LocalGateway) -> None:
    seen: list[Progress] = []
    with pytest.raises(NotFoundError):
        tg_connect.read_trustgraph(
            "graph-embeddings", url=local_gateway.url, source="core", core_id="no-such-core", progress=seen.append
        )
    assert seen and seen[-1].failed and not any(p.done for p in seen)


# -- the command line -----------------------------------------------------------------------


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tg_connect", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def read_back_command(stdout: str) -> list[str]:
    found = re.search(r"^read back: (tg-connect dump .*)$", stdout, re.M)
    assert found, stdout
    return shlex.split(found.group(1))


@pytest.mark.real
def test_cli_load_prints_how_to_read_it_back_and_that_command_works(
    gateway: Gateway, tmp_path: Path, run_id: str
) -> None:
    source = tmp_path / "ge.parquet"
    df = embeddings(run_id, "cli", 6)
    df.to_parquet(source)
    env = {"TRUSTGRAPH_TOKEN": gateway.token} if gateway.token else None
    collection = f"gc{run_id}"
    loaded = cli("load", "graph-embeddings", str(source), "--url", gateway.url, "--collection", collection, env=env)
    assert loaded.returncode == 0, loaded.stderr
    document = re.search(r"^document id: (tg-connect-\S+)$", loaded.stdout, re.M)
    assert document, loaded.stdout
    command = read_back_command(loaded.stdout)
    assert command == [
        "tg-connect",
        "dump",
        "graph-embeddings",
        "out.parquet",
        "--collection",
        collection,
        "--url",
        gateway.url,
    ]
    assert f"--source core --core-id {document.group(1)}" in loaded.stdout
    out = tmp_path / "out.parquet"
    command[3] = str(out)

    def dump() -> Any:
        done = cli(*command[1:], env=env)
        assert done.returncode == 0, done.stderr
        return done

    dumped = gateway.eventually(dump, lambda d: pq.read_metadata(out).num_rows >= len(df))
    assert sorted(pq.read_table(out).column("entity").to_pylist()) == sorted(df["entity"])
    assert STAMPED.search(dumped.stderr) and dumped.stderr.strip().endswith("(done)"), dumped.stderr
    quiet = cli(*command[1:], "--no-progress", env=env)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr


def test_cli_json_load_keeps_stdout_json(local_gateway: tg_connect.LocalGateway, tmp_path: Path, run_id: str) -> None:
    source = tmp_path / "t.parquet"
    pq.write_table(sample_triples(10), source)
    loaded = cli("load", "triples", str(source), "--url", local_gateway.url, "--collection", f"j{run_id}", "--json")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.lstrip().startswith("{") and "read back:" not in loaded.stdout
    assert f"read back: tg-connect dump triples out.parquet --collection j{run_id}" in loaded.stderr


def test_cli_load_of_a_kind_with_no_stored_read_says_so(local_gateway: tg_connect.LocalGateway, tmp_path: Path) -> None:
    source = tmp_path / "de.parquet"
    pd.DataFrame({"chunk_id": ["c1", "c2"], "vector": [[1.0, 2.0], [3.0, 4.0]]}).to_parquet(source)
    loaded = cli("load", "document-embeddings", str(source), "--url", local_gateway.url, "--no-progress")
    assert loaded.returncode == 0, loaded.stderr
    assert "read back: none for stored document-embeddings" in loaded.stdout
    assert "tg-connect dump document-embeddings out.parquet --source tail --idle-timeout 30" in loaded.stdout


def test_cli_dump_of_a_kind_with_no_stored_read_is_one_line(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path
) -> None:
    dumped = cli("dump", "document-embeddings", str(tmp_path / "x.parquet"), "--url", local_gateway.url)
    assert dumped.returncode == 1
    lines = dumped.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tg-connect: error: cannot read stored document-embeddings")
    assert "the one read path is --source tail with --max-rows or --idle-timeout" in lines[0]  # the CLI's terms
    assert not (tmp_path / "x.parquet").exists()


def test_a_failed_cli_load_prints_its_error_once_and_never_done(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path
) -> None:
    table = sample_triples(20).to_pandas()
    table.loc[5, "s"] = None
    bad = tmp_path / "bad.parquet"
    table.to_parquet(bad)
    failed = cli("load", "triples", str(bad), "--url", local_gateway.url)
    assert failed.returncode == 1
    err = failed.stderr
    assert "(done)" not in err and "(stopped)" in err, err
    assert err.count("null value") == 1, err  # main()'s one line; the report (on stdout) has no error line
    assert "tg-connect: error: null value (source" in err and "the report is on stdout" in err
    assert "null value" not in failed.stdout and "NOT DELIVERED: input rows 5-19" in failed.stdout
    assert "read back:" not in failed.stdout


def test_a_failed_python_load_never_reports_done(local_gateway: tg_connect.LocalGateway) -> None:
    table = sample_triples(20).to_pandas()
    table.loc[5, "s"] = None
    seen: list[Progress] = []
    with pytest.raises(TgConnectError):
        tg_connect.to_trustgraph(table, url=local_gateway.url, progress=seen.append)
    assert seen and seen[-1].failed and not any(p.done for p in seen)


def test_a_failed_many_file_load_prints_its_error_once(local_gateway: tg_connect.LocalGateway, tmp_path: Path) -> None:
    """--fail-fast: the file table's line of the file that stopped the load points to the error."""
    (tmp_path / "a.nt").write_text('<http://example.org/s> <http://example.org/p> "x" .\n')
    (tmp_path / "b.nt").write_text('<http://example.org/s> <http://example.org/p> "x .\n')
    failed = cli("load", "triples", str(tmp_path), "--url", local_gateway.url, "--fail-fast")
    assert failed.returncode == 1
    err = failed.stderr
    assert err.count("Unexpected end of file") == 1, err
    assert "Unexpected end of file" not in failed.stdout
    assert f"failed  {tmp_path / 'b.nt'}: 0 rows; the error on stderr" in failed.stdout
    assert "(done)" not in err and "(stopped)" in err
