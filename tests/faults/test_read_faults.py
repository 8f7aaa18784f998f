"""Reads never return a silent prefix: a tail whose socket drops, a core body cut inside an
item, a core that does not exist, all raise, keep what was read on the error, and leave no
file behind. Real sockets: the local gateway, through the fault proxy where a fault is needed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import tg_connect
from tg_connect import GatewayConnectionError, NotFoundError, ProtocolError
from tg_connect.protocol import cores

from . import FaultProxy
from .read_helpers import BodyServer, cli, core_body, in_thread, load, triples, wait_until


def test_a_tail_cut_mid_stream_raises_with_the_rows_read(local_gateway: tg_connect.LocalGateway, run_id: str) -> None:
    table = triples(20_000, run_id)
    with FaultProxy(local_gateway.url, cut_after=300_000, direction="down") as proxy:
        tail = in_thread(
            lambda: tg_connect.read_trustgraph(
                "triples", url=proxy.url, source="tail", max_rows=table.num_rows, idle_timeout=30
            )
        )
        wait_until(lambda: proxy.stats.bytes_down > 0)  # the handshake is through: the tap is subscribed
        load(local_gateway, table, batch_size=500)
        tail.join()
        assert proxy.stats.faults == 1
    error = tail.error
    assert isinstance(error, GatewayConnectionError) and isinstance(error, ConnectionError)
    assert error.rows_read is not None and 0 < error.rows_read < table.num_rows
    assert f"after {error.rows_read} rows" in str(error) and "flow 'default'" in str(error)
    assert error.partial is not None and error.partial.num_rows == error.rows_read
    # what was read is a prefix of what was loaded, in order
    assert error.partial.column("s").to_pylist() == table.column("s").to_pylist()[: error.rows_read]


def test_a_tail_whose_gateway_closes_cleanly_raises(run_id: str) -> None:
    """A server-initiated clean close (1001, shutdown) before max_rows / idle_timeout is an error too."""
    gateway = tg_connect.LocalGateway().start()
    try:
        with FaultProxy(gateway.url) as proxy:
            client = tg_connect.Api(proxy.url).bulk()
            tail = in_thread(lambda: client.read("triples", source="tail", max_rows=10_000, idle_timeout=30))
            wait_until(lambda: proxy.stats.bytes_down > 0)
            load(gateway, triples(1000, run_id), batch_size=100)
            seen = -1
            while proxy.stats.bytes_down != seen:  # until all the tap sent has gone through
                seen = proxy.stats.bytes_down
                time.sleep(0.3)
            gateway.stop()
            tail.join()
    finally:
        gateway.stop()
    error = tail.error
    assert isinstance(error, GatewayConnectionError)
    assert "code 1001" in str(error) and "after 1000 rows" in str(error)
    assert error.rows_read == 1000 and error.partial is not None and error.partial.num_rows == 1000


def test_a_tail_on_an_unknown_flow_raises_naming_it(local_gateway: tg_connect.LocalGateway) -> None:
    # The real 2.11.1 gateway accepts the socket and closes it at once, code 1000, no frame
    # (docs/real-gateway.md); the local one does the same.
    with pytest.raises(GatewayConnectionError, match="flow 'no-such-flow'.*code 1000") as info:
        tg_connect.read_trustgraph(
            "triples", url=local_gateway.url, flow="no-such-flow", source="tail", idle_timeout=30
        )
    assert info.value.rows_read == 0 and info.value.partial is not None and info.value.partial.num_rows == 0
    with pytest.raises(GatewayConnectionError, match="no-such-flow"):
        list(tg_connect.read_batches("graph-embeddings", local_gateway.url, "no-such-flow", source="tail", max_rows=5))


def test_a_core_body_ending_inside_an_item_raises(tmp_path: Path) -> None:
    body, ends = core_body("cut", 5, 1000)
    cut = ends[2] + (ends[3] - ends[2]) // 2  # three whole items, then half of the fourth
    with BodyServer(body[:cut]) as server:
        with pytest.raises(GatewayConnectionError, match="'cut'.*ended inside an item after 3 complete items") as info:
            tg_connect.read_trustgraph("triples", url=server.url, source="core", core_id="cut")
        assert info.value.rows_read == 3000
        assert info.value.partial is not None and info.value.partial.num_rows == 3000

        dest = tmp_path / "core.msgpack"
        dest.write_bytes(b"the previous export")
        with pytest.raises(GatewayConnectionError, match="ended inside an item after 3 complete items"):
            tg_connect.export_core("cut", dest, url=server.url)
        assert dest.read_bytes() == b"the previous export"  # untouched
        assert sorted(p.name for p in tmp_path.iterdir()) == ["core.msgpack"]  # no temporary left

        result = cli("export-core", "cut", str(tmp_path / "new.msgpack"), "--url", server.url)
        assert result.returncode == 1 and "inside an item" in result.stderr
        assert not (tmp_path / "new.msgpack").exists()
        result = cli(
            "dump",
            "triples",
            str(tmp_path / "out.parquet"),
            "--source",
            "core",
            "--core-id",
            "cut",
            "--url",
            server.url,
        )
        assert result.returncode == 1 and "inside an item" in result.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["core.msgpack"]

    with BodyServer(body) as whole:  # the same body, whole, is read in full
        assert len(tg_connect.read_trustgraph("triples", url=whole.url, source="core", core_id="cut")) == 5000
        moved = tg_connect.export_core("cut", dest, url=whole.url)
        assert (moved.items, moved.triples, moved.bytes) == (5, 5000, len(body))
        assert dest.read_bytes() == body


def test_a_core_body_that_is_not_msgpack_items_is_a_protocol_error(tmp_path: Path) -> None:
    with BodyServer(b"\x93\x01\x02\x03") as server:  # a whole msgpack value, but not a [tag, body] item
        with pytest.raises(ProtocolError, match="'odd'"):
            tg_connect.read_trustgraph("triples", url=server.url, source="core", core_id="odd")
        with pytest.raises(ProtocolError, match="'odd'"):
            tg_connect.export_core("odd", tmp_path / "odd.msgpack", url=server.url)
    assert list(tmp_path.iterdir()) == []


def test_a_core_stream_cut_by_the_network_raises(
    local_gateway: tg_connect.LocalGateway, run_id: str, tmp_path: Path
) -> None:
    core_id = f"cut-{run_id}"
    load(local_gateway, triples(20_000, run_id), batch_size=1000, document_id=core_id)
    with FaultProxy(local_gateway.url, cut_after=500_000, direction="down") as proxy:
        with pytest.raises(GatewayConnectionError, match=core_id) as info:
            tg_connect.read_trustgraph("triples", url=proxy.url, source="core", core_id=core_id)
        assert info.value.rows_read is not None and 0 < info.value.rows_read < 20_000
        with pytest.raises(GatewayConnectionError, match=core_id):
            tg_connect.export_core(core_id, tmp_path / "core.msgpack", url=proxy.url)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_core_is_an_error_and_leaves_no_file(local_gateway: tg_connect.LocalGateway, tmp_path: Path) -> None:
    # The gateway answers an unknown core id with an empty 200 body: zero items is not a core.
    with pytest.raises(NotFoundError, match="'no-such-core'"):
        tg_connect.read_trustgraph("triples", url=local_gateway.url, source="core", core_id="no-such-core")
    with pytest.raises(NotFoundError, match="'no-such-core'"):
        tg_connect.read_trustgraph("graph-embeddings", url=local_gateway.url, source="core", core_id="no-such-core")
    dest = tmp_path / "core.msgpack"
    with pytest.raises(NotFoundError, match="'no-such-core'"):
        tg_connect.export_core("no-such-core", dest, url=local_gateway.url)
    assert list(tmp_path.iterdir()) == []
    dest.write_bytes(b"kept")
    with pytest.raises(LookupError):
        tg_connect.export_core("no-such-core", dest, url=local_gateway.url)
    assert dest.read_bytes() == b"kept"

    result = cli("export-core", "no-such-core", str(tmp_path / "new.msgpack"), "--url", local_gateway.url)
    assert result.returncode == 1 and "'no-such-core' not found" in result.stderr
    result = cli(
        "dump",
        "triples",
        str(tmp_path / "out.csv"),
        "--source",
        "core",
        "--core-id",
        "no-such-core",
        "--url",
        local_gateway.url,
    )
    assert result.returncode == 1 and "'no-such-core' not found" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["core.msgpack"]


def test_a_core_of_only_the_other_kind_reads_as_empty(local_gateway: tg_connect.LocalGateway, run_id: str) -> None:
    """A core that exists but holds no rows of the kind asked for is empty, not an error."""
    core_id = f"only-triples-{run_id}"
    load(local_gateway, triples(10, run_id), document_id=core_id)
    got = tg_connect.read_trustgraph("graph-embeddings", url=local_gateway.url, source="core", core_id=core_id)
    assert len(got) == 0
    assert len(tg_connect.read_trustgraph("triples", url=local_gateway.url, source="core", core_id=core_id)) == 10


def test_the_dump_command_exits_non_zero_and_writes_nothing_when_the_tail_drops(
    local_gateway: tg_connect.LocalGateway, run_id: str, tmp_path: Path
) -> None:
    table = triples(20_000, run_id)
    dest = tmp_path / "out.parquet"
    with FaultProxy(local_gateway.url, cut_after=300_000, direction="down") as proxy:
        dump = in_thread(
            lambda: cli(
                "dump",
                "triples",
                str(dest),
                "--source",
                "tail",
                "--max-rows",
                "20000",
                "--idle-timeout",
                "30",
                "--url",
                proxy.url,
            )
        )
        wait_until(lambda: proxy.stats.bytes_down > 0, timeout=60)
        load(local_gateway, table, batch_size=500)
        dump.join()
    result = dump.result
    assert result.returncode == 1
    assert "the connection dropped without a close frame" in result.stderr and "was not written" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("face", ["sync", "async"])
def test_bulk_client_reads_keep_the_partial_rows(
    local_gateway: tg_connect.LocalGateway, run_id: str, face: str
) -> None:
    """``Api.bulk().read`` and ``Api.async_bulk().read`` hand the rows read before the failure
    on the error."""
    table = triples(2000, run_id)
    with FaultProxy(local_gateway.url, cut_after=150_000, direction="down") as proxy:
        api = tg_connect.Api(proxy.url)
        options: dict[str, Any] = {"source": "tail", "max_rows": 2000, "idle_timeout": 30}
        if face == "sync":
            tail = in_thread(lambda: api.bulk().read("triples", **options))
        else:
            tail = in_thread(lambda: asyncio.run(api.async_bulk().read("triples", **options)))
        wait_until(lambda: proxy.stats.bytes_down > 0)
        load(local_gateway, table, batch_size=100)
        tail.join()
    error = tail.error
    assert isinstance(error, GatewayConnectionError)
    assert isinstance(error.partial, pa.Table) and error.partial.num_rows == error.rows_read
    assert error.rows_read is not None and 0 < error.rows_read < 2000


def test_read_errors_never_show_the_token(run_id: str) -> None:
    secret = f"tg_secret_{run_id}"
    with tg_connect.LocalGateway(token=secret) as gateway:
        with pytest.raises(GatewayConnectionError) as tail:
            tg_connect.read_trustgraph(
                "triples", url=gateway.url, token=secret, flow="no-such-flow", source="tail", idle_timeout=5
            )
        with pytest.raises(NotFoundError) as core:
            tg_connect.read_trustgraph("triples", url=gateway.url, token=secret, source="core", core_id="nope")
    for error in (tail.value, core.value):
        assert secret not in str(error) and secret not in repr(error)
    assert "token=***" in str(tail.value)


def test_the_core_decoder_knows_where_items_end() -> None:
    """Fed in pieces of any size, it is at a boundary exactly where an item ends."""
    body, ends = core_body("b", 3, 5)
    for piece in (13, 64, len(body)):
        for cut in range(len(body) + 1):
            decoder = cores.CoreDecoder(arrow=False)
            items = sum(len(list(decoder.feed(body[i : min(i + piece, cut)]))) for i in range(0, cut, piece))
            assert decoder.at_boundary == (cut == 0 or cut in ends), (piece, cut)
            assert items == decoder.items == sum(1 for end in ends if end <= cut)
