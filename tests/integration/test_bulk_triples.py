"""Triples in and out through to_trustgraph / read_trustgraph, over real sockets."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import tg_connect
from tg_connect.protocol import schemas
from tg_connect.sample import sample_triples
from tg_connect.target import resolve_target

from ..conftest import Gateway

COLUMNS = schemas.TRIPLES.names


def as_set(df: pd.DataFrame) -> set[tuple[object, ...]]:
    return set(df[COLUMNS].astype(object).where(df[COLUMNS].notna(), None).itertuples(index=False, name=None))


def run_dataset(run_id: str, n: int, real: bool) -> pa.Table:
    """``n`` sample triples whose predicates are unique to this run.

    The real gateway's FalkorDB store ignores ``collection`` and ``g`` in queries and keeps
    only IRIs starting http(s):// and plain literals (docs/real-gateway.md), so against it
    the data is limited to what that store preserves, and read back by predicate.
    """
    table = sample_triples(n)
    renamed = pc.replace_substring(table.column("p"), "http://", f"http://run-{run_id}.example/")
    p = pc.binary_join_element_wise(renamed, "")
    table = table.set_column(table.schema.get_field_index("p"), "p", p)
    if real:
        keep = pc.and_(pc.is_null(table.column("g")), pc.not_equal(table.column("o_type"), "blank"))
        table = table.filter(keep)
        table = table.set_column(
            table.schema.get_field_index("o_datatype"), "o_datatype", pa.nulls(len(table), pa.string())
        )
        table = table.set_column(
            table.schema.get_field_index("o_language"), "o_language", pa.nulls(len(table), pa.string())
        )
    return table


def read_back(gateway: Gateway, collection: str, predicates: list[str]) -> pd.DataFrame:
    frames = [
        tg_connect.read_trustgraph("triples", url=gateway.url, collection=collection, token=gateway.token, p=p)
        for p in predicates
    ]
    return pd.concat(frames, ignore_index=True)


def test_round_trip_dataframe(gateway: Gateway, run_id: str) -> None:
    table = run_dataset(run_id, 2000, gateway.real)
    collection = f"c{run_id}"
    report = tg_connect.to_trustgraph(
        table.to_pandas(),
        "triples",
        url=gateway.url,
        collection=collection,
        token=gateway.token,
        progress=False,
        batch_size=300,
        max_rows_per_second=None,
    )  # unpaced: messages as encoded
    assert report.ok and report.rows_sent == len(table) and report.rows_read == len(table)
    assert report.batches == -(-len(table) // 300) and report.bytes_sent > 0
    predicates = pc.unique(table.column("p")).to_pylist()
    expected = as_set(table.to_pandas())
    got = gateway.eventually(lambda: read_back(gateway, collection, predicates), lambda df: len(df) >= len(expected))
    assert as_set(got) == expected
    assert list(got.columns) == COLUMNS


def test_round_trip_10k_parquet(gateway: Gateway, run_id: str, tmp_path: Path) -> None:
    table = run_dataset(run_id, 14000, gateway.real).slice(0, 10000)
    path = tmp_path / "triples.parquet"
    pq.write_table(table, path)
    collection = f"c{run_id}"
    report = tg_connect.to_trustgraph(path, url=gateway.url, collection=collection, token=gateway.token, progress=False)
    assert report.ok and report.rows_sent == 10000
    predicates = pc.unique(table.column("p")).to_pylist()
    got = gateway.eventually(
        lambda: read_back(gateway, collection, predicates),
        lambda df: len(df) >= 10000,
        timeout=gateway.settle_seconds * 2,
    )
    assert as_set(got) == as_set(table.to_pandas())


def test_plain_spo_frame_loads_with_guessed_kinds(gateway: Gateway, run_id: str) -> None:
    pred = f"http://run-{run_id}.example/name"
    df = pd.DataFrame(
        {
            "s": [f"http://example.org/{run_id}/{i}" for i in range(5)],
            "p": [pred] * 5,
            "o": ["Alice", "Bob", "http://example.org/x", "Dan", "Eve"],
        }
    )
    report = tg_connect.to_trustgraph(df, url=gateway.url, collection=f"c{run_id}", token=gateway.token, progress=False)
    assert report.ok
    got = gateway.eventually(lambda: read_back(gateway, f"c{run_id}", [pred]), lambda d: len(d) >= 5)
    kinds = dict(zip(got["o"], got["o_type"], strict=True))
    assert kinds == {
        "Alice": "literal",
        "Bob": "literal",
        "http://example.org/x": "iri",
        "Dan": "literal",
        "Eve": "literal",
    }


def test_export_tap_sees_a_load(gateway: Gateway, run_id: str) -> None:
    table = run_dataset(run_id, 400, gateway.real)
    target = resolve_target(gateway.url, gateway.token)
    received: list[pa.RecordBatch] = []

    def tap() -> None:
        reader = tg_connect.read_batches(
            "triples", gateway.url, token=gateway.token, source="tail", max_rows=len(table), idle_timeout=30
        )
        received.extend(reader)

    thread = threading.Thread(target=tap)
    thread.start()
    import time

    time.sleep(1.5)  # the tap binds its queue after the handshake (docs/protocol.md 8.5)
    tg_connect.to_trustgraph(table, url=gateway.url, collection=f"c{run_id}", token=gateway.token, progress=False)
    thread.join(60)
    assert not thread.is_alive()
    got = pa.Table.from_batches(received).to_pandas() if received else pd.DataFrame(columns=COLUMNS)
    # other tests' loads may pass the tap too: keep this run's rows
    got = got[got["p"].str.contains(run_id)]
    assert as_set(got) == as_set(table.to_pandas())
    assert target.token == gateway.token


def test_wrong_token_names_endpoint_and_hides_token(tmp_path: Path) -> None:
    secret = "tg_right_secret_123"
    wrong = "bad_wrong_token_456"
    with tg_connect.LocalGateway(token=secret) as gw:
        for call in (
            lambda: tg_connect.to_trustgraph(sample_triples(10), url=gw.url, token=wrong, progress=False),
            lambda: tg_connect.read_trustgraph("triples", url=gw.url, token=wrong),
        ):
            with pytest.raises(tg_connect.AuthenticationError) as err:
                call()
            text = str(err.value) + repr(err.value)
            assert "/api/v1/" in text and gw.url.split("//")[1] in text
            assert wrong not in text and secret not in text
        ok = tg_connect.to_trustgraph(sample_triples(10), url=gw.url, token=secret, progress=False)
        assert ok.rows_sent == 10


def test_wrong_token_on_gateway(gateway: Gateway) -> None:
    wrong = "bad_token_xyz"  # the real gateway accepts any tg_ key; this one is malformed
    with pytest.raises(tg_connect.AuthenticationError) as err:
        tg_connect.to_trustgraph(sample_triples(5), url=gateway.url, token=wrong, progress=False)
    assert wrong not in str(err.value) and "/api/v1/" in str(err.value)


def test_bad_inputs_name_file_and_column(local_gateway: tg_connect.LocalGateway, tmp_path: Path) -> None:
    garbage = tmp_path / "broken.parquet"
    garbage.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(tg_connect.InputError) as err:
        tg_connect.to_trustgraph(garbage, url=local_gateway.url, progress=False)
    assert str(garbage) in str(err.value)

    missing = tmp_path / "no_s.parquet"
    pq.write_table(pa.table({"p": ["http://p"], "o": ["x"]}), missing)
    with pytest.raises(tg_connect.InputError) as err:
        tg_connect.to_trustgraph(missing, url=local_gateway.url, progress=False)
    assert str(missing) in str(err.value) and err.value.column == "s"

    truncated = tmp_path / "truncated.parquet"
    good = tmp_path / "good.parquet"
    pq.write_table(sample_triples(5000), good, row_group_size=1000)
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(tg_connect.InputError) as err:
        tg_connect.to_trustgraph(truncated, url=local_gateway.url, progress=False)
    assert str(truncated) in str(err.value)


def test_bad_rows_raise_with_report_or_are_skipped(local_gateway: tg_connect.LocalGateway, run_id: str) -> None:
    good = sample_triples(30).to_pandas()
    bad = good.copy()
    bad.loc[17, "s"] = None
    with pytest.raises(tg_connect.InputError) as err:
        tg_connect.to_trustgraph(bad, url=local_gateway.url, collection=f"r{run_id}", progress=False, batch_size=10)
    assert err.value.row == 17 and err.value.column == "s"
    report = err.value.report  # type: ignore[attr-defined]
    assert report.rows_sent == 17 and report.resume_from_row == 17  # rows before the bad one were sent
    skipped = tg_connect.to_trustgraph(
        bad, url=local_gateway.url, collection=f"s{run_id}", progress=False, on_error="skip"
    )
    assert skipped.rows_sent == 29 and skipped.rows_rejected == 1
    assert skipped.rejections[0].row == 17 and skipped.rejected_rows is not None
    back = tg_connect.read_trustgraph(url=local_gateway.url, collection=f"s{run_id}")
    assert len(back) == 29


def test_progress_callable_and_report_html(local_gateway: tg_connect.LocalGateway) -> None:
    seen: list[tg_connect.Progress] = []
    report = tg_connect.to_trustgraph(
        sample_triples(2500), url=local_gateway.url, progress=seen.append, batch_size=1000
    )
    # Progress counts delivered rows: it moves when a PONG or the close confirms messages.
    rows = [p.rows for p in seen]
    assert rows == sorted(rows) and rows[-1] == 2500 and seen[-1].done and not any(p.done for p in seen[:-1])
    assert "<table>" in report._repr_html_() and "2,500" in str(report)


@pytest.mark.slow
def test_one_million_triples_round_trip(local_gateway: tg_connect.LocalGateway, tmp_path: Path) -> None:
    table = sample_triples(1_000_000)
    path = tmp_path / "million.parquet"
    pq.write_table(table, path, row_group_size=100_000)
    report = tg_connect.to_trustgraph(
        path, url=local_gateway.url, collection="million", progress=False, batch_size=2000
    )
    assert report.ok and report.rows_sent == 1_000_000
    got = tg_connect.read_batches("triples", local_gateway.url, collection="million", batch_size=5000).read_all()
    assert got.num_rows == 1_000_000
    keys = COLUMNS
    a = table.sort_by([(k, "ascending") for k in keys])
    b = got.sort_by([(k, "ascending") for k in keys])
    assert a.equals(b)


def test_url_from_environment_else_trustgraphs_default(
    local_gateway: tg_connect.LocalGateway, monkeypatch: pytest.MonkeyPatch, run_id: str
) -> None:
    monkeypatch.setenv("TRUSTGRAPH_URL", local_gateway.url)
    tg_connect.to_trustgraph(sample_triples(16), collection=f"env{run_id}", progress=False)
    assert len(tg_connect.read_trustgraph(url=local_gateway.url, collection=f"env{run_id}")) == 16
    monkeypatch.delenv("TRUSTGRAPH_URL")
    # No silent fallback to a throwaway gateway: TrustGraph's own default URL.
    assert resolve_target().url == "http://localhost:8088"


def test_nothing_answering_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # A port nothing listens on: held bound (not listening) for the whole test, so no other
    # process can start listening there meanwhile, and connections to it are refused.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        monkeypatch.setenv("TRUSTGRAPH_URL", f"http://127.0.0.1:{port}")
        with pytest.raises(tg_connect.GatewayConnectionError, match="nothing answers at http://127.0.0.1") as raised:
            tg_connect.to_trustgraph(sample_triples(8), progress=False)
    assert "TRUSTGRAPH_URL" in str(raised.value) and "url=" in str(raised.value)


def test_a_bare_string_pattern_means_what_it_means_to_the_flow_client(
    local_gateway: tg_connect.LocalGateway, run_id: str
) -> None:
    """A bare subject string is an IRI when reading, as in ``Api.flow().triples_query``: one
    term rule (:func:`tg_connect.protocol.calls.term_arg`) for every triples query."""
    collection, pred = f"t{run_id}", f"http://run-{run_id}.example/p"
    n = 3
    table = pa.table(
        {
            "s": ["http://example.org/alice", "alice", "http://example.org/bob"],
            "s_type": ["iri"] * n,
            "p": [pred] * n,
            "p_type": ["iri"] * n,
            "o": ["one", "two", "three"],
            "o_type": ["literal"] * n,
            "o_datatype": [None] * n,
            "o_language": [None] * n,
            "g": [None] * n,
        },
        schema=schemas.TRIPLES,
    )
    assert tg_connect.to_trustgraph(table, url=local_gateway.url, collection=collection, progress=False).ok
    api = tg_connect.Api(local_gateway.url)
    flow = api.flow().id("default")
    for subject, expected in (("http://example.org/alice", ["one"]), ("alice", ["two"]), ("<alice>", ["two"])):
        read = tg_connect.read_batches("triples", local_gateway.url, collection=collection, s=subject).read_all()
        assert read.column("o").to_pylist() == expected and set(read.column("s_type").to_pylist()) == {"iri"}
        asked = flow.triples_query(s=subject, collection=collection)
        assert [t.o.value for t in asked] == expected
    # A literal subject is asked for as a Term, and none is stored.
    assert (
        tg_connect.read_batches("triples", local_gateway.url, collection=collection, s=tg_connect.Term.literal("alice"))
        .read_all()
        .num_rows
        == 0
    )
    api.close()
