"""Input faults keep valid rows: a bad record is one rejected row (or, with on_error="raise",
an InputError naming where it is, every row before it handed on), never a bare exception and
never the loss of the good rows around it. Reader and conformer level; the load level is in
test_input_faults_load.py."""

from __future__ import annotations

import gzip
import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tg_connect.errors import InputError
from tg_connect.protocol import messages, schemas
from tg_connect.protocol.conform import Conformed, Conformer
from tg_connect.protocol.terms import Term, Triple
from tg_connect.readers import Source, open_source

from .test_bad_input import expect_error, expect_load_error


def spo(i: int) -> dict[str, str]:
    return {"s": f"http://a/{i}", "p": "http://p", "o": f"value {i}"}


def jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def load_skip(src: Source, kind: str = "triples", **kw: Any) -> tuple[list[Conformed], int]:
    """Conform every batch of ``src`` as a load with on_error="skip" does; and the rows read."""
    conformer = Conformer(kind, on_error="skip", source=src.name, **kw)
    out, offset = [], 0
    for batch in src.open():
        out.append(conformer.conform(batch, offset))
        offset += batch.num_rows
    return out, offset


def rejections(parts: list[Conformed]) -> list[Any]:
    return [r for part in parts for r in part.rejections]


def good_rows(parts: list[Conformed]) -> list[dict[str, Any]]:
    return [row for part in parts for row in part.batch.to_pylist()]


# -- JSON Lines: a malformed line rejects that line only -------------------------------------

MALFORMED = '{"s": "http://a/4088", "p": "http://p", "o": "no closing quote}'


def thousands_with_one_bad_line(tmp_path: Path, n: int = 6000, bad: int = 4088) -> tuple[Path, list[str]]:
    """``n`` lines in one block (the default 1 MB block holds them all), line ``bad + 1`` malformed."""
    lines = [json.dumps(spo(i)) for i in range(n)]
    lines[bad] = MALFORMED
    return jsonl(tmp_path / "t.jsonl", lines), lines


def test_a_malformed_jsonl_line_rejects_that_line_only(tmp_path: Path) -> None:
    path, lines = thousands_with_one_bad_line(tmp_path)
    parts, read = load_skip(open_source(path, 100_000))
    assert read == 6000
    [rejection] = rejections(parts)
    assert (rejection.row, rejection.column) == (4088, None)
    assert "malformed JSON at line 4089, column 46: Unterminated string" in rejection.reason
    # Every other line of the same block is kept, in order.
    assert [r["s"] for r in good_rows(parts)] == [f"http://a/{i}" for i in range(6000) if i != 4088]
    # The rejected row: nulls where the line could not be read, and its raw text.
    rejected = pa.Table.from_batches([p.rejected_rows for p in parts if p.rejected_rows is not None])
    assert rejected.column_names == [
        "s",
        "s_type",
        "p",
        "p_type",
        "o",
        "o_type",
        "o_datatype",
        "o_language",
        "g",
        schemas.RAW_LINE,
    ]
    assert rejected.to_pylist() == [{**{c: None for c in rejected.column_names}, schemas.RAW_LINE: MALFORMED}]


def test_with_raise_a_malformed_jsonl_line_names_file_and_line_after_every_line_before(tmp_path: Path) -> None:
    path, _ = thousands_with_one_bad_line(tmp_path)
    rows, error = expect_load_error(open_source(path, 100_000), source=str(path), row=4088, column=None)
    assert "line 4089" in str(error) and str(path) in str(error)
    assert [r["s"] for r in rows] == [f"http://a/{i}" for i in range(4088)]


def test_rejected_rows_of_a_jsonl_load_all_have_the_raw_line_column(tmp_path: Path) -> None:
    """A chunk rejecting only rows that were read (a null subject) has the column too, null:
    the report joins the parts of every chunk into one table."""
    lines = [json.dumps(spo(i)) for i in range(300)]
    lines[10] = json.dumps({"s": None, "p": "http://p", "o": "x"})
    lines[250] = "{oops"
    parts, _ = load_skip(open_source(jsonl(tmp_path / "t.jsonl", lines), 100, block_size=4096))
    rejected = pa.Table.from_batches([p.rejected_rows for p in parts if p.rejected_rows is not None])
    assert rejected.column(schemas.RAW_LINE).to_pylist() == [None, "{oops"]
    assert [(r.row, r.column) for r in rejections(parts)] == [(10, "s"), (250, None)]


def test_malformed_lines_in_many_blocks_with_blank_lines_and_a_long_line(tmp_path: Path) -> None:
    """Line numbers count every line (blank ones too) across blocks; a line longer than the
    block is read whole; rows are numbered over the non-blank lines."""
    rnd = random.Random(3)
    lines: list[str] = []
    expected_bad: list[tuple[int, int]] = []  # (row, line)
    row = 0
    for i in range(3000):
        roll = rnd.random()
        if roll < 0.02:
            lines.append("")
            continue
        if roll < 0.05:
            lines.append(rnd.choice(['{"s": "http://x"', "nonsense", '{"s": "http://x", "p": }', "[1]"]))
            expected_bad.append((row, len(lines)))
        elif roll < 0.052:
            lines.append(json.dumps({**spo(i), "o": "long " * 20_000}))
        else:
            lines.append(json.dumps(spo(i)))
        row += 1
    parts, read = load_skip(open_source(jsonl(tmp_path / "m.jsonl", lines), 500, block_size=8192))
    assert read == row
    got = [(r.row, int(r.reason.split("line ")[1].split(maxsplit=1)[0].rstrip(",:"))) for r in rejections(parts)]
    assert got == expected_bad
    kept = [json.loads(line)["s"] for line in lines if line and (len(lines) and line.startswith('{"s": "http://a/'))]
    assert [r["s"] for r in good_rows(parts)] == kept


@pytest.mark.parametrize(
    ("line", "column", "words"),
    [
        ('{"s": "http://a", "p": "http://p", "o": 42}', "o", "a number where the column holds string"),
        ('{"s": "http://a/\\ud800", "p": "http://p", "o": "x"}', "s", "lone surrogate (\\ud800)"),
        ('{"s": "http://a", "p": "http://p", "o": "x", "o": "y"}', "o", "appears twice"),
        ('{"s": "http://a", "p": "http://p", "o": "x", "g": 1e400}', "g", "too large for a double"),
        ('["http://a", "http://p", "x"]', None, "is not a JSON object but an array"),
        (
            '{"s": "http://a", "p": "http://p", "o": "x"} trailing',
            None,
            "malformed JSON at line 2, column 46: Extra data",
        ),
    ],
)
def test_each_unreadable_jsonl_line_is_named(tmp_path: Path, line: str, column: str | None, words: str) -> None:
    path = jsonl(tmp_path / "b.jsonl", [json.dumps(spo(0)), line, json.dumps(spo(2))])
    parts, read = load_skip(open_source(path, 10))
    [rejection] = rejections(parts)
    assert read == 3 and (rejection.row, rejection.column) == (1, column)
    assert "line 2" in rejection.reason and words in rejection.reason
    assert [r["s"] for r in good_rows(parts)] == ["http://a/0", "http://a/2"]


def test_a_jsonl_file_of_nothing_but_bad_lines_rejects_each(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "junk.jsonl", ["garbage", "{", "", "[[[", "null"])
    parts, read = load_skip(open_source(path, 10))
    assert read == 4 and good_rows(parts) == []
    assert [(r.row, r.column) for r in rejections(parts)] == [(0, None), (1, None), (2, None), (3, None)]
    assert [r.reason.split(":")[0] for r in rejections(parts)] == [
        "malformed JSON at line 1, column 1",
        "malformed JSON at line 2, column 2",
        "malformed JSON at line 4, column 4",
        "line 5 is not a JSON object but null",
    ]
    _, error = expect_load_error(open_source(path, 10), row=0, source=str(path))
    assert "malformed JSON at line 1, column 1" in str(error)


def test_a_malformed_line_in_the_second_of_two_files_names_that_file(tmp_path: Path) -> None:
    first = jsonl(tmp_path / "a.jsonl", [json.dumps(spo(i)) for i in range(5)])
    second = jsonl(tmp_path / "b.jsonl", [json.dumps(spo(5)), "{bad", json.dumps(spo(7))])
    src = open_source([first, second], 100)
    parts, read = load_skip(src)
    [rejection] = rejections(parts)
    assert read == 8 and rejection.row == 6
    assert rejection.reason.startswith(f"{second}: malformed JSON at line 2")
    _, error = expect_load_error(open_source([first, second], 100), row=6)
    assert error.source == str(second) and "line 2" in str(error)


def test_a_compressed_jsonl_with_a_bom_and_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(
        gzip.compress(b"\xef\xbb\xbf" + "\n".join([json.dumps(spo(0)), "{bad", json.dumps(spo(2))]).encode())
    )
    parts, read = load_skip(open_source(path, 10))
    assert read == 3 and [r["s"] for r in good_rows(parts)] == ["http://a/0", "http://a/2"]
    assert [r.row for r in rejections(parts)] == [1] and "line 2" in rejections(parts)[0].reason


def test_a_vector_beyond_float32_in_jsonl_is_rejected(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "v.jsonl",
        [
            '{"chunk_id": "a", "vector": [1, 2]}',
            '{"chunk_id": "b", "vector": [1e39, 2]}',
            '{"chunk_id": "c", "vector": [3, 4]}',
        ],
    )
    parts, _ = load_skip(open_source(path, 10, kind="document-embeddings"), "document-embeddings")
    [rejection] = rejections(parts)
    assert (rejection.row, rejection.column) == (1, "vector") and "float32" in rejection.reason
    assert [r["chunk_id"] for r in good_rows(parts)] == ["a", "c"]


# -- CSV: a malformed row rejects that row only ------------------------------------------------


def test_a_malformed_csv_row_rejects_that_row_only(tmp_path: Path) -> None:
    rows = [f"http://a/{i},http://p,v{i}" for i in range(5000)]
    rows[3000] = "http://a/3000,only two"
    rows[10] = 'http://a/10,http://p,"a value\nover two lines"'
    path = tmp_path / "m.csv"
    path.write_text("s,p,o\n" + "\n".join(rows) + "\n")
    parts, read = load_skip(open_source(path, 1000, block_size=16_384))
    [rejection] = rejections(parts)
    # Line 3003: the header, 3,000 rows before it, and one of them spans two lines.
    assert read == 5000 and rejection.row == 3000 and "malformed CSV row at line 3003" in rejection.reason
    assert len(good_rows(parts)) == 4999
    rejected = [p.rejected_rows for p in parts if p.rejected_rows is not None]
    assert rejected[0].column(schemas.RAW_LINE).to_pylist() == ["http://a/3000,only two"]


# -- RDF: a syntax error names the line (and column) ------------------------------------------


@pytest.mark.parametrize("suffix", ["nt", "nq", "nt.gz"])
def test_an_ntriples_syntax_error_names_line_12(tmp_path: Path, suffix: str) -> None:
    lines = [f'<http://a/{i}> <http://p> "v{i}" .' for i in range(30)]
    lines[11] = '<http://a/11> <http://p> "x"@ .'
    text = ("\n".join(lines) + "\n").encode()
    path = tmp_path / f"e.{suffix}"
    path.write_bytes(gzip.compress(text) if suffix.endswith(".gz") else text)
    rows, error = expect_error(open_source(path, 5), source=str(path), row=11)
    assert "RDF syntax error at line 12, column 30: A language code should always start with a letter" in str(error)
    assert [r["s"] for r in rows] == [f"http://a/{i}" for i in range(11)]


def test_a_turtle_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "e.ttl"
    path.write_text(
        '@prefix ex: <http://ex/> .\n\nex:a ex:p ex:b ;\n   ex:q "two\\nlines" .\n'
        "# a comment\nex:c ex:p ex:d .\nex:e ex:p  ,, .\n"
    )
    rows, error = expect_error(open_source(path, 10), source=str(path), row=3)
    assert "RDF syntax error at line 7, column 12: , is not a valid RDF object" in str(error)
    assert len(rows) == 3


def test_an_rdf_file_with_a_byte_order_mark_reads(tmp_path: Path) -> None:
    path = tmp_path / "bom.nt"
    path.write_bytes(b'\xef\xbb\xbf<http://a> <http://p> "x" .\n<http://b> <http://p> "y" .\n')
    assert [b.num_rows for b in open_source(path, 10).open()] == [2]


def test_an_escaped_lone_surrogate_in_ntriples_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "s.nt"
    path.write_text('<http://a> <http://p> "ok" .\n<http://b> <http://p> "bad \\ud800" .\n')
    _, error = expect_error(open_source(path, 10), source=str(path), row=1)
    assert "line 2, column" in str(error) and "D800" in str(error)


# -- lone surrogates from Python data ----------------------------------------------------------


def test_a_lone_surrogate_in_a_dataframe_is_a_rejected_row() -> None:
    df = pd.DataFrame(
        {"s": ["http://a/0", "http://a/1\ud800", "http://a/2"], "p": ["http://p"] * 3, "o": ["x", "y", "z\udc00"]},
        dtype=object,
    )
    parts, read = load_skip(open_source(df, 10))
    assert read == 3 and [r["s"] for r in good_rows(parts)] == ["http://a/0"]
    assert [(r.row, r.column) for r in rejections(parts)] == [(1, "s"), (2, "o")]
    assert "lone surrogate (\\ud800) at character 10" in rejections(parts)[0].reason
    _, error = expect_load_error(open_source(df, 10), row=1, column="s")
    assert isinstance(error, InputError)


def test_a_lone_surrogate_in_records_and_triples_is_a_rejected_row() -> None:
    records = [{"s": f"http://a/{i}", "p": "http://p", "o": "bad \udfff" if i == 3 else "ok"} for i in range(6)]
    parts, _ = load_skip(open_source(records, 4))
    assert [(r.row, r.column) for r in rejections(parts)] == [(3, "o")]
    assert len(good_rows(parts)) == 5
    triples = [
        Triple(Term.iri("http://a"), Term.iri("http://p"), Term.literal("x\ud800" if i == 1 else "x")) for i in range(3)
    ]
    parts, _ = load_skip(open_source(triples, 10))
    assert [(r.row, r.column) for r in rejections(parts)] == [(1, "o")] and len(good_rows(parts)) == 2


def invalid_utf8_strings(values: list[bytes]) -> pa.Array:
    """A string array holding bytes that are not UTF-8, as a careless writer leaves them."""
    offsets = np.concatenate([[0], np.cumsum([len(v) for v in values])]).astype(np.int32)
    return pa.Array.from_buffers(
        pa.string(), len(values), [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(values))]
    )


def test_invalid_utf8_inside_arrow_text_is_a_rejected_row(tmp_path: Path) -> None:
    """A lone surrogate as UTF-8 bytes (ED A0 80), or Latin-1 bytes, in an Arrow string
    column: the gateway could not decode the frame, so the row is rejected, not sent."""
    o = invalid_utf8_strings([b"fine", b"bad \xed\xa0\x80", "é ok".encode(), b"latin-1 caf\xe9"])
    table = pa.table({"s": [f"http://a/{i}" for i in range(4)], "p": ["http://p"] * 4, "o": o})
    parts, _ = load_skip(open_source(table, 10))
    assert [(r.row, r.column) for r in rejections(parts)] == [(1, "o"), (3, "o")]
    assert "lone surrogate" in rejections(parts)[0].reason and "invalid UTF-8" in rejections(parts)[1].reason
    assert [r["o"] for r in good_rows(parts)] == ["fine", "é ok"]
    # A Parquet file can hold such bytes too: pyarrow's writer lets them through.
    path = tmp_path / "u.parquet"
    pq.write_table(
        pa.table(
            {
                "s": ["http://a/0", "http://a/1"],
                "p": ["http://p"] * 2,
                "o": invalid_utf8_strings([b"fine", b"bad \xed\xa0\x80"]),
            }
        ),
        path,
    )
    parts, _ = load_skip(open_source(path, 10))
    assert [(r.row, r.column) for r in rejections(parts)] == [(1, "o")]
    # Read as a dictionary (as a load reads columns of few values), it is screened the same.
    parts, _ = load_skip(open_source(path, 10, dictionary_columns=["o"]))
    assert [(r.row, r.column) for r in rejections(parts)] == [(1, "o")]
    assert [r["o"] for r in good_rows(parts)] == ["fine"]


# -- vectors beyond float32, NaN and infinities --------------------------------------------------


@pytest.mark.parametrize("kind", ["graph-embeddings", "document-embeddings"])
def test_vector_values_json_cannot_carry_are_rejected(kind: str) -> None:
    key = "entity" if kind == "graph-embeddings" else "chunk_id"
    vectors = [
        np.array([0.5, 1.0]),
        np.array([1e39, 1.0]),
        np.array([1.0, -3.5e38]),
        np.array([np.nan, 1.0]),
        np.array([1.0, np.inf]),
        np.array([3.4e38, -1e-45]),
    ]
    df = pd.DataFrame({key: [f"http://e/{i}" for i in range(6)], "vector": vectors})
    parts, _ = load_skip(open_source(df, 10), kind)
    reasons = {r.row: r.reason for r in rejections(parts)}
    assert sorted(reasons) == [1, 2, 3, 4] and all(r.column == "vector" for r in rejections(parts))
    assert "vector item 0 is 1e+39, beyond float32's range" in reasons[1]
    assert "vector item 1 is -3.5e+38" in reasons[2]
    assert "NaN" in reasons[3] and "infinite" in reasons[4]
    kept = good_rows(parts)
    assert [r[key] for r in kept] == ["http://e/0", "http://e/5"]
    assert kept[1]["vector"][0] == pytest.approx(3.4e38, rel=1e-6) and math.isfinite(kept[1]["vector"][0])
    # And what is kept encodes to JSON that reads back as the same float32 values.
    meta = messages.Metadata("d", "c", "d")
    frame = json.loads(b"".join(bytes(f) for f, _, _ in messages.encode_messages(kind, parts[0].batch, meta, 10)))  # type: ignore[arg-type]
    items = frame["entities" if kind == "graph-embeddings" else "chunks"]
    assert [np.float32(x) for x in items[1]["vector"]] == [np.float32(x) for x in kept[1]["vector"]]


def test_a_float_beyond_float32_in_csv_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text('chunk_id,vector\na,"[1, 2]"\nb,"[2, 1e39]"\nc,"[-1e39, 0]"\nd,"[3, 4]"\n')
    parts, _ = load_skip(open_source(path, 10, kind="document-embeddings"), "document-embeddings")
    assert [(r.row, r.column) for r in rejections(parts)] == [(1, "vector"), (2, "vector")]
    assert [r["chunk_id"] for r in good_rows(parts)] == ["a", "d"]


# -- subjects: an IRI with a space is no literal -------------------------------------------------


def test_a_subject_that_looks_like_an_iri_with_a_space_is_rejected() -> None:
    data = {
        "s": ["http://example.org/a b", "http://example.org/ok", "Alice", "_:b1", "<http://x>", "urn:x y"],
        "p": ["http://p"] * 6,
        "o": ["http://example.org/a b"] * 6,
    }
    out = Conformer("triples", on_error="skip").conform(pa.record_batch(data))
    reasons = {r.row: (r.column, r.reason) for r in out.rejections}
    assert sorted(reasons) == [0, 5]
    assert reasons[0][0] == "s" and reasons[0][1].startswith("invalid IRI (contains spaces")
    assert reasons[5][1].startswith("invalid IRI") and "subject must be an IRI or a blank node" in reasons[5][1]
    rows = out.batch.to_pylist()
    # Plain text in s stays a literal subject, as guessed (docs/schemas.md).
    assert [(r["s"], r["s_type"]) for r in rows] == [
        ("http://example.org/ok", "iri"),
        ("Alice", "literal"),
        ("b1", "blank"),
        ("http://x", "iri"),
    ]
    # In the object the same text is a literal: nothing wrong with it there.
    assert {(r["o"], r["o_type"]) for r in rows} == {("http://example.org/a b", "literal")}
    with pytest.raises(InputError) as info:
        Conformer("triples").conform(pa.record_batch(data), 100).raise_error()
    assert (info.value.row, info.value.column) == (100, "s") and "invalid IRI" in str(info.value)


def test_an_explicit_subject_kind_is_taken_as_given() -> None:
    """s_type says what the user means: a subject literal is carried (the wire allows any
    term), and an explicit IRI with a space is an invalid IRI as before."""
    out = Conformer("triples", on_error="skip").conform(
        pa.record_batch(
            {
                "s": ["a label", "http://x y", "http://ok"],
                "s_type": ["literal", "iri", None],
                "p": ["http://p"] * 3,
                "o": ["v"] * 3,
            }
        )
    )
    assert [(r.row, r.column) for r in out.rejections] == [(1, "s")]
    assert [(r["s"], r["s_type"]) for r in out.batch.to_pylist()] == [("a label", "literal"), ("http://ok", "iri")]


def test_a_predicate_with_a_space_is_an_invalid_iri() -> None:
    out = Conformer("triples", on_error="skip").conform(
        pa.record_batch({"s": ["http://a"] * 2, "p": ["http://p q", "http://p"], "o": ["v"] * 2})
    )
    assert [(r.row, r.column) for r in out.rejections] == [(0, "p")]
    assert out.rejections[0].reason.startswith("invalid IRI")


# -- duplicate columns and columns= collisions --------------------------------------------------


def test_duplicate_column_names_are_an_input_error_naming_the_column() -> None:
    table = pa.Table.from_arrays(
        [pa.array(["http://a"]), pa.array(["http://p"]), pa.array(["x"]), pa.array(["http://b"])],
        names=["s", "p", "o", "s"],
    )
    with pytest.raises(InputError, match="duplicate column name") as info:
        Conformer("triples", source="t").conform(table.to_batches()[0])
    assert info.value.column == "s" and info.value.source == "t"
    frame = pd.DataFrame([["http://a", "http://p", "x", "y"]], columns=["s", "p", "o", "o"])
    with pytest.raises(InputError, match="duplicate column names") as info:
        open_source(frame, 10)
    assert info.value.column == "o"


def test_a_parquet_file_with_duplicate_columns_is_named(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(
        pa.Table.from_arrays(
            [pa.array(["http://a"]), pa.array(["http://p"]), pa.array(["x"]), pa.array(["y"])],
            names=["s", "p", "o", "o"],
        ),
        path,
    )
    src = open_source(path, 10)
    with pytest.raises(InputError, match="duplicate column name") as info:
        Conformer("triples", source=src.name).conform(next(iter(src.open())))
    assert info.value.column == "o" and info.value.source == str(path)


def test_a_columns_mapping_onto_an_existing_name_names_both_columns() -> None:
    batch = pa.record_batch({"subject": ["http://a"], "s": ["http://b"], "p": ["http://p"], "o": ["x"]})
    with pytest.raises(InputError) as info:
        Conformer("triples", columns={"subject": "s"}).conform(batch)
    assert info.value.column == "s" and "'subject'" in str(info.value) and "'s'" in str(info.value)
    two = pa.record_batch({"a": ["http://a"], "b": ["http://b"], "p": ["http://p"], "o": ["x"]})
    with pytest.raises(InputError) as info:
        Conformer("triples", columns={"a": "s", "b": "s"}).conform(two)
    assert info.value.column == "s" and "'a'" in str(info.value) and "'b'" in str(info.value)
    # Renaming in a circle is fine: no two columns end with one name.
    swapped = Conformer("triples", columns={"s": "o", "o": "s"}).conform(
        pa.record_batch({"s": ["a literal"], "p": ["http://p"], "o": ["http://subject"]})
    )
    assert swapped.batch.to_pylist()[0]["s"] == "http://subject"


# -- a row too large for one gateway message -----------------------------------------------------


def big_rows(o_big: str) -> pa.RecordBatch:
    return pa.record_batch(
        {"s": ["http://a/0", "http://a/1", "http://a/2"], "p": ["http://p"] * 3, "o": ["small", o_big, "small too"]}
    )


def test_a_row_too_large_for_one_message_is_rejected_and_its_neighbours_kept() -> None:
    meta = messages.Metadata("doc", "coll", "doc")
    limit = messages.FrameLimit.of("triples", meta)
    batch = big_rows("€" * (17 * 1024 * 1024 + 100))  # 3 bytes a character: over 51 MB of UTF-8
    out = Conformer("triples", on_error="skip").conform(batch, 10, frame_limit=limit)
    [rejection] = out.rejections
    assert (rejection.row, rejection.column) == (11, "o")
    # The whole message that row would be: the head, the row's JSON, the closing "]}".
    row = {
        "s": {"t": "i", "i": "http://a/1"},
        "p": {"t": "i", "i": "http://p"},
        "o": {"t": "l", "v": batch["o"][1].as_py()},
    }
    size = limit.overhead + len(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode())
    assert rejection.reason == f"too large for one gateway message ({size:,} bytes > 50 MiB)"
    assert out.batch.column("s").to_pylist() == ["http://a/0", "http://a/2"]
    raised = Conformer("triples").conform(batch, 10, frame_limit=limit)
    assert raised.error is not None and (raised.error.row, raised.error.column) == (11, "o")
    assert raised.batch.num_rows == 1
    # Without a frame limit (writing a file, say) the row is fine.
    assert Conformer("triples").conform(batch).error is None


def test_the_frame_limit_is_exact() -> None:
    """A message of max_bytes - 1 bytes is sent (in a message of its own), one of max_bytes is
    not: aiohttp refuses a frame of its max_msg_size or more."""
    meta = messages.Metadata("doc", "coll", "doc")
    limit = messages.FrameLimit.of("triples", meta)
    empty_row = len(b'{"s":{"t":"i","i":"http://a/1"},"p":{"t":"i","i":"http://p"},"o":{"t":"l","v":""}}')
    room = messages.GATEWAY_MAX_FRAME - 1 - limit.overhead - empty_row
    fits = Conformer("triples", on_error="skip").conform(big_rows("y" * room), frame_limit=limit)
    assert fits.rejections == []
    frames = [
        bytes(f) for f, _, _ in messages.encode_messages("triples", fits.batch, meta, 1000, fits.hints, 8 * 1024 * 1024)
    ]
    assert sorted(len(f) for f in frames)[-1] == messages.GATEWAY_MAX_FRAME - 1
    over = Conformer("triples", on_error="skip").conform(big_rows("y" * (room + 1)), frame_limit=limit)
    assert [r.reason for r in over.rejections] == [
        "too large for one gateway message (52,428,800 bytes = 50 MiB; the gateway takes less than that)"
    ]


def test_text_that_needs_escaping_is_measured_escaped() -> None:
    """Each control character becomes six bytes of JSON (\\u0001): 9 MB of them is too large."""
    meta = messages.Metadata("doc", "coll", "doc")
    out = Conformer("entity-contexts", on_error="skip").conform(
        pa.record_batch({"entity": ["http://e/0", "http://e/1"], "context": ["ok", "\x01" * (9 * 1024 * 1024)]}),
        frame_limit=messages.FrameLimit.of("entity-contexts", meta),
    )
    assert [(r.row, r.column) for r in out.rejections] == [(1, "context")]
    assert "(56,623,213 bytes > 50 MiB)" in out.rejections[0].reason  # 6 x 9 MiB and 109 more


def test_a_rows_kind_row_counts_its_schema_name() -> None:
    meta = messages.Metadata("doc", "coll")
    limit = messages.FrameLimit.of("rows", meta)
    name = "n" * 1000
    room = messages.GATEWAY_MAX_FRAME - 1 - limit.overhead - len(json.dumps(name)) - len('{"f":""}')
    out = Conformer("rows", on_error="skip").conform(
        pa.record_batch({"schema_name": [name, name], "f": ["y" * room, "y" * (room + 1)]}), frame_limit=limit
    )
    assert [(r.row, r.column) for r in out.rejections] == [(1, "f")]
    [frame] = [bytes(f) for f, _, _ in messages.encode_messages("rows", out.batch, meta, 10)]
    assert len(frame) == messages.GATEWAY_MAX_FRAME - 1


# -- a sweep: garbage into every reader ---------------------------------------------------------

_JUNK = bytes(random.Random(7).randrange(256) for _ in range(5000))
_ASCII_JUNK = bytes(random.Random(8).randrange(32, 127) for _ in range(5000)).replace(b"~", b"\n")
_GOOD_CSV = "s,p,o\n" + "".join(f"http://a/{i},http://p,v{i}\n" for i in range(50))
_GOOD_NT = "".join(f'<http://a/{i}> <http://p> "v{i}" .\n' for i in range(50))
_GOOD_JSONL = "".join(json.dumps(spo(i)) + "\n" for i in range(50))


def _parquet_cut_in_half(path: Path) -> None:
    pq.write_table(
        pa.table({"s": [f"http://a/{i}" for i in range(3000)], "p": ["http://p"] * 3000, "o": ["v"] * 3000}),
        path,
        row_group_size=500,
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


GARBAGE: dict[str, Any] = {
    "junk.jsonl": _JUNK,
    "ascii.jsonl": _ASCII_JUNK,
    "stray.jsonl": (_GOOD_JSONL + '{"s": "http://x", "p": "http://p", "o": "x""}\n' + _GOOD_JSONL).encode(),
    "deep.jsonl": b"[" * 100_000 + b"\n",
    "junk.jsonl.gz": gzip.compress(_JUNK),
    "junk.csv": _JUNK,
    "ascii.csv": _ASCII_JUNK,
    "unclosed.csv": (_GOOD_CSV + 'http://x,"http://p,oops\nhttp://y,http://p,z\n').encode(),
    "fields.csv": (_GOOD_CSV + "a,b,c,d\n" + _GOOD_CSV[6:]).encode(),
    "junk.nt": _JUNK,
    "ascii.nt": _ASCII_JUNK,
    "stray.nt": (_GOOD_NT + '<http://a> <http://p> "x"" .\n' + _GOOD_NT).encode(),
    "junk.nq": _JUNK,
    "junk.ttl": _JUNK,
    "junk.trig": _JUNK,
    "cut.nt.gz": gzip.compress(_GOOD_NT.encode())[:-30],
    "junk.parquet": b"PAR1" + _JUNK + b"PAR1",
    "notparquet.parquet": _JUNK,
    "cut.parquet": _parquet_cut_in_half,
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_in_any_reader_is_an_input_error_or_named_rejections(tmp_path: Path, name: str) -> None:
    """Every failure is an InputError naming the file (and a line, row or column where there
    is one), never another exception; what is rejected instead names its line or column."""
    path = tmp_path / name
    content = GARBAGE[name]
    if callable(content):
        content(path)
    else:
        path.write_bytes(content)
    try:
        parts, read = load_skip(open_source(path, 1000))
    except InputError as error:
        assert error.source == str(path), error
        located = error.row is not None or error.column is not None or "line" in str(error)
        assert located or "Parquet" in str(error) or "header" in str(error) or "zlib" in str(error), error
        return
    assert rejections(parts), "garbage read without complaint"
    for rejection in rejections(parts):
        assert rejection.column is not None or "line" in rejection.reason, rejection
    if name.startswith(("stray", "fields", "unclosed")):  # one bad record among good ones
        assert len(good_rows(parts)) >= 50 and len(rejections(parts)) == 1
