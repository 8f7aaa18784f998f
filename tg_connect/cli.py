"""``tg-connect``: bulk loads and dumps for ETL jobs, the local gateway, and a demo.

Exit status: 0 on success; 1 on an error; 2 when a load finished without error but its report
is not ok: rows not delivered, not read back (``--verify``) or not stored in time (``--wait
stored``), or rows rejected without ``--on-error skip``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

import pyarrow.parquet as pq

from . import sample, wording
from .bulk import LoadReport, export_core, import_core, read_batches, to_trustgraph
from .errors import InputError, TgConnectError
from .protocol.columns import parse_column_pairs, read_column_file
from .protocol.endpoints import redact
from .protocol.schemas import EXPORTABLE_KINDS, KINDS
from .writers import write


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="gateway URL (default: $TRUSTGRAPH_URL, else http://localhost:8088)")
    p.add_argument(
        "--token",
        help="API token (default: $TRUSTGRAPH_TOKEN; prefer the variable, command lines are visible to other users)",
    )
    p.add_argument("--flow", default="default")
    p.add_argument("--collection", default="default")
    p.add_argument("--workspace", default=None)
    p.add_argument("--timeout", type=float, default=60.0)


def _rate(text: str) -> float | str | None:
    if text == "auto":
        return text
    if text == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected rows per second, 'auto' or 'none', not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("the rate must be positive")
    return value


def _column_pairs(text: str) -> dict[str, str]:
    try:
        return parse_column_pairs(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _columns(args: argparse.Namespace) -> dict[str, str] | None:
    """The --columns-from file's pairs, then the --columns pairs over them."""
    mapping = read_column_file(args.columns_from) if args.columns_from else {}
    for pairs in args.columns or ():
        mapping.update(pairs)
    return mapping or None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tg-connect", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    load = sub.add_parser("load", help="load files into TrustGraph")
    load.add_argument("kind", choices=[k for k in KINDS] + [k.replace("-", "_") for k in KINDS])
    load.add_argument("source", nargs="+", help="Parquet, CSV, JSON Lines or RDF files, directories or globs")
    _common(load)
    load.add_argument("--batch-size", type=int, default=1000, help="rows per import message")
    load.add_argument("--max-batch-bytes", type=int, default=8 * 1024 * 1024)
    load.add_argument("--concurrency", type=int, default=1, help="import sockets to spread the load over")
    load.add_argument(
        "--rate",
        type=_rate,
        default="auto",
        metavar="ROWS_PER_S|auto|none",
        help="pace the load (the gateway has no back-pressure): 'auto' follows the stores' own"
        " progress in the gateway's metrics, a number is at most that many rows per second,"
        " 'none' is as fast as the socket takes them (default: auto)",
    )
    load.add_argument(
        "--retries",
        type=int,
        default=5,
        help="reconnects in a row, without progress, before a dropped load fails (default: 5;"
        " 0 fails at the first drop)",
    )
    load.add_argument(
        "--wait",
        choices=["delivered", "stored"],
        default="delivered",
        help="stored: after sending, wait until the stores have processed everything, as the"
        " gateway's metrics show (default: delivered)",
    )
    load.add_argument(
        "--wait-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="with --wait stored: how long to wait (default: 600)",
    )
    load.add_argument("--on-error", choices=["raise", "skip"], default="raise")
    load.add_argument("--checkpoint", help="file recording what was sent; rerun with it to resume")
    load.add_argument(
        "--verify", action="store_true", help="read back what the load wrote; rows not read back make the exit status 2"
    )
    load.add_argument(
        "--verify-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="with --verify: how long to keep reading back while rows are missing (default: 60)",
    )
    load.add_argument("--document-id", help="metadata id of every message (names the knowledge core)")
    load.add_argument(
        "--compression",
        choices=["auto", "deflate", "none"],
        default="auto",
        help="permessage-deflate (auto: on except on loopback)",
    )
    load.add_argument(
        "--format",
        help="input format when the suffix does not say (parquet, csv, tsv, jsonl, nt, nq, ttl, trig, rdfxml;"
        " also turtle, n-triples, rdf/xml, owl, ndjson, media types such as text/turtle)",
    )
    load.add_argument("--delimiter", help="CSV field delimiter")
    load.add_argument(
        "--columns",
        type=_column_pairs,
        action="append",
        metavar="SOURCE=TARGET,...",
        help="rename the input's columns to the kind's, input name first: subject=s,predicate=p,object=o"
        " (repeatable; as columns= in Python)",
    )
    load.add_argument(
        "--columns-from",
        metavar="FILE",
        help='read more --columns pairs from FILE: a JSON object {"subject": "s"} or SOURCE=TARGET lines'
        " (blank lines and lines starting with # are skipped); --columns pairs override it",
    )
    load.add_argument(
        "--extra-columns",
        choices=["error", "ignore"],
        default="error",
        help="input columns the kind does not use: error names them, ignore leaves them out (default: error)",
    )
    load.add_argument(
        "--base-iri",
        metavar="IRI",
        help="RDF: resolve relative IRIs against this (default: each file's own file:// URI)",
    )
    load.add_argument(
        "--fail-fast",
        action="store_true",
        help="many files: stop at the first file that fails (default: load the others and report it, exit status 2)",
    )
    load.add_argument("--json", action="store_true", help="print the report as JSON")
    load.add_argument("--no-progress", action="store_true")

    export_core = sub.add_parser("export-core", help="save a knowledge core to a msgpack file")
    export_core.add_argument("core_id")
    export_core.add_argument("dest")
    _common(export_core)
    import_core = sub.add_parser("import-core", help="upload a knowledge core from a msgpack file")
    import_core.add_argument("core_id")
    import_core.add_argument("source")
    _common(import_core)

    dump = sub.add_parser("dump", help="write TrustGraph data to a file (Parquet, CSV, JSON Lines, RDF)")
    dump.add_argument("kind", choices=[k for k in KINDS] + [k.replace("-", "_") for k in KINDS])
    dump.add_argument(
        "dest",
        help="file to write; the format comes from its suffix (.parquet .csv .tsv"
        " .jsonl .nt .nq .ttl .trig, optionally .gz) or --format",
    )
    dump.add_argument("--format", help="output format when the suffix does not say")
    dump.add_argument("--max-rows-per-file", type=int, help="Parquet: roll over to numbered part files")
    dump.add_argument(
        "--drop-graphs", action="store_true", help="N-Triples/Turtle: write named-graph triples into the one graph"
    )
    _common(dump)
    dump.add_argument("--source", choices=["query", "core", "cores", "tail"], default=None)
    dump.add_argument("--core-id")
    dump.add_argument("--max-rows", type=int)
    dump.add_argument("--idle-timeout", type=float)
    dump.add_argument("--no-progress", action="store_true")

    serve = sub.add_parser(
        "serve",
        help="run the local gateway (a development and test target, not a production store)",
        description="Run tg_connect's local gateway: an embedded stand-in that speaks the "
        "TrustGraph 2.11 gateway protocol. It is a development and test target, not a "
        "production store. Without --data everything is kept in memory. Its LLM and embedder "
        "are deterministic stand-ins, not real models: --llm-url sends every LLM call (text "
        "completion, prompts, graph and document RAG, the agent) to an OpenAI-compatible server "
        "(model: $TG_CONNECT_LLM_MODEL, else the server's first); embeddings always come from the "
        "word-hash stand-in.",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8088)
    serve.add_argument("--data", help="directory to persist data in (default: memory only)")
    serve.add_argument("--token", help="require this token (default: $TRUSTGRAPH_TOKEN; none = open)")
    serve.add_argument(
        "--llm-url",
        help="send text completion to this OpenAI-compatible endpoint "
        "(e.g. http://localhost:11434/v1) instead of the built-in scripted model",
    )
    serve.add_argument(
        "--store-rate",
        type=float,
        metavar="ROWS_PER_S",
        help="simulate slow stores: the import sockets take frames in at full speed onto a "
        "queue and at most ROWS_PER_S rows per second are stored (default: stored at once)",
    )
    serve.add_argument(
        "--store-queue-mb",
        type=float,
        default=1024,
        metavar="MB",
        help="with --store-rate: the queue's cap in MB of frame text; a frame past it closes "
        "its import socket with code 1011 (default: 1024)",
    )

    demo = sub.add_parser("demo", help="load the bundled sample into a local gateway and read it back")
    demo.add_argument("--no-progress", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    wording.use_cli_spelling({"max_rows_per_second": "--rate"})
    args = build_parser().parse_args(argv)
    try:
        if args.command == "load":
            return _load(args)
        if args.command == "dump":
            return _dump(args)
        if args.command in ("export-core", "import-core"):
            return _core(args)
        if args.command == "serve":
            return _serve(args)
        return _demo(args)
    except TgConnectError as exc:
        print(f"tg-connect: error: {exc}", file=sys.stderr)
        report = getattr(exc, "report", None)
        if report is not None:  # its "error:" line would say the error a second time
            print(_without_error(report, exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _without_error(report: object, exc: BaseException) -> str:
    """``report`` as text without repeating ``exc``, which main() has just printed: its error
    line is left out, and the line of a file that failed with that error points up to it."""
    shown = str(exc)
    lines = [line for line in str(report).splitlines() if not line.startswith("  error: ")]
    for file in getattr(report, "files", None) or ():
        error = getattr(file, "error", None)
        if error and error in shown:
            lines = [line.replace(f"; {error}", "; the error above") for line in lines]
    return "\n".join(lines)


def _progress(args: argparse.Namespace) -> bool:
    """Progress unless --no-progress: a bar on a terminal, timestamped lines in a log
    (``progress=True`` chooses, :func:`tg_connect.bulk.progress.choose_display`)."""
    return not args.no_progress


def _load(args: argparse.Namespace) -> int:
    report = to_trustgraph(
        args.source[0] if len(args.source) == 1 else args.source,
        kind=args.kind,
        url=args.url,
        flow=args.flow,
        collection=args.collection,
        token=args.token,
        progress=_progress(args),
        workspace=args.workspace,
        batch_size=args.batch_size,
        max_batch_bytes=args.max_batch_bytes,
        on_error=args.on_error,
        columns=_columns(args),
        extra_columns=args.extra_columns,
        document_id=args.document_id,
        timeout=args.timeout,
        concurrency=args.concurrency,
        max_rows_per_second=args.rate,
        retries=args.retries,
        wait=args.wait,
        wait_timeout=args.wait_timeout,
        checkpoint=args.checkpoint,
        verify=args.verify,
        verify_timeout=args.verify_timeout,
        compression=None if args.compression == "none" else args.compression,
        format=args.format,
        read_options=_read_options(args),
        fail_fast=args.fail_fast,
    )
    print(report.to_json() if args.json else report)
    if report.rows_delivered:  # the read-back line goes to stderr beside --json's report
        print(_read_back(args, report), file=sys.stderr if args.json else sys.stdout)
    problems = report.problems(rejections=args.on_error != "skip")
    if problems:
        print(f"tg-connect: load not complete: {'; '.join(problems)}", file=sys.stderr)
        return 2
    return 0


def _read_options(args: argparse.Namespace) -> dict[str, str] | None:
    """What ``load``'s reader flags ask of the file readers."""
    options = {"delimiter": args.delimiter, "base_iri": args.base_iri}
    return {k: v for k, v in options.items() if v} or None


def _shown_url(url: str | None) -> str | None:
    """``url`` as a command may show it: query tokens redacted, credentials never shown."""
    if url is None:
        return None
    return "URL" if urlsplit(url).username is not None else redact(url)


def _read_back(args: argparse.Namespace, report: LoadReport) -> str:
    """The document id of a load and the command that reads its rows back (no token in it)."""
    options = (("--url", _shown_url(args.url)), ("--workspace", args.workspace), ("--flow", args.flow))
    where = "".join(f" {flag} {value}" for flag, value in options if value and (flag, value) != ("--flow", "default"))
    kind = report.kind
    if kind in ("triples", "graph-embeddings"):
        core = f"tg-connect dump {kind} out.parquet --source core --core-id {report.document_id}{where}"
        by_collection = f"tg-connect dump {kind} out.parquet --collection {report.collection}{where}"
        return f"document id: {report.document_id}\nread back: {by_collection}\n  or this load alone: {core}"
    if kind in EXPORTABLE_KINDS:
        return (
            f"document id: {report.document_id}\nread back: none for stored {kind} (no knowledge core holds"
            f" them and the gateway lists none); new rows can be watched as they arrive with:"
            f" tg-connect dump {kind} out.parquet --source tail --idle-timeout 30{where}"
        )
    return f"document id: {report.document_id}\nread back: the gateway has no read path for {kind}"


def _dump(args: argparse.Namespace) -> int:
    """Read and write in one stream. A read that fails (a dropped tail, a core cut short or
    missing, a stall) exits 1 and leaves nothing at ``dest``: the writers write under a
    temporary name and rename only on success."""
    options: dict[str, object] = {}
    if args.max_rows_per_file:
        options["max_rows_per_file"] = args.max_rows_per_file
    if args.drop_graphs:
        options["drop_graphs"] = True
    try:
        reader = read_batches(
            args.kind,
            args.url,
            args.flow,
            args.collection,
            args.token,
            source=args.source,
            workspace=args.workspace,
            core_id=args.core_id,
            max_rows=args.max_rows,
            idle_timeout=args.idle_timeout,
            progress=_progress(args),
            timeout=args.timeout,
        )
        result = write(reader, args.dest, format=args.format, kind=args.kind, **options)
    except TgConnectError as exc:
        if not isinstance(exc, InputError):  # a wrong option is one line: main() prints it
            read = f" after reading {exc.rows_read:,} rows" if exc.rows_read else ""
            print(f"tg-connect: dump failed{read}; {args.dest} was not written", file=sys.stderr)
        raise
    where = args.dest if len(result.files) <= 1 else f"{len(result.files)} files under {args.dest}"
    print(f"wrote {result.rows:,} {args.kind} rows to {where}")
    return 0


def _core(args: argparse.Namespace) -> int:
    if args.command == "export-core":
        try:
            moved = export_core(
                args.core_id, args.dest, args.url, args.token, workspace=args.workspace, timeout=args.timeout
            )
        except TgConnectError:
            print(f"tg-connect: export failed; {args.dest} was not written", file=sys.stderr)
            raise
        print(
            f"exported core {moved.core_id}: {moved.triples:,} triples, {moved.graph_embeddings:,}"
            f" graph embeddings, {moved.items:,} items, {moved.bytes:,} bytes to {args.dest}"
        )
    else:
        moved = import_core(
            args.core_id, args.source, args.url, args.token, workspace=args.workspace, timeout=args.timeout
        )
        print(
            f"imported core {moved.core_id}: {moved.triples:,} triples, {moved.graph_embeddings:,}"
            f" graph embeddings, {moved.items:,} items, {moved.bytes:,} bytes from {args.source}"
        )
    return 0


def _serve(args: argparse.Namespace) -> int:
    import os

    from .local import run_forever

    run_forever(
        args.host,
        args.port,
        args.data,
        args.token or os.environ.get("TRUSTGRAPH_TOKEN") or None,
        llm_url=args.llm_url,
        store_rows_per_second=args.store_rate,
        store_queue_bytes=int(args.store_queue_mb * 1024 * 1024),
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .local import LocalGateway

    path = sample.sample_path()
    with LocalGateway() as gw:
        print(f"local gateway at {gw.url}; loading {path.name}")
        report = to_trustgraph(
            path,
            "triples",
            url=gw.url,
            document_id="tg-connect-sample",
            progress=not args.no_progress and sys.stderr.isatty(),
        )
        print(report)
        table = read_batches("triples", gw.url).read_all()
        df = table.to_pandas()
        keys = list(table.schema.names)
        loaded = pq.read_table(path)
        same = loaded.sort_by([(k, "ascending") for k in keys]).equals(table.sort_by([(k, "ascending") for k in keys]))
        print(f"\nread back {len(df):,} triples; identical to the file: {same}")
        print("by object kind:", json.dumps(df["o_type"].value_counts().to_dict()))
        print("by graph:", json.dumps(df["g"].fillna("(default)").value_counts().to_dict()))
        print("top predicates:")
        print(df["p"].value_counts().head(5).to_string())
    return 0
