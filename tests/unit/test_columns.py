"""Tables as they come: column names mapped or suggested, extra columns named or left out,
and term kinds in the spellings other tools write (tg_connect/protocol/columns.py and the
conformer that applies them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tg_connect import cli, wording
from tg_connect.errors import InputError
from tg_connect.protocol import schemas
from tg_connect.protocol.columns import (
    ACCEPTED_KINDS,
    closest_column,
    extra_columns_error,
    missing_columns_error,
    parse_column_pairs,
    read_column_file,
    suggested_mapping,
    term_kind,
)
from tg_connect.protocol.conform import Conformer

TRIPLES = ["s", "p", "o", "s_type", "p_type", "o_type", "o_datatype", "o_language", "g"]  # as the conformer lists them


@pytest.fixture(autouse=True)
def python_spelling() -> Iterator[None]:
    """Every test starts and ends with Python spelling (the CLI switches the process over)."""
    wording.use_python_spelling()
    yield
    wording.use_python_spelling()


def triples(**extra: list[object]) -> pa.RecordBatch:
    base: dict[str, list[object]] = {
        "s": ["http://example.org/a", "http://example.org/b", "http://example.org/c"],
        "p": ["http://example.org/p"] * 3,
        "o": ["one", "http://example.org/x", "three"],
    }
    return pa.RecordBatch.from_pydict({**base, **extra})


# -- kind spellings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, kind",
    [
        ("iri", "iri"),
        ("IRI", "iri"),
        ("uri", "iri"),
        ("URIRef", "iri"),
        ("u", "iri"),
        ("i", "iri"),
        ("url", "iri"),
        ("NamedNode", "iri"),
        ("named_node", "iri"),
        (" Uri ", "iri"),
        ("literal", "literal"),
        ("Lit", "literal"),
        ("l", "literal"),
        ("typed-literal", "literal"),
        ("blank", "blank"),
        ("bnode", "blank"),
        ("BNode", "blank"),
        ("b", "blank"),
        ("blank node", "blank"),
        ("triple", "triple"),
        ("t", "triple"),
        ("quoted_triple", "triple"),
    ],
)
def test_term_kind_reads_common_spellings(text: str, kind: str) -> None:
    assert term_kind(text) == kind


@pytest.mark.parametrize("text", ["resource", "x", "string", "iris", "", "literally"])
def test_term_kind_refuses_other_text(text: str) -> None:
    assert term_kind(text) is None


def test_kind_column_spellings_become_canonical_kinds() -> None:
    batch = triples(o_type=["Lit", "URIRef", "l"], s_type=["u", "NamedNode", "IRI"])
    out = Conformer("triples").conform(batch)
    assert out.error is None and not out.rejections
    assert out.batch.column("o_type").to_pylist() == ["literal", "iri", "literal"]
    assert out.batch.column("s_type").to_pylist() == ["iri", "iri", "iri"]


def test_a_bad_kind_names_value_column_row_and_the_accepted_spellings() -> None:
    batch = triples(o_kind=["lit", "uri", "thing"])
    out = Conformer("triples", columns={"o_kind": "o_type"}).conform(batch, offset=10)
    assert out.error is not None
    assert out.error.row == 12 and out.error.column == "o_type"
    text = str(out.error)
    assert "unknown term kind 'thing' in 'o_type' (input column 'o_kind')" in text
    assert ACCEPTED_KINDS in text
    for spelling in ("iri", "uri", "i", "literal", "lit", "l", "blank", "bnode", "b", "triple"):
        assert spelling in ACCEPTED_KINDS.replace("(", " ").replace(",", " ").replace(")", " ").split()
    assert out.batch.num_rows == 2  # the good rows before it are handed on


def test_bad_kinds_are_rejected_with_on_error_skip_and_the_rest_kept() -> None:
    batch = triples(o_type=["bogus", "iri", "literal"])
    out = Conformer("triples", on_error="skip").conform(batch)
    assert [(r.row, r.column) for r in out.rejections] == [(0, "o_type")]
    assert "unknown term kind 'bogus' in 'o_type';" in out.rejections[0].reason
    assert out.batch.column("o").to_pylist() == ["http://example.org/x", "three"]
    assert out.rejected_rows is not None and out.rejected_rows.column("o_type").to_pylist() == ["bogus"]


# -- column names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, target",
    [
        ("subject", "s"),
        ("Subject", "s"),
        ("predicate", "p"),
        ("object", "o"),
        ("S", "s"),
        ("o_kind", "o_type"),
        ("object_kind", "o_type"),
        ("subject_type", "s_type"),
        ("o_lang", "o_language"),
        ("object_datatype", "o_datatype"),
        ("o_langauge", "o_language"),
        ("graph", "g"),
    ],
)
def test_closest_column_finds_what_a_name_probably_is(name: str, target: str) -> None:
    assert closest_column(name, TRIPLES) == target


@pytest.mark.parametrize("name", ["confidence", "source_file", "note", "weight"])
def test_closest_column_suggests_nothing_for_unrelated_names(name: str) -> None:
    assert closest_column(name, TRIPLES) is None


def test_embedding_kinds_names() -> None:
    assert closest_column("embedding", ["entity", "entity_type", "vector"]) == "vector"
    assert closest_column("entity_kind", ["entity", "entity_type", "vector"]) == "entity_type"
    assert closest_column("chunk", ["chunk_id", "vector"]) == "chunk_id"


def test_each_target_is_suggested_once() -> None:
    pairs = suggested_mapping([("o_kind", "o_kind"), ("object_type", "object_type")], ["o_type"]).pairs
    assert pairs == (("o_kind", "o_type"),)


def test_extra_columns_message_in_python_terms() -> None:
    message = extra_columns_error("triples", ["o_kind", "note"], ["s", "p", "o", "o_kind", "note"], TRIPLES, {})
    assert message == (
        "2 columns that triples does not use: 'o_kind', 'note' (triples takes s, p, o, s_type, p_type, o_type,"
        " o_datatype, o_language, g). 'o_kind' looks like 'o_type': map with columns={\"o_kind\": \"o_type\"},"
        " and leave 'note' out with extra_columns=\"ignore\""
    )


def test_extra_columns_message_in_cli_terms() -> None:
    wording.use_cli_spelling({"max_rows_per_second": "--rate"})
    message = extra_columns_error("triples", ["o_kind", "note"], ["s", "p", "o", "o_kind", "note"], TRIPLES, {})
    assert message.endswith(
        "'o_kind' looks like 'o_type': map with --columns o_kind=o_type,"
        " and leave 'note' out with --extra-columns ignore"
    )


def test_extra_columns_message_without_a_likely_column() -> None:
    message = extra_columns_error("triples", ["confidence"], ["s", "p", "o", "confidence"], TRIPLES, {})
    assert message.endswith(
        'Map it onto its columns with columns={"confidence": "COLUMN"}, or leave it out with extra_columns="ignore"'
    )


def test_a_suggestion_keeps_the_mapping_given_and_names_input_columns() -> None:
    # columns={"subject": "s", "kind": "o_typ"}: 'o_typ' is no column; the input calls it 'kind'
    mapped = {"subject": "s", "kind": "o_typ"}
    message = extra_columns_error("triples", ["o_typ"], ["s", "p", "o", "o_typ"], TRIPLES, mapped)
    assert "column that triples does not use: 'kind'" in message
    assert 'columns={"subject": "s", "kind": "o_type"}' in message


def test_missing_columns_message_suggests_the_mapping() -> None:
    message = missing_columns_error("triples", ["s", "p", "o"], ["subject", "predicate", "object"], TRIPLES, {})
    assert message == (
        "missing required columns 's', 'p', 'o' for triples; the table has subject, predicate, object: map them"
        ' with columns={"subject": "s", "predicate": "p", "object": "o"}'
    )


# -- the conformer: extra columns ----------------------------------------------------------


def test_extra_columns_fail_on_the_schema_alone_naming_each() -> None:
    schema = triples(o_kind=["l"] * 3, note=["x"] * 3).schema
    with pytest.raises(InputError) as caught:
        Conformer("triples", source="t.parquet").check_columns(schema)
    text = str(caught.value)
    assert "'o_kind', 'note'" in text and 'columns={"o_kind": "o_type"}' in text
    assert 'extra_columns="ignore"' in text and text.endswith("(source t.parquet)")


def test_one_extra_column_is_the_errors_column() -> None:
    with pytest.raises(InputError) as caught:
        Conformer("triples").conform(triples(confidence=[0.1, 0.2, 0.3]))
    assert caught.value.column == "confidence"


def test_ignore_leaves_extra_columns_out_and_rejected_rows_keep_them() -> None:
    batch = triples(o_kind=["bad kind", "i", "l"], note=["n0", "n1", "n2"], score=[1, 2, 3])
    conformer = Conformer("triples", columns={"o_kind": "o_type"}, extra_columns="ignore", on_error="skip")
    out = conformer.conform(batch)
    assert out.batch.schema.equals(schemas.TRIPLES)
    assert out.batch.column("o_type").to_pylist() == ["iri", "literal"]
    assert out.rejected_rows is not None
    assert out.rejected_rows.schema.names == ["s", "p", "o", "o_kind", "note", "score"]
    assert out.rejected_rows.column("note").to_pylist() == ["n0"]


def test_an_extra_column_of_any_type_is_left_out_with_ignore() -> None:
    batch = triples(weights=[[1.0], [2.0], [3.0]], when=pa.array([1, 2, 3], pa.timestamp("s")).to_pylist())
    out = Conformer("triples", extra_columns="ignore").conform(batch)
    assert out.error is None and out.batch.num_rows == 3


def test_reserved_columns_are_never_extra() -> None:
    error = pa.array(
        [None, {"source": None, "column": "o", "reason": "line 2: unreadable", "text": "x"}, None],
        schemas.INPUT_ERROR_TYPE,
    )
    batch = triples().append_column(schemas.INPUT_ERROR, error)
    out = Conformer("triples", on_error="skip").conform(batch)  # extra_columns="error": no extra here
    assert [r.row for r in out.rejections] == [1] and out.batch.num_rows == 2


@pytest.mark.parametrize(
    "kind, data",
    [
        ("graph-embeddings", {"entity": ["http://e/1"], "vector": [[1.0, 2.0]]}),
        ("document-embeddings", {"chunk_id": ["c1"], "vector": [[1.0, 2.0]]}),
        ("entity-contexts", {"entity": ["http://e/1"], "context": ["text"]}),
    ],
)
def test_every_kind_names_and_ignores_extra_columns(kind: str, data: dict[str, list[object]]) -> None:
    batch = pa.RecordBatch.from_pydict({**data, "source_file": ["a.txt"]})
    with pytest.raises(InputError, match=f"a column that {kind} does not use: 'source_file'"):
        Conformer(kind).conform(batch)
    out = Conformer(kind, extra_columns="ignore").conform(batch)
    assert out.error is None and "source_file" not in out.batch.schema.names and out.batch.num_rows == 1


def test_rows_have_no_extra_columns() -> None:
    batch = pa.RecordBatch.from_pydict({"schema_name": ["people"], "name": ["Ada"], "anything": ["x"]})
    out = Conformer("rows").conform(batch)
    assert out.batch.schema.names == ["schema_name", "name", "anything"]


def test_extra_columns_must_be_error_or_ignore() -> None:
    with pytest.raises(ValueError, match="extra_columns must be 'error' or 'ignore'"):
        Conformer("triples", extra_columns="drop")  # type: ignore[arg-type]


def test_a_mapping_onto_a_column_the_reader_added_replaces_it() -> None:
    """JSON Lines gives every column of the kind a type (placeholders for keys not seen);
    mapping o_kind onto o_type replaces the placeholder o_type."""
    batch = triples(o_type=[None, None, None], o_kind=["l", "i", "l"])
    batch = batch.replace_schema_metadata({schemas.ADDED_COLUMNS_METADATA: b"o_type,g"})
    out = Conformer("triples", columns={"o_kind": "o_type"}).conform(batch)
    assert out.error is None and out.batch.column("o_type").to_pylist() == ["literal", "iri", "literal"]
    late = triples(o_type=[None, "iri", None], o_kind=["l", "i", "l"])
    late = late.replace_schema_metadata({schemas.ADDED_COLUMNS_METADATA: b"o_type"})
    with pytest.raises(InputError, match="the input has both 'o_kind'"):
        Conformer("triples", columns={"o_kind": "o_type"}).conform(late)


def test_a_vector_column_of_text_is_parsed_and_bad_values_named() -> None:
    batch = pa.RecordBatch.from_pydict({"id": ["a", "b", "c"], "embedding": ["[1, 2]", "[1, x]", " [3,4e0] "]})
    out = Conformer("document-embeddings", columns={"id": "chunk_id", "embedding": "vector"}, on_error="skip").conform(
        batch
    )
    assert [(r.row, r.column, r.reason) for r in out.rejections] == [
        (1, "vector", "not a JSON array of numbers: '[1, x]'")
    ]
    assert np.asarray(out.batch.column("vector").to_pylist()).tolist() == [[1.0, 2.0], [3.0, 4.0]]


# -- the command line's column options -------------------------------------------------------


def test_parse_column_pairs() -> None:
    assert parse_column_pairs("subject=s, predicate = p,object=o") == {"subject": "s", "predicate": "p", "object": "o"}
    for bad, named in [("subject", "'subject'"), ("=s", "'=s'"), ("a=b=c", "'a=b=c'"), ("a=s,,b=p", "''")]:
        with pytest.raises(ValueError, match=f"bad column pair {named}"):
            parse_column_pairs(bad)
    with pytest.raises(ValueError, match="'a' is mapped twice"):
        parse_column_pairs("a=s,a=p")


def test_read_column_file_json_and_lines(tmp_path: Path) -> None:
    as_json = tmp_path / "map.json"
    as_json.write_text(json.dumps({"subject": "s", "o_kind": "o_type"}))
    assert read_column_file(str(as_json)) == {"subject": "s", "o_kind": "o_type"}
    lines = tmp_path / "map.txt"
    lines.write_text("# input=kind\nsubject=s\n\npredicate=p, object=o\n")
    assert read_column_file(str(lines)) == {"subject": "s", "predicate": "p", "object": "o"}
    broken = tmp_path / "broken.txt"
    broken.write_text("subject=s\npredicate\n")
    with pytest.raises(InputError, match=r"line 2: bad column pair 'predicate'.*\(source .*broken.txt\)"):
        read_column_file(str(broken))
    not_names = tmp_path / "list.json"
    not_names.write_text('{"subject": 1}')
    with pytest.raises(InputError, match="expected a JSON object of input column names"):
        read_column_file(str(not_names))


def test_a_malformed_columns_flag_is_one_argparse_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["load", "triples", "x.parquet", "--columns", "subject=s,predicate"]) == cli.EX_USAGE
    assert capsys.readouterr().err.strip().splitlines() == [
        "tg-connect load: error: argument --columns: bad column pair 'predicate':"
        " expected SOURCE=TARGET, e.g. subject=s (see tg-connect load --help)"
    ]


def test_columns_flags_combine_file_then_flags(tmp_path: Path) -> None:
    mapping = tmp_path / "map.txt"
    mapping.write_text("subject=s\nkind=o_type\n")
    args = cli.build_parser().parse_args(
        ["load", "triples", "x.parquet", "--columns-from", str(mapping), "--columns", "kind=s_type", "--columns", "o=o"]
    )
    assert cli._columns(args) == {"subject": "s", "kind": "s_type", "o": "o"}
    assert args.extra_columns == "error"
