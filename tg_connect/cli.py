"""``tg-connect``: bulk loads and dumps for ETL jobs, the local gateway, and a demo.

Exit status (also shown by ``tg-connect --help``):

====  =========================================================================================
0     success
1     an error: the gateway, the input or the output failed (one line on stderr says what;
      for a load the report on stdout says what was delivered and where to resume)
2     a load finished without error but its report is not ok: rows not delivered, not read
      back (``--verify``) or not stored in time (``--wait stored``), or rows rejected without
      ``--on-error skip``
64    the command line is wrong (an unknown option, kind or format, a missing argument, a URL
      that cannot be used); nothing was done. 64 is ``EX_USAGE`` of sysexits.h: argparse's
      usual 2 already means "load incomplete" here
130   interrupted (Ctrl-C)
141   standard output was closed early (``tg-connect dump triples - --format nt | head``), as
      for a process killed by SIGPIPE; nothing more is printed
====  =========================================================================================

Every error is one line on stderr, never a traceback: ``tg-connect: error: ...``, or for the
command line ``tg-connect load: error: ... (see tg-connect load --help)``. ``--debug`` (or
``TG_CONNECT_DEBUG=1``) prints the traceback as well. Messages name the flag to change
(``--rate``, not ``max_rows_per_second=``): :func:`main` switches :mod:`tg_connect.wording`
to flag spelling before anything else.

Quick to start: until a command runs only argparse and the standard library are imported (no
pandas, pyarrow or socket libraries), so ``--help`` and usage errors answer at once; each
command imports what it uses.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from . import wording
from .errors import AuthenticationError, TgConnectError

if TYPE_CHECKING:
    from .bulk import LoadReport

# tg_connect.protocol.schemas.KINDS, spelt out so that building the parser imports no pyarrow
# (tests/cli/test_help.py holds them equal).
KINDS = ("triples", "graph-embeddings", "document-embeddings", "entity-contexts", "rows")
# The formats tg_connect.readers.formats knows, for the help text (tests hold them equal).
FORMATS = ("parquet", "csv", "tsv", "jsonl", "nt", "nq", "ttl", "trig", "rdfxml")
# Keywords whose command-line flag is not the keyword with dashes (see tg_connect.wording).
FLAGS = {
    "max_rows_per_second": "--rate",
    "url": "--url",
    "token": "--token",
    "kind": "KIND",
    "data": "SOURCE",
    "dest": "DEST",
}
EX_OK, EX_ERROR, EX_INCOMPLETE, EX_USAGE, EX_INTERRUPTED, EX_PIPE = 0, 1, 2, 64, 130, 141

EXIT_STATUS = """exit status:
  0    success
  1    an error (one line on stderr says what; a load's report on stdout says what was delivered)
  2    a load finished, but not every row was delivered, verified or stored, or rows were rejected
  64   the command line is wrong; nothing was done
  130  interrupted (Ctrl-C)
  141  standard output closed early (e.g. piped into head)

Errors are one line on stderr; add --debug (or set TG_CONNECT_DEBUG=1) for a traceback.
Run tg-connect COMMAND --help for a command's options."""

LOAD_EXAMPLES = (
    """examples:
  tg-connect load triples graph.parquet --url http://gateway:8088
  tg-connect load triples 'data/*.ttl' --collection research --document-id research-2026
  tg-connect load graph-embeddings vectors.parquet --concurrency 4 --verify
  TRUSTGRAPH_TOKEN=tg_... tg-connect load triples big.nq.gz --rate 500 --checkpoint big.ckpt
  tg-connect load triples export.csv --delimiter ';' --on-error skip --json > report.json

The URL comes from --url, else $TRUSTGRAPH_URL, else http://localhost:8088 (the gateway's base
URL: tg-connect adds the /api/v1 paths). A token comes from --token, else $TRUSTGRAPH_TOKEN.
"""
    + EXIT_STATUS
)

DUMP_EXAMPLES = (
    """examples:
  tg-connect dump triples graph.parquet --collection research
  tg-connect dump triples - --format nt | head
  tg-connect dump graph-embeddings vectors.parquet --source core --core-id research-2026
  tg-connect dump triples parts/ --format parquet --max-rows-per-file 1000000

"""
    + EXIT_STATUS
)


class UsageError(Exception):
    """A mistake on the command line: reported as one line, exit status 64, nothing done."""

    def __init__(self, prog: str, message: str) -> None:
        self.prog = prog
        super().__init__(message)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming where to look, not a usage block.

    Sub-command parsers are made with the same class, so ``tg-connect load`` errors say
    ``tg-connect load: error: ... (see tg-connect load --help)``.
    """

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.prog, message)


def _para(text: str) -> str:
    """A description filled to the terminal-friendly width (raw descriptions are not wrapped)."""
    return textwrap.fill(text, 88)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Epilogs and descriptions as written (examples keep their lines); wider option column."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


class _Version(argparse.Action):
    """``--version``: read from the installed package's metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> NoReturn:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("tg-connect")
        except PackageNotFoundError:  # run from a source tree that is not installed
            from . import __version__ as number
        print(f"tg-connect {number}")
        parser.exit()


def _kind(text: str) -> str:
    """A data kind, dashes or underscores (``graph_embeddings``), as its canonical name."""
    name = text.strip().lower().replace("_", "-")
    if name not in KINDS:
        raise argparse.ArgumentTypeError(f"unknown kind {text!r}; one of {', '.join(KINDS)}")
    return name


def _format(text: str) -> str:
    """A file format name or alias (``turtle``), checked by the readers' own table."""
    from .readers.formats import normalise_format

    try:
        return normalise_format(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def _debug(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="on an error, print the traceback too (default: off, unless TG_CONNECT_DEBUG=1)",
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--url",
        help="the gateway's base URL, e.g. http://gateway:8088 (default: $TRUSTGRAPH_URL, else http://localhost:8088)",
    )
    p.add_argument(
        "--token",
        help="API token (default: $TRUSTGRAPH_TOKEN; prefer the variable, command lines are visible to other users)",
    )
    p.add_argument("--flow", default="default", help="flow id (default: default)")
    p.add_argument("--collection", default="default", help="collection (default: default)")
    p.add_argument("--workspace", default=None, help="workspace (default: default)")
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for the gateway to connect or answer (default: 60)",
    )
    _debug(p)


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


def _kind_help(verb: str) -> str:
    return f"what to {verb}: {', '.join(KINDS)} (underscores work too: graph_embeddings)"


def _column_pairs(text: str) -> dict[str, str]:
    from .protocol.columns import parse_column_pairs

    try:
        return parse_column_pairs(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _columns(args: argparse.Namespace) -> dict[str, str] | None:
    """The --columns-from file's pairs, then the --columns pairs over them."""
    from .protocol.columns import read_column_file

    mapping = read_column_file(args.columns_from) if args.columns_from else {}
    for pairs in args.columns or ():
        mapping.update(pairs)
    return mapping or None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tg-connect",
        description=__doc__.split("\n")[0].replace("``", ""),
        epilog=EXIT_STATUS,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action=_Version, help="print tg-connect's version and exit")
    _debug(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    load = sub.add_parser(
        "load",
        help="load files into TrustGraph",
        description=_para(
            "Load Parquet, CSV, TSV, JSON Lines or RDF files (N-Triples, N-Quads, Turtle,"
            " TriG; optionally .gz/.bz2/.zst) into a TrustGraph gateway's bulk import sockets, and"
            " print a report of what was read, delivered and rejected."
        ),
        epilog=LOAD_EXAMPLES,
        formatter_class=_Formatter,
    )
    load.add_argument("kind", type=_kind, metavar="KIND", help=_kind_help("load"))
    load.add_argument(
        "source", nargs="+", metavar="SOURCE", help="files, directories or globs (quote globs: 'data/*.ttl')"
    )
    _common(load)
    load.add_argument(
        "--batch-size", type=_positive_int, default=1000, metavar="ROWS", help="rows per import message (default: 1000)"
    )
    load.add_argument(
        "--max-batch-bytes",
        type=_positive_int,
        default=8 * 1024 * 1024,
        metavar="BYTES",
        help="largest import message in bytes; a batch past it is split (default: 8388608, 8 MiB)",
    )
    load.add_argument(
        "--concurrency",
        type=_positive_int,
        default=1,
        metavar="SOCKETS",
        help="import sockets to spread the load over (default: 1)",
    )
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
        metavar="N",
        help="reconnects in a row, without progress, before a dropped load fails (default: 5;"
        " 0 fails at the first drop)",
    )
    load.add_argument(
        "--wait",
        choices=["delivered", "stored"],
        default="delivered",
        help="delivered: stop once the gateway has taken every message; stored: then wait until"
        " the stores have processed everything, as the gateway's metrics show (default: delivered)",
    )
    load.add_argument(
        "--wait-timeout",
        type=_seconds,
        default=600.0,
        metavar="SECONDS",
        help="with --wait stored: how long to wait (default: 600)",
    )
    load.add_argument(
        "--on-error",
        choices=["raise", "skip"],
        default="raise",
        help="a bad row: raise stops the load at it, naming its row and column; skip rejects it"
        " into the report and loads the rest (default: raise)",
    )
    load.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="file recording what was delivered; rerun with it to send only the rest (default: none)",
    )
    load.add_argument(
        "--verify",
        action="store_true",
        help="read back what the load wrote; rows not read back make the exit status 2 (default: off)",
    )
    load.add_argument(
        "--verify-timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="with --verify: how long to keep reading back while rows are missing (default: 60)",
    )
    load.add_argument(
        "--document-id",
        metavar="ID",
        help="metadata id of every message; it names the knowledge core (default: a new tg-connect-UUID)",
    )
    load.add_argument(
        "--compression",
        choices=["auto", "deflate", "none"],
        default="auto",
        help="permessage-deflate on the sockets; auto: on, except on loopback (default: auto)",
    )
    load.add_argument(
        "--format",
        type=_format,
        metavar="FORMAT",
        help=f"input format when the suffix does not say: {', '.join(FORMATS)}, or an alias such as"
        " turtle (default: from each file's suffix)",
    )
    load.add_argument("--delimiter", metavar="CHAR", help="CSV field delimiter (default: , and a tab for .tsv)")
    load.add_argument(
        "--columns",
        type=_column_pairs,
        action="append",
        metavar="SOURCE=TARGET,...",
        help="rename the input's columns to the kind's, input name first: subject=s,predicate=p,object=o"
        " (repeatable; as columns= in Python; default: the names as they are)",
    )
    load.add_argument(
        "--columns-from",
        metavar="FILE",
        help='read more --columns pairs from FILE: a JSON object {"subject": "s"} or SOURCE=TARGET lines'
        " (blank lines and lines starting with # are skipped); --columns pairs override it (default: none)",
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
    load.add_argument("--json", action="store_true", help="print the report as JSON (default: as text)")
    load.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress output (default: a bar on a terminal, a line every 5 s otherwise)",
    )

    export_core = sub.add_parser(
        "export-core",
        help="save a knowledge core to a msgpack file",
        description=_para(
            "Save a knowledge core (the triples and graph embeddings a load stored under"
            " its document id) to a msgpack file, in the gateway's own core format."
        ),
        epilog=EXIT_STATUS,
        formatter_class=_Formatter,
    )
    export_core.add_argument("core_id", metavar="CORE_ID", help="the core's id (a load's --document-id)")
    export_core.add_argument("dest", metavar="DEST", help="msgpack file to write (written only when complete)")
    _common(export_core)
    import_core = sub.add_parser(
        "import-core",
        help="upload a knowledge core from a msgpack file",
        description=_para("Upload a knowledge core from a msgpack file (as export-core writes) under a core id."),
        epilog=EXIT_STATUS,
        formatter_class=_Formatter,
    )
    import_core.add_argument("core_id", metavar="CORE_ID", help="the id to store the core under")
    import_core.add_argument("source", metavar="SOURCE", help="msgpack file to read")
    _common(import_core)

    dump = sub.add_parser(
        "dump",
        help="write TrustGraph data to a file (Parquet, CSV, JSON Lines, RDF)",
        description=_para(
            "Read data from a gateway and write it to a file (or standard output) in"
            " one stream. A failed read leaves nothing at DEST."
        ),
        epilog=DUMP_EXAMPLES,
        formatter_class=_Formatter,
    )
    dump.add_argument("kind", type=_kind, metavar="KIND", help=_kind_help("read"))
    dump.add_argument(
        "dest",
        metavar="DEST",
        help="file to write; the format comes from its suffix (.parquet .csv .tsv"
        " .jsonl .nt .nq .ttl .trig, optionally .gz) or --format; - writes to standard output",
    )
    dump.add_argument(
        "--format",
        type=_format,
        metavar="FORMAT",
        help=f"output format: {', '.join(FORMATS)} (default: from DEST's suffix; required for -)",
    )
    dump.add_argument(
        "--max-rows-per-file",
        type=_positive_int,
        metavar="ROWS",
        help="Parquet: roll over to numbered part files under DEST (default: one file)",
    )
    dump.add_argument(
        "--drop-graphs",
        action="store_true",
        help="N-Triples/Turtle: write named-graph triples into the one graph (default: refuse to)",
    )
    _common(dump)
    dump.add_argument(
        "--source",
        choices=["query", "core", "cores", "tail"],
        default=None,
        help="query: the stored triples (streaming query); core: one knowledge core (needs"
        " --core-id); cores: every core tg-connect loads recorded for --collection; tail: the live"
        " export socket, until --max-rows or --idle-timeout (default: query for triples; for graph"
        " embeddings core with --core-id, else cores)",
    )
    dump.add_argument(
        "--core-id",
        metavar="ID",
        help="with --source core: the core to read, a load's --document-id (default: none; required there)",
    )
    dump.add_argument("--max-rows", type=_positive_int, metavar="ROWS", help="stop after this many rows (default: all)")
    dump.add_argument(
        "--idle-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="with --source tail: stop after this long without data (default: none)",
    )
    dump.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress output (default: a bar on a terminal, a line every 5 s otherwise; none for DEST -)",
    )

    serve = sub.add_parser(
        "serve",
        help="run the local gateway (a development and test target, not a production store)",
        description=_para(
            "Run tg_connect's local gateway: an embedded stand-in that speaks the "
            "TrustGraph 2.11 gateway protocol. It is a development and test target, not a "
            "production store. Without --data everything is kept in memory. Its LLM and embedder "
            "are deterministic stand-ins, not real models: --llm-url sends every LLM call (text "
            "completion, prompts, graph and document RAG, the agent) to an OpenAI-compatible server "
            "(model: $TG_CONNECT_LLM_MODEL, else the server's first); embeddings always come from the "
            "word-hash stand-in."
        ),
        formatter_class=_Formatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8088, help="port to listen on (default: 8088)")
    serve.add_argument("--data", metavar="DIR", help="directory to persist data in (default: memory only)")
    serve.add_argument("--token", help="require this token (default: $TRUSTGRAPH_TOKEN; none = open)")
    serve.add_argument(
        "--llm-url",
        metavar="URL",
        help="send text completion to this OpenAI-compatible endpoint "
        "(e.g. http://localhost:11434/v1) instead of the built-in scripted model (default: the scripted model)",
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
    _debug(serve)

    demo = sub.add_parser(
        "demo",
        help="load the bundled sample into a local gateway and read it back",
        description=_para(
            "Start a local gateway in this process, load the bundled 5,000-triple sample,"
            " read it back and show that it is identical, with a few counts."
        ),
        formatter_class=_Formatter,
    )
    demo.add_argument("--no-progress", action="store_true", help="no progress bar (default: a bar on a terminal)")
    _debug(demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    wording.use_cli_spelling(FLAGS)
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("TG_CONNECT_DEBUG", "") not in ("", "0")
    args: argparse.Namespace | None = None
    try:
        args = build_parser().parse_args(argv)
        _check_url(args)
        if args.command == "load":
            return _load(args)
        if args.command == "dump":
            return _dump(args)
        if args.command in ("export-core", "import-core"):
            return _core(args)
        if args.command == "serve":
            return _serve(args)
        return _demo(args)
    except UsageError as exc:
        _say(f"{exc.prog}: error: {exc} (see {exc.prog} --help)", args)
        return EX_USAGE
    except KeyboardInterrupt:
        _say("tg-connect: interrupted", args)
        return EX_INTERRUPTED
    except BrokenPipeError:
        _stdout_gone()
        return EX_PIPE
    except Exception as exc:
        return _failed(exc, args, debug)


def _failed(exc: Exception, args: argparse.Namespace | None, debug: bool) -> int:
    """Report ``exc`` as one line (and its traceback with ``--debug``); exit status 1."""
    if _caused_by_closed_stdout(exc):
        _stdout_gone()
        return EX_PIPE
    if debug:
        traceback.print_exc()
    report = getattr(exc, "report", None)
    notes = getattr(exc, "__notes__", ())
    if isinstance(exc, AuthenticationError) and not exc.transient:
        exc = _token_advice(exc, args)
    if isinstance(exc, (TgConnectError, ValueError, OSError)):  # ours, a refused value, a file
        line = f"tg-connect: error: {exc}"
    else:  # not one of ours: a bug, or a failure nobody foresaw
        line = f"tg-connect: error: {type(exc).__name__}: {exc}" + (
            "" if debug else " (run with --debug for the traceback)"
        )
    for note in notes:
        line += f"; {note}"
    if report is not None:
        line += _report_hint(report, line, args)
    _say(line, args)
    return EX_ERROR


def _token_advice(exc: AuthenticationError, args: argparse.Namespace | None) -> AuthenticationError:
    """The refusal restated to say whether this command gave a token, and how to pass one."""
    from .transport.connect import auth_refused

    given = bool((args is not None and getattr(args, "token", None)) or os.environ.get("TRUSTGRAPH_TOKEN"))
    return auth_refused(exc.endpoint, token_given=given)


def _report_hint(report: LoadReport, line: str, args: argparse.Namespace | None) -> str:
    """Print a failed load's report on stdout when it has more to say than the error ``line``,
    and say so on that line."""
    as_json = args is not None and getattr(args, "json", False)
    if not (as_json or report.rows_sent or report.rows_rejected or report.rows_skipped):
        return ""  # nothing was sent: the error line says it all
    print(report.to_json() if as_json else _without_error(report, line), flush=True)
    return f" ({report.rows_delivered:,} rows delivered before it; the report is on stdout)"


def _without_error(report: LoadReport, shown: str) -> str:
    """``report`` as text without repeating the error line ``shown`` on stderr: its error line
    is left out, and the line of a file that failed with that error points up to it."""
    lines = [line for line in str(report).splitlines() if not line.startswith("  error: ")]
    for file in report.files or ():
        if file.error and file.error in shown:
            lines = [line.replace(f"; {file.error}", "; the error on stderr") for line in lines]
    return "\n".join(lines)


_TOKEN_QUERY = re.compile(r"([?&]token=)[^&#\s]*", re.IGNORECASE)


def _say(line: str, args: argparse.Namespace | None) -> None:
    """``line`` on stderr as one line, with any token removed."""
    text = " ".join(part.strip() for part in str(line).splitlines() if part.strip())
    text = _TOKEN_QUERY.sub(r"\1***", text)
    for token in (getattr(args, "token", None), os.environ.get("TRUSTGRAPH_TOKEN")):
        if token and len(token) >= 8:  # shorter ones would garble the line, and are no secret
            text = text.replace(token, "***")
    print(text, file=sys.stderr, flush=True)


def _caused_by_closed_stdout(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was raised while handling, a write to a closed pipe."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, BrokenPipeError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _stdout_gone() -> None:
    """Point stdout at /dev/null: the interpreter's final flush would raise again otherwise."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _check_url(args: argparse.Namespace) -> None:
    """A --url that cannot be used is a command-line mistake (exit 64), found before any work."""
    url = getattr(args, "url", None)
    if url is None:
        return
    from .protocol.endpoints import validate_base_url

    try:
        validate_base_url(url)
    except ValueError as exc:
        raise UsageError(f"tg-connect {args.command}", str(exc)) from None


def _progress(args: argparse.Namespace) -> bool:
    """Progress unless --no-progress: a bar on a terminal, timestamped lines in a log
    (``progress=True`` chooses, :func:`tg_connect.bulk.progress.choose_display`). None for a
    dump to standard output, which is a pipe's data: a reader that closes it early (``head``)
    ends the dump quietly."""
    return not args.no_progress and getattr(args, "dest", None) != "-"


def _pyarrow_without_pandas() -> None:
    """Keep pyarrow from importing pandas (a third of a small load's run time) to ask whether
    a Python list might be a pandas object.

    pyarrow asks on its first ``pa.array(list)`` (and when ``pyarrow.dataset`` is imported):
    a soft check that imports pandas if it can. Nothing in a load or a dump makes pandas
    objects, so the question is answered "no pandas" once, here, by hiding pandas while
    pyarrow asks. pyarrow tries the import again on any real use (``Table.to_pandas``, which
    ``--verify`` uses), and tg_connect imports pandas itself where it needs it, so nothing is
    lost. Done only by the command line, which owns its process; ``tg-connect serve`` and
    ``demo`` do not.
    """
    if "pandas" in sys.modules:
        return  # pyarrow has asked already, or someone else imported it
    import importlib.abc

    import pyarrow as pa

    class _Hidden(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any, target: Any = None) -> None:
            if name == "pandas":
                raise ModuleNotFoundError("pandas is not needed by this command", name=name)

    hidden = _Hidden()
    sys.meta_path.insert(0, hidden)
    try:
        pa.array([])  # pyarrow's one soft attempt; it records "no pandas" and goes on
    finally:
        sys.meta_path.remove(hidden)


def _load(args: argparse.Namespace) -> int:
    _pyarrow_without_pandas()
    from .bulk import to_trustgraph

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
        return EX_INCOMPLETE
    return EX_OK


def _read_options(args: argparse.Namespace) -> dict[str, str] | None:
    """What ``load``'s reader flags ask of the file readers."""
    options = {"delimiter": args.delimiter, "base_iri": args.base_iri}
    return {k: v for k, v in options.items() if v} or None


def _shown_url(url: str | None) -> str | None:
    """``url`` as a command may show it: query tokens redacted, credentials never shown."""
    from .protocol.endpoints import redact

    if url is None:
        return None
    return "URL" if urlsplit(url).username is not None else redact(url)


def _read_back(args: argparse.Namespace, report: LoadReport) -> str:
    """The document id of a load and the command that reads its rows back (no token in it)."""
    from .protocol.schemas import EXPORTABLE_KINDS

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


def _check_dump(args: argparse.Namespace) -> None:
    """Command-line mistakes a dump would otherwise find only after connecting."""
    if args.source == "core" and not args.core_id:
        raise UsageError("tg-connect dump", "--source core needs --core-id (a load's --document-id names its core)")
    if args.format is not None:
        return
    if args.dest == "-":
        raise UsageError("tg-connect dump", f"writing to standard output (-) needs --format ({', '.join(FORMATS)})")
    from .readers.formats import split_suffix

    rolling = args.max_rows_per_file or os.path.isdir(args.dest) or "{" in args.dest  # Parquet part files
    if not rolling and split_suffix(args.dest)[0] is None:
        raise UsageError(
            "tg-connect dump", f"cannot tell the format from {args.dest!r}: pass --format ({', '.join(FORMATS)})"
        )


def _dump(args: argparse.Namespace) -> int:
    """Read and write in one stream. A read that fails (a dropped tail, a core cut short or
    missing, a stall) exits 1 and leaves nothing at ``dest``: the writers write under a
    temporary name and rename only on success."""
    _check_dump(args)
    _pyarrow_without_pandas()
    from .bulk import read_batches
    from .writers import write

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
        result = write(reader, _destination(args), format=args.format, kind=args.kind, **options)
    except (TgConnectError, OSError) as exc:
        if not _caused_by_closed_stdout(exc):
            rows_read = getattr(exc, "rows_read", None)
            read = f"after reading {rows_read:,} rows, " if rows_read else ""
            exc.add_note(f"{read}{args.dest} was not written" if args.dest != "-" else f"{read}output incomplete")
        raise
    where = args.dest if len(result.files) <= 1 else f"{len(result.files)} files under {args.dest}"
    print(f"wrote {result.rows:,} {args.kind} rows to {where}", file=sys.stderr if args.dest == "-" else sys.stdout)
    return EX_OK


def _destination(args: argparse.Namespace) -> Any:
    """``DEST``, or standard output's byte stream for ``-``."""
    return sys.stdout.buffer if args.dest == "-" else args.dest


def _core(args: argparse.Namespace) -> int:
    from .bulk import export_core, import_core

    if args.command == "export-core":
        try:
            moved = export_core(
                args.core_id, args.dest, args.url, args.token, workspace=args.workspace, timeout=args.timeout
            )
        except (TgConnectError, OSError) as exc:
            exc.add_note(f"{args.dest} was not written")
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
    return EX_OK


def _serve(args: argparse.Namespace) -> int:
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
    return EX_OK


def _demo(args: argparse.Namespace) -> int:
    import json

    import pyarrow.parquet as pq

    from . import sample
    from .bulk import read_batches, to_trustgraph
    from .local import LocalGateway

    path = sample.sample_path()
    with LocalGateway() as gw:
        print(f"local gateway at {gw.url}; loading {path.name}")
        report = to_trustgraph(
            path,
            "triples",
            url=gw.url,
            document_id="tg-connect-sample",
            progress=not args.no_progress,
        )
        print(report)
        table = read_batches("triples", gw.url).read_all()
        df = table.to_pandas()
        keys = list(table.schema.names)
        loaded = pq.read_table(path)
        same = loaded.sort_by([(k, "ascending") for k in keys]).equals(table.sort_by([(k, "ascending") for k in keys]))
        print(f"\nread back {len(df):,} triples; identical to the file: {same}")
        if not same:  # the demo's one claim: a round trip that differs is a failure, not a footnote
            print("tg-connect: error: the triples read back differ from the sample file", file=sys.stderr)
            return EX_ERROR
        print("by object kind:", json.dumps(df["o_type"].value_counts().to_dict()))
        print("by graph:", json.dumps(df["g"].fillna("(default)").value_counts().to_dict()))
        print("top predicates:")
        print(df["p"].value_counts().head(5).to_string())
    return EX_OK
