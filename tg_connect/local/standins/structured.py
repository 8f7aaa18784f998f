"""Structured data services over imported rows: rows (GraphQL), nlp-query, structured-query,
structured-diag and row-embeddings.

Row schemas are config type ``schema`` (``{"name", "description", "fields": [{"name",
"type", "primary_key", "required", "indexed", ...}], "query-indexes"?}``, as the real rows
service reads them). A schema that rows were imported under but that is not configured is
inferred from the rows: every field a string, every field indexed.

* ``rows`` runs GraphQL (``graphql-core``) over a schema built as the real service builds it
  with strawberry: one query field per schema, ``{ person(where: {name: {eq: "Ada"}},
  order_by: "name", direction: DESC, limit: 10) { name age } }``, filters ``eq``, ``gt``,
  ``gte``, ``lt``, ``lte``, ``in``, ``not``, ``not_in``, ``contains``, ``startsWith``,
  ``endsWith`` with the real comparison rules; ``limit`` defaults to 100. Names that are not
  GraphQL names have their other characters replaced by ``_``.
* ``nlp-query`` (the real one asks an LLM) picks the schemas whose name appears among the
  question's words (singular or plural) and asks for all their fields, ``limit:
  max_results``; with no schema named it fails as the real one does when it finds none.
* ``structured-query`` is nlp-query then rows, as in 2.11.
* ``structured-diag``: ``detect-type`` is the real algorithm; ``generate-descriptor``,
  ``diagnose`` and ``schema-selection`` (an LLM in 2.11) match sample column names to schema
  field names. Errors are dropped by the 2.11 translator: ``{"operation", "confidence": 0.0}``.
* ``row-embeddings`` embeds each indexed field value of the imported rows with the built-in
  embedder and ranks them by cosine similarity.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .flowctx import Ctx, Stream
from .model import EMBEDDING_DIM, cosine, embed, words
from .registration import handles

INFER_ROWS = 1000


@dataclass
class RowField:
    name: str
    type: str = "string"
    primary: bool = False
    required: bool = False
    indexed: bool = False


@dataclass
class RowSchema:
    name: str
    description: str = ""
    fields: list[RowField] = field(default_factory=list)


def _rows(ctx: Ctx, collection: str | None, schema_name: str) -> Iterator[dict[str, Any]]:
    ws = ctx.backend.workspace(ctx.workspace)
    for (kind, coll, name), log in list(ws.logs.items()):
        if kind != "rows" or name != schema_name or (collection is not None and coll != collection):
            continue
        for batch in log.batches():
            for text in batch.column("values").to_pylist():
                try:
                    value = json.loads(text) if text is not None else None
                except ValueError:
                    continue
                if isinstance(value, dict):
                    yield value


def row_schemas(ctx: Ctx, collection: str | None = None) -> dict[str, RowSchema]:
    """Configured schemas, plus schemas inferred for rows imported under other names."""
    schemas: dict[str, RowSchema] = {}
    for key, value in ctx.config("schema").items():
        try:
            data = json.loads(value)
            indexes = set(data.get("query-indexes", []))
            fields = [
                RowField(
                    str(f["name"]),
                    str(f.get("type", "string")),
                    bool(f.get("primary_key", False)),
                    bool(f.get("required", False)),
                    bool(f.get("indexed", False)) or f["name"] in indexes,
                )
                for f in data.get("fields", [])
            ]
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # the real service logs a schema it cannot parse and skips it
        schemas[key] = RowSchema(str(data.get("name", key)), str(data.get("description", "")), fields)
    ws = ctx.backend.workspace(ctx.workspace)
    for kind, coll, name in list(ws.logs):
        if kind != "rows" or name in schemas or (collection is not None and coll != collection):
            continue
        names: dict[str, None] = {}
        for count, row in enumerate(_rows(ctx, collection, name)):
            for key in row:
                names.setdefault(str(key), None)
            if count >= INFER_ROWS:
                break
        schemas[name] = RowSchema(
            name, "inferred from imported rows", [RowField(n, "string", indexed=True) for n in names]
        )
    return schemas


def gql_name(name: str) -> str:
    out = re.sub(r"[^_a-zA-Z0-9]", "_", name)
    return out if re.match(r"[_a-zA-Z]", out) else "_" + out


# -- filtering (the real rows service's rules) ----------------------------------------------

_OPS = ("gt", "gte", "lt", "lte", "contains", "in", "not", "startsWith", "endsWith", "not_in")


# operator -> whether a row value fails it (a TypeError/ValueError fails too); an operator
# not listed here filters nothing. Written as the failing test, so a NaN compares as before.
_FAILS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda value, expected: str(value) != str(expected),
    "gt": lambda value, expected: float(value) <= float(expected),
    "gte": lambda value, expected: float(value) < float(expected),
    "lt": lambda value, expected: float(value) >= float(expected),
    "lte": lambda value, expected: float(value) > float(expected),
    "contains": lambda value, expected: str(expected) not in str(value),
    "in": lambda value, expected: str(value) not in [str(v) for v in expected],
    "not": lambda value, expected: str(value) == str(expected),
    "startsWith": lambda value, expected: not str(value).startswith(str(expected)),
    "endsWith": lambda value, expected: not str(value).endswith(str(expected)),
    "not_in": lambda value, expected: str(value) in [str(v) for v in expected],
}


def _matches(row: dict[str, Any], where: dict[str, Any]) -> bool:
    """Whether ``row`` passes every ``{field: {operator: expected}}`` filter (``None``: no filter)."""
    for name, ops in (where or {}).items():
        for op, expected in (ops or {}).items():
            if expected is None:
                continue
            value = row.get(name)
            if value is None or _fails(op, value, expected):
                return False
    return True


def _fails(op: Any, value: Any, expected: Any) -> bool:
    fails = _FAILS.get(op)
    try:
        return fails is not None and fails(value, expected)
    except (TypeError, ValueError):
        return True


def _sort_key(value: Any) -> tuple[int, float, str]:
    if value is None:
        return (2, 0.0, "")
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


# -- rows (GraphQL) --------------------------------------------------------------------------


def _graphql_schema(ctx: Ctx, collection: str, schemas: dict[str, RowSchema]) -> Any:
    import graphql as g

    int_filter = g.GraphQLInputObjectType(
        "IntFilter",
        {
            "eq": g.GraphQLInputField(g.GraphQLInt),
            "gt": g.GraphQLInputField(g.GraphQLInt),
            "gte": g.GraphQLInputField(g.GraphQLInt),
            "lt": g.GraphQLInputField(g.GraphQLInt),
            "lte": g.GraphQLInputField(g.GraphQLInt),
            "in": g.GraphQLInputField(g.GraphQLList(g.GraphQLInt)),
            "not": g.GraphQLInputField(g.GraphQLInt),
            "not_in": g.GraphQLInputField(g.GraphQLList(g.GraphQLInt)),
        },
    )
    float_filter = g.GraphQLInputObjectType(
        "FloatFilter",
        {
            "eq": g.GraphQLInputField(g.GraphQLFloat),
            "gt": g.GraphQLInputField(g.GraphQLFloat),
            "gte": g.GraphQLInputField(g.GraphQLFloat),
            "lt": g.GraphQLInputField(g.GraphQLFloat),
            "lte": g.GraphQLInputField(g.GraphQLFloat),
            "in": g.GraphQLInputField(g.GraphQLList(g.GraphQLFloat)),
            "not": g.GraphQLInputField(g.GraphQLFloat),
            "not_in": g.GraphQLInputField(g.GraphQLList(g.GraphQLFloat)),
        },
    )
    string_filter = g.GraphQLInputObjectType(
        "StringFilter",
        {
            "eq": g.GraphQLInputField(g.GraphQLString),
            "contains": g.GraphQLInputField(g.GraphQLString),
            "startsWith": g.GraphQLInputField(g.GraphQLString),
            "endsWith": g.GraphQLInputField(g.GraphQLString),
            "in": g.GraphQLInputField(g.GraphQLList(g.GraphQLString)),
            "not": g.GraphQLInputField(g.GraphQLString),
            "not_in": g.GraphQLInputField(g.GraphQLList(g.GraphQLString)),
        },
    )
    direction = g.GraphQLEnumType(
        "SortDirection", {"ASC": g.GraphQLEnumValue("asc"), "DESC": g.GraphQLEnumValue("desc")}
    )
    scalars = {"integer": g.GraphQLInt, "float": g.GraphQLFloat, "boolean": g.GraphQLBoolean}
    filters = {"integer": int_filter, "float": float_filter, "string": string_filter}
    query_fields: dict[str, Any] = {}
    for schema_name, schema in schemas.items():
        type_fields = {}
        filter_fields = {}
        for f in schema.fields:
            scalar = scalars.get(f.type, g.GraphQLString)
            type_fields[gql_name(f.name)] = g.GraphQLField(
                g.GraphQLNonNull(scalar) if (f.required or f.primary) else scalar,
                resolve=(lambda name: lambda row, _info: row.get(name))(f.name),
            )
            if f.type in filters:
                filter_fields[gql_name(f.name)] = g.GraphQLInputField(filters[f.type], out_name=f.name)
        base = gql_name(schema_name).capitalize()
        if not type_fields:
            continue
        object_type = g.GraphQLObjectType(f"{base}Type", type_fields)
        args: dict[str, Any] = {
            "order_by": g.GraphQLArgument(g.GraphQLString),
            "direction": g.GraphQLArgument(direction),
            "limit": g.GraphQLArgument(g.GraphQLInt, default_value=100),
        }
        if filter_fields:
            args = {"where": g.GraphQLArgument(g.GraphQLInputObjectType(f"{base}Filter", filter_fields)), **args}

        def resolver(schema_name: str) -> Any:
            def resolve(
                _root: Any, _info: Any, where: Any = None, order_by: Any = None, direction: Any = None, limit: Any = 100
            ) -> list[dict[str, Any]]:
                rows = [r for r in _rows(ctx, collection, schema_name) if _matches(r, where or {})]
                if order_by:
                    rows.sort(key=lambda r: _sort_key(r.get(order_by)), reverse=direction == "desc")
                return rows[: limit if isinstance(limit, int) and limit >= 0 else 100]

            return resolve

        query_fields[gql_name(schema_name)] = g.GraphQLField(
            g.GraphQLList(object_type), args=args, resolve=resolver(schema_name)
        )
    if not query_fields:
        return None
    return g.GraphQLSchema(g.GraphQLObjectType("Query", query_fields))


async def run_graphql(ctx: Ctx, collection: str, query: str, variables: Any, operation_name: Any) -> dict[str, Any]:
    """``{"data", "errors", "extensions"}`` as the rows service builds them; raises when no
    schema is available (the service's ``rows-query-error``)."""
    try:
        import graphql as g
    except ImportError as exc:  # pragma: no cover - graphql-core is a dependency
        raise RuntimeError("graphql-core is not installed; the local rows service needs it") from exc
    await ctx.backend.settle()
    schema = _graphql_schema(ctx, collection, row_schemas(ctx, collection))
    if schema is None:
        raise RuntimeError(f"No GraphQL schema available for workspace {ctx.workspace} - no schemas loaded")
    result = await g.graphql(
        schema, query, variable_values=dict(variables or {}), operation_name=operation_name or None
    )
    errors = [
        {"message": str(e), "path": list(e.path or []), "extensions": dict(e.extensions or {})}
        for e in result.errors or []
    ]
    return {"data": result.data, "errors": errors}


def _rows_reply(result: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = {"data": result["data"] if result["data"] else None}
    if result["errors"]:
        reply["errors"] = []
        for error in result["errors"]:
            item: dict[str, Any] = {"message": error["message"]}
            if error.get("path"):
                item["path"] = error["path"]
            if error.get("extensions"):
                item["extensions"] = error["extensions"]
            reply["errors"].append(item)
    return reply


@handles("rows")
async def rows_query(ctx: Ctx, request: Any) -> Stream:
    """``{"data", "errors"?}``; failures ``{"data": null, "error": {"type": "rows-query-error"}}``."""
    collection = str(request.get("collection", "default"))
    query = request.get("query", "")
    variables = request.get("variables", {})
    operation_name = request.get("operation_name")
    try:
        result = await run_graphql(ctx, collection, str(query), variables, operation_name)
    except Exception as exc:
        yield {"data": None, "error": {"type": "rows-query-error", "message": str(exc)}}, True
        return
    yield _rows_reply(result), True


# -- nlp-query and structured-query ----------------------------------------------------------------


def _nlp(ctx: Ctx, question: str, max_results: int) -> dict[str, Any]:
    schemas = row_schemas(ctx)
    asked = words(question.replace("_", " ").replace("-", " "))
    chosen = []
    for name, schema in schemas.items():
        forms = {name.lower(), name.lower() + "s", name.lower().rstrip("s"), gql_name(name).lower()}
        if forms & asked or set(words(name.replace("_", " ").replace("-", " "))) <= asked:
            if schema.fields:
                chosen.append(name)
    if not chosen:
        raise RuntimeError("No schema matches the question")
    parts = []
    for name in chosen:
        fields = " ".join(gql_name(f.name) for f in schemas[name].fields)
        parts.append(f"{gql_name(name)}(limit: {max_results}) {{ {fields} }}")
    return {
        "graphql_query": "query { " + " ".join(parts) + " }",
        "variables": {},
        "detected_schemas": chosen,
        "confidence": 0.9,
    }


@handles("nlp-query")
async def nlp_query(ctx: Ctx, request: Any) -> Stream:
    question = str(request.get("question", ""))
    max_results = request.get("max_results", 100)
    try:
        reply = _nlp(ctx, question, int(max_results))
    except Exception as exc:
        yield (
            {
                "graphql_query": "",
                "variables": {},
                "detected_schemas": [],
                "confidence": 0.0,
                "error": {"type": "nlp-query-error", "message": str(exc)},
            },
            True,
        )
        return
    yield reply, True


@handles("structured-query")
async def structured_query(ctx: Ctx, request: Any) -> Stream:
    """``{"data", "errors": [str]}``: nlp-query, then the rows query on ``collection``."""
    question = str(request.get("question", ""))
    collection = str(request.get("collection", "default"))
    try:
        try:
            nlp = _nlp(ctx, question, 100)
        except Exception as exc:
            raise RuntimeError(f"NLP query service error: {exc}") from exc
        try:
            result = await run_graphql(ctx, collection, nlp["graphql_query"], nlp["variables"], None)
        except Exception as exc:
            raise RuntimeError(f"Rows query service error: {exc}") from exc
    except Exception as exc:
        yield {"data": None, "errors": [], "error": {"type": "structured-query-error", "message": str(exc)}}, True
        return
    errors = [f"{e['message']} (path: {e['path']})" for e in result["errors"]]
    yield {"data": result["data"] if result["data"] else None, "errors": errors}, True


# -- structured-diag ---------------------------------------------------------------------------------


def detect_data_type(sample: str) -> tuple[str | None, float]:
    """The real service's algorithm (``structured_diag/type_detector.py``)."""
    if not sample or not sample.strip():
        return None, 0.0
    sample = sample.strip()
    if sample.startswith("<?xml") or (sample.startswith("<") and "</" in sample):
        return "xml", 0.9
    if sample.startswith(("{", "[")):
        return "json", 0.9
    return "csv", 0.8


def _csv_score(sample: str, delimiter: str) -> float:
    try:
        rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter))
    except csv.Error:
        return 0.0
    if len(rows) < 2 or len(rows[0]) < 2:
        return 0.0
    consistent = sum(1 for row in rows[1:] if len(row) == len(rows[0])) / (len(rows) - 1)
    if consistent > 0.8:
        return min(0.7 + min(len(rows[0]) * 0.05, 0.2) + min(len(rows) * 0.01, 0.1), 0.95)
    return 0.5 if consistent > 0.6 else 0.2


def _numeric(value: str) -> bool:
    try:
        float(value.strip())
        return True
    except ValueError:
        return False


def detect_csv_options(sample: str) -> dict[str, Any]:
    options: dict[str, Any] = {"delimiter": ",", "has_header": True, "encoding": "utf-8"}
    if len(sample.strip().split("\n")) < 2:
        return options
    best, best_score = ",", 0.0
    for delimiter in (",", ";", "\t", "|"):
        score = _csv_score(sample, delimiter)
        if score > best_score:
            best, best_score = delimiter, score
    options["delimiter"] = best
    rows = list(csv.reader(io.StringIO(sample), delimiter=best))
    if len(rows) >= 2:
        first = sum(1 for c in rows[0] if _numeric(c))
        second = sum(1 for c in rows[1] if _numeric(c))
        options["has_header"] = second > first and first < len(rows[0]) * 0.7
    return options


def _sample_fields(sample: str, kind: str) -> list[str]:
    if kind == "json":
        try:
            data = json.loads(sample)
        except ValueError:
            return []
        record = data[0] if isinstance(data, list) and data else data
        return [str(k) for k in record] if isinstance(record, dict) else []
    if kind == "xml":
        return sorted(set(re.findall(r"<([A-Za-z_][\w.-]*)[\s>/]", sample)))
    options = detect_csv_options(sample)
    rows = list(csv.reader(io.StringIO(sample.strip()), delimiter=options["delimiter"]))
    return [c.strip() for c in rows[0]] if rows else []


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _descriptor(sample: str, kind: str, schema: RowSchema) -> dict[str, Any]:
    targets = {_norm(f.name): f.name for f in schema.fields}
    mappings = [
        {"source_field": source, "target_field": targets[_norm(source)], "transforms": []}
        for source in _sample_fields(sample, kind)
        if _norm(source) in targets
    ]
    fmt: dict[str, Any] = {"type": kind, "encoding": "utf-8"}
    if kind == "csv":
        fmt["options"] = detect_csv_options(sample)
    return {
        "version": "1.0",
        "metadata": {"name": schema.name, "description": schema.description},
        "format": fmt,
        "mappings": mappings,
        "output": {"format": "trustgraph-objects", "schema_name": schema.name, "options": {"confidence": 0.9}},
    }


@handles("structured-diag")
async def structured_diag(ctx: Ctx, request: Any) -> Stream:
    """detect-type, generate-descriptor, diagnose and schema-selection; any failure is answered
    with the operation and confidence 0 only, as the 2.11 translator does."""
    operation = request["operation"]
    sample = request["sample"]
    kind = request.get("type", "")
    schema_name = request.get("schema-name", "")
    dropped = {"operation": operation, "confidence": 0.0}
    if operation == "schema-selection":
        dropped["schema-matches"] = []
    try:
        if operation == "detect-type":
            fields = _detect_type(str(sample))
        elif operation in ("generate-descriptor", "diagnose"):
            fields = _describe(ctx, operation, str(sample), kind, schema_name)
        elif operation == "schema-selection":
            fields = _select_schemas(ctx, str(sample))
        else:
            raise RuntimeError(f"Unknown operation: {operation}")
    except Exception:
        yield dropped, True
        return
    yield {"operation": operation, **fields}, True


def _detect_type(sample: str) -> dict[str, Any]:
    """detect-type: the type (if any), its confidence and, for CSV, the options found."""
    fields: dict[str, Any] = {}
    detected, confidence = detect_data_type(sample)
    if detected:
        fields["detected-type"] = detected
    fields["confidence"] = confidence
    if detected == "csv":
        fields["metadata"] = {"csv_options": json.dumps(detect_csv_options(sample))}
    return fields


def _describe(ctx: Ctx, operation: str, sample: str, kind: str, schema_name: str) -> dict[str, Any]:
    """generate-descriptor and diagnose: the import descriptor mapping ``sample`` to a schema."""
    detected, confidence = detect_data_type(sample)
    kind = kind or (detected or "")
    schemas = row_schemas(ctx)
    if not kind or not schemas:
        raise RuntimeError("type and a schema are needed")
    name = schema_name or next(iter(schemas))
    if name not in schemas:
        raise RuntimeError(f"Schema '{name}' not found")
    descriptor = _descriptor(sample, kind, schemas[name])
    metadata = {"schema_name": name, "type": kind}
    if operation != "diagnose":
        return {"confidence": 0.0, "descriptor": descriptor, "metadata": metadata}
    if kind == "csv":
        metadata["csv_options"] = json.dumps(detect_csv_options(sample))
    return {"detected-type": kind, "confidence": confidence, "descriptor": descriptor, "metadata": metadata}


def _select_schemas(ctx: Ctx, sample: str) -> dict[str, Any]:
    """schema-selection: the schemas with a field named in the sample, most such fields first."""
    detected, _c = detect_data_type(sample)
    present = {_norm(x) for x in _sample_fields(sample, detected or "csv")} | words(sample)
    scored = []
    for name, schema in row_schemas(ctx).items():
        hits = sum(1 for f in schema.fields if _norm(f.name) in present)
        if hits:
            scored.append((-hits, name))
    return {"confidence": 0.0, "schema-matches": [name for _h, name in sorted(scored)]}


# -- row-embeddings ----------------------------------------------------------------------------------


@handles("row-embeddings")
async def row_embeddings_query(ctx: Ctx, request: Any) -> Stream:
    """``{"matches": [{index_name, index_value, text, score}]}``: the indexed field values of the
    collection's rows (``schema_name`` and ``index_name`` narrow them), embedded with the
    built-in embedder (``EMBEDDING_DIM`` dimensions) and ranked by cosine similarity to ``vector``."""
    vector = request["vector"]
    limit = int(request.get("limit", 10))
    collection = str(request.get("collection", "default"))
    schema_name = request.get("schema_name", "")
    index_name = request.get("index_name")
    try:
        await ctx.backend.settle()
        query = np.asarray(vector, dtype=np.float64)
        if query.ndim != 1 or query.shape[0] != EMBEDDING_DIM or limit <= 0:
            yield {"matches": []}, True
            return
        candidates: dict[tuple[str, str], None] = {}
        for name, schema in row_schemas(ctx, collection).items():
            if schema_name and name != schema_name:
                continue
            indexed = [f.name for f in schema.fields if f.indexed or f.primary]
            for row in _rows(ctx, collection, name):
                for field_name in indexed:
                    if index_name and field_name != index_name:
                        continue
                    value = row.get(field_name)
                    if value is not None and str(value):
                        candidates.setdefault((field_name, str(value)), None)
        keys = list(candidates)
        if not keys:
            yield {"matches": []}, True
            return
        matrix = np.asarray([embed(text) for _f, text in keys], dtype=np.float64)
        scores = cosine(matrix, query)
        order = np.argsort(-scores, kind="stable")[:limit]
        matches = [
            {"index_name": keys[i][0], "index_value": [keys[i][1]], "text": keys[i][1], "score": float(scores[i])}
            for i in order
        ]
    except Exception as exc:
        yield {"error": {"type": "row-embeddings-query-error", "message": str(exc)}, "matches": []}, True
        return
    yield {"matches": matches}, True
