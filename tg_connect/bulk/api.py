"""The pandas-style entry points: ``to_trustgraph``, ``read_trustgraph``, ``read_batches``.

Each is a thin synchronous face over the async pipeline in :mod:`.load` / :mod:`.read`,
run through the one background-loop bridge (so they also work inside Jupyter).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .._lazy import lazy_module
from ..protocol.columns import ExtraColumns
from ..protocol.conform import OnError
from ..protocol.terms import Term
from ..target import resolve_target
from ..transport import bridge
from .client import BulkClient
from .cores import CoreTransfer, aexport_core, aimport_core
from .load import DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_BYTES, DEFAULT_RETRIES, DEFAULT_WAIT_TIMEOUT, Rate, Wait, aload
from .progress import ProgressArg
from .read import DEFAULT_READ_BATCH, ReadSource
from .report import LoadReport
from .tables import DtypeBackend, collect, to_pandas

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use: a load from the command line never needs pandas
    pd = lazy_module("pandas")


def to_trustgraph(
    data: Any,
    kind: str = "triples",
    url: str | None = None,
    flow: str = "default",
    collection: str = "default",
    token: str | None = None,
    progress: ProgressArg = True,
    *,
    workspace: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    on_error: OnError = "raise",
    columns: Mapping[str, str] | None = None,
    extra_columns: ExtraColumns = "error",
    document_id: str | None = None,
    dim: int | None = None,
    create_collection: bool = True,
    timeout: float = 60.0,
    tls_verify: bool = True,
    compression: str | None = "auto",
    concurrency: int = 1,
    max_rows_per_second: Rate = "auto",
    retries: int = DEFAULT_RETRIES,
    wait: Wait = "delivered",
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
    checkpoint: str | os.PathLike[str] | None = None,
    verify: bool = False,
    verify_timeout: float = 60.0,
    format: str | None = None,
    read_options: Mapping[str, Any] | None = None,
    fail_fast: bool = False,
) -> LoadReport:
    """Load ``data`` into TrustGraph over the bulk import socket of ``kind``; return a report.

    ``data`` is a pandas DataFrame, an Arrow table / batch / RecordBatchReader (or anything
    with ``__arrow_c_stream__``), an iterable of :class:`Triple` or other records, or files:
    a path, a directory, a glob or a list of them, in Parquet, CSV/TSV, JSON Lines or RDF
    (N-Triples, N-Quads, Turtle, TriG, RDF/XML: ``.rdf``, ``.owl``, and ``.xml`` whose root
    is ``rdf:RDF``), told by suffix or ``format=`` (``"turtle"``, ``"rdf/xml"``,
    ``"text/turtle"``... are taken too; ``read_options`` go to the readers that take them,
    e.g. ``{"delimiter": ";"}``, ``{"base_iri": "http://example.org/"}``). An RDF file's
    relative IRIs resolve against its own ``file://`` URI unless ``base_iri`` is given.

    Many files (a directory, read recursively, a glob, a list) are read in order and the
    report accounts for each (``report.files``: rows, rejected, error, or why it was
    skipped). In a directory or glob, files that are not data (a ``.c``, a ``README``, an
    ``.xml`` that is not RDF/XML) are skipped and listed. A file that fails (a syntax error,
    unreadable, other columns than the first file's) is loaded up to the error and the
    next file read; the report is then not ok and :meth:`LoadReport.problems` names the
    file and the error. ``fail_fast=True`` makes the first failing file stop the load with
    its error instead (one that cannot even be opened stops it before anything is sent).
    Each file's rows go in messages of their own, so a rerun with the same ``checkpoint``
    skips the messages of every file that did not change, and sends a fixed file from its
    first changed message on. It is streamed ``batch_size`` rows per
    message (fewer where a message would pass ``max_batch_bytes``; a row larger than that
    goes alone) and never held whole. ``kind`` takes the gateway's names (``triples``,
    ``graph-embeddings``, ``document-embeddings``, ``entity-contexts``, ``rows``; underscores
    accepted). ``url=None`` uses ``$TRUSTGRAPH_URL``, else ``http://localhost:8088``.
    Triples tables need ``s``, ``p``, ``o``: see ``docs/schemas.md`` for how term kinds are
    guessed and overridden. ``columns`` renames the input's columns to the kind's, input name
    to kind's name (``{"subject": "s", "o_kind": "o_type"}``); a column the kind does not use
    is an :class:`~tg_connect.errors.InputError` naming every such column, raised before
    anything is sent, unless ``extra_columns="ignore"``, which leaves them out (rejected rows
    keep them). ``on_error="skip"`` rejects invalid rows into the report and
    loads the rest; ``"raise"`` stops at the first, naming its row and column (the error's
    ``report`` attribute says what had been delivered). ``document_id`` becomes every
    message's ``metadata.id`` (and ``root``), which also names the knowledge core a gateway
    keeps of the load; a load of triples or graph embeddings notes that core's collection in
    the workspace's configuration, so ``read_trustgraph(kind, collection=..., source="cores")``
    finds it without the id.

    Before sending, the flow, its interface for ``kind`` and the collection are checked (a
    missing collection is created unless ``create_collection=False``): the gateway would
    accept and drop data for a target that does not exist. A message counts as *delivered*
    only when the gateway proved it took it in (a PONG to a later PING, or the clean close
    of the socket); ``report.ok`` needs every row delivered. A dropped connection is
    reconnected up to ``retries`` times in a row, and the unconfirmed messages are sent
    again (at-least-once, see docs/reliability.md); a gateway that stops reading raises
    :class:`~tg_connect.errors.GatewayTimeoutError` after about ``timeout`` seconds.

    ``concurrency`` spreads the messages over that many sockets. ``max_rows_per_second``
    paces the load across all of them (the gateway has no back-pressure, and a small
    deployment's stores can be overrun and stall): ``"auto"`` (the default) follows the
    stores' own progress as the gateway's metrics show it, keeping each message to about a
    second of the slowest store's work and their backlog to about 15 s of it (without
    metrics it sends 500 rows/s and says so); a number is a fixed rate; ``None`` is the
    socket's own speed. ``wait="stored"`` waits after sending, up to ``wait_timeout`` seconds,
    until the stores have processed everything (as their metrics show; the counters are
    shared with any other writer) and reports ``rows_stored``. ``checkpoint`` names a file
    recording each message delivered; rerunning with it sends only what was not.
    ``verify=True`` reads back what this load wrote (triples, graph embeddings), polling up
    to ``verify_timeout`` seconds; rows not read back make ``report.ok`` false.
    ``compression`` is permessage-deflate: ``"auto"`` (the default) turns it on except on
    loopback, where it only costs CPU; ``"deflate"`` or ``None`` force it on or off. JSON
    frames of triples compress about 5-10x, which pays on a slow link. ``tls_verify=False``
    skips TLS certificate checks (with a warning).
    """
    target = resolve_target(url, token, workspace=workspace, timeout=timeout, verify=tls_verify)
    return bridge.run(
        aload(
            data,
            target,
            kind=kind,
            flow=flow,
            collection=collection,
            batch_size=batch_size,
            max_batch_bytes=max_batch_bytes,
            on_error=on_error,
            columns=columns,
            extra_columns=extra_columns,
            document_id=document_id,
            progress=progress,
            dim=dim,
            create_collection=create_collection,
            compression=compression,
            concurrency=concurrency,
            max_rows_per_second=max_rows_per_second,
            retries=retries,
            wait=wait,
            wait_timeout=wait_timeout,
            checkpoint=checkpoint,
            verify=verify,
            verify_timeout=verify_timeout,
            format=format,
            read_options=read_options,
            fail_fast=fail_fast,
        )
    )


def read_batches(
    kind: str = "triples",
    url: str | None = None,
    flow: str = "default",
    collection: str = "default",
    token: str | None = None,
    *,
    source: ReadSource | None = None,
    workspace: str | None = None,
    s: str | Term | None = None,
    p: str | Term | None = None,
    o: str | Term | None = None,
    g: str | None = "*",
    limit: int | None = None,
    batch_size: int = DEFAULT_READ_BATCH,
    core_id: str | None = None,
    max_rows: int | None = None,
    idle_timeout: float | None = None,
    progress: ProgressArg = False,
    timeout: float = 60.0,
    tls_verify: bool = True,
) -> pa.RecordBatchReader:
    """Stream ``kind`` from TrustGraph as a ``pyarrow.RecordBatchReader`` (bounded memory).

    ``source`` picks the read path; each kind has its own (an error names them for a kind
    that has none, in the caller's terms):

    * ``"query"`` (the default for triples) reads the stored graph through the streaming
      triples query, filtered by the ``s``/``p``/``o`` pattern and graph ``g`` (``"*"``: all
      graphs, ``None``: the default graph). The pattern is read as
      ``Api(...).flow().triples_query`` reads it: a string is an IRI as ``s`` or ``p`` and its
      kind is guessed as ``o`` (a :class:`~tg_connect.Term` says the kind); ``limit``
      (``None``: no limit) and ``batch_size`` (triples a frame, 1 to 100,000) are checked
      the same way.
    * ``"cores"`` (the default for graph embeddings without ``core_id``) reads every
      knowledge core of the workspace that holds ``collection``'s rows, one core after
      another: what was loaded into the collection, with no id to remember. The gateway keeps
      no collection in a core, so each load of triples or graph embeddings notes its core's
      collection in the workspace's configuration (type ``tg-connect-core``), and this reads
      the cores noted for ``collection`` (a core loaded into several collections raises:
      its rows cannot be told apart). Data loaded by other tools is read by ``core_id``.
    * ``"core"`` (the default for graph embeddings with ``core_id``) reads the knowledge
      core ``core_id`` (a snapshot of triples and graph embeddings; a load's
      ``document_id`` names its core).
    * ``"tail"`` taps the live export socket until ``max_rows`` rows or ``idle_timeout``
      seconds without data: it shows rows as they are loaded, not what is stored. It is the
      only read path for document embeddings and entity contexts, which no knowledge core
      holds and no query lists; rows have none at all.

    ``progress``: as :func:`to_trustgraph`'s (``True``: a bar on a terminal or in Jupyter,
    timestamped lines in a log; a callable; a tqdm bar), counting rows as batches are
    read. Off by default: a reader is a building block whose caller (a writer, a pipeline)
    decides what to show; ``tg-connect dump`` shows it unless ``--no-progress``.

    Reading it never ends short in silence. A tail whose socket closes (cleanly or not) before
    ``max_rows`` / ``idle_timeout`` raises :class:`~tg_connect.errors.GatewayConnectionError`
    (at once, naming the flow, when the gateway refuses the flow); a core that does not exist
    raises :class:`~tg_connect.errors.NotFoundError`, and one whose body ends inside an item a
    ``GatewayConnectionError``. A gateway that stalls (stops sending on
    a query or core stream, or stops answering pings on a tail) raises
    :class:`~tg_connect.errors.GatewayTimeoutError` within about ``timeout`` seconds. The error's
    ``rows_read`` says how many rows had been yielded.
    """
    target = resolve_target(url, token, workspace=workspace, timeout=timeout, verify=tls_verify)
    return BulkClient(target).read_batches(
        kind,
        source=source,
        flow=flow,
        collection=collection,
        s=s,
        p=p,
        o=o,
        g=g,
        limit=limit,
        batch_size=batch_size,
        core_id=core_id,
        max_rows=max_rows,
        idle_timeout=idle_timeout,
        progress=progress,
    )


def read_trustgraph(
    kind: str = "triples",
    url: str | None = None,
    flow: str = "default",
    collection: str = "default",
    token: str | None = None,
    *,
    dtype_backend: DtypeBackend | None = None,
    source: ReadSource | None = None,
    workspace: str | None = None,
    s: str | Term | None = None,
    p: str | Term | None = None,
    o: str | Term | None = None,
    g: str | None = "*",
    limit: int | None = None,
    batch_size: int = DEFAULT_READ_BATCH,
    core_id: str | None = None,
    max_rows: int | None = None,
    idle_timeout: float | None = None,
    progress: ProgressArg = False,
    timeout: float = 60.0,
    tls_verify: bool = True,
) -> pd.DataFrame:
    """Read ``kind`` into a pandas DataFrame; the other parameters are :func:`read_batches`'s.

    ``progress`` is off by default, as for :func:`read_batches` and unlike
    :func:`to_trustgraph`: a read is a query whose answer is the point, often quick, and is
    quiet like pandas' ``read_*`` functions (no bar in a notebook's stored output, no lines in
    every script's log). ``progress=True`` shows how far a long read got (a bar on a terminal
    or in Jupyter, timestamped lines in a log); ``tg-connect dump`` shows it by default.

    ``dtype_backend="pyarrow"`` keeps Arrow types (``pd.ArrowDtype``) with no conversion.
    A read never returns short in silence: if it fails part way (a tail whose socket drops,
    a core cut inside an item, a stall), the error raised carries the rows read so far as
    ``partial`` (a ``pyarrow.Table``) and ``rows_read`` (see :class:`~tg_connect.errors.TgConnectError`).
    """
    table = collect(
        lambda: read_batches(
            kind,
            url,
            flow,
            collection,
            token,
            source=source,
            workspace=workspace,
            s=s,
            p=p,
            o=o,
            g=g,
            limit=limit,
            batch_size=batch_size,
            core_id=core_id,
            max_rows=max_rows,
            idle_timeout=idle_timeout,
            progress=progress,
            timeout=timeout,
            tls_verify=tls_verify,
        ),
        kind,
    )
    return to_pandas(table, dtype_backend)


def export_core(
    core_id: str,
    path: str | os.PathLike[str],
    url: str | None = None,
    token: str | None = None,
    *,
    workspace: str | None = None,
    timeout: float = 60.0,
    tls_verify: bool = True,
) -> CoreTransfer:
    """Stream the knowledge core ``core_id`` (triples and graph embeddings) to a msgpack file.

    The file appears only when the whole core has arrived: it is written under a temporary
    name next to ``path`` and renamed on success. A core that does not exist (the gateway
    sends an empty body) raises :class:`~tg_connect.errors.NotFoundError`; a body that ends
    inside an item, or a dropped connection,
    :class:`~tg_connect.errors.GatewayConnectionError`; a stall,
    :class:`~tg_connect.errors.GatewayTimeoutError` within about ``timeout``. On any error no
    file is left and an existing file at ``path`` is untouched.
    """
    target = resolve_target(url, token, workspace=workspace, timeout=timeout, verify=tls_verify)
    return bridge.run(aexport_core(target, core_id, path))


def import_core(
    core_id: str,
    source: str | os.PathLike[str] | None = None,
    url: str | None = None,
    token: str | None = None,
    *,
    triples: Any = None,
    graph_embeddings: Any = None,
    workspace: str | None = None,
    timeout: float = 60.0,
    tls_verify: bool = True,
) -> CoreTransfer:
    """Upload a knowledge core from a msgpack file, or from ``triples`` / ``graph_embeddings``
    tables (DataFrames or Arrow tables of those kinds' schemas)."""
    target = resolve_target(url, token, workspace=workspace, timeout=timeout, verify=tls_verify)
    return bridge.run(aimport_core(target, core_id, source, triples=triples, graph_embeddings=graph_embeddings))
