"""``Api.bulk()`` / ``Api.async_bulk()``: the bulk layer bound to one gateway target.

The two classes have the same methods and signatures; the async one returns coroutines and
async iterators, the sync one runs them through the background-loop bridge. Each method takes
the parameters of its entry point (:func:`~tg_connect.to_trustgraph`,
:func:`~tg_connect.read_batches`, :func:`~tg_connect.read_trustgraph`), with the same names,
types and defaults, less those the target fixes (``url``, ``token``, ``workspace``,
``timeout``, ``tls_verify``); all but ``data`` and ``kind`` are keyword-only, and ``load``
shows no progress unless asked. ``tests/unit/test_bulk_signatures.py`` holds them to that.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .._lazy import lazy_module
from ..protocol.columns import ExtraColumns
from ..protocol.conform import OnError
from ..protocol.terms import Term
from ..target import Target
from ..transport import bridge
from .load import DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_BYTES, DEFAULT_RETRIES, DEFAULT_WAIT_TIMEOUT, Rate, Wait, aload
from .progress import ProgressArg
from .read import DEFAULT_READ_BATCH, ReadSource, aread_batches
from .report import LoadReport
from .tables import DtypeBackend, acollect, batch_reader, collect, to_pandas

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use: a load from the command line never needs pandas
    pd = lazy_module("pandas")


class AsyncBulkClient:
    """Bulk loads and reads against one target, for asyncio code."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def __repr__(self) -> str:
        return f"AsyncBulkClient({self.target.url!r})"

    async def load(
        self,
        data: Any,
        kind: str = "triples",
        *,
        flow: str = "default",
        collection: str = "default",
        progress: ProgressArg = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        on_error: OnError = "raise",
        columns: Mapping[str, str] | None = None,
        extra_columns: ExtraColumns = "error",
        document_id: str | None = None,
        dim: int | None = None,
        create_collection: bool = True,
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
        """As :func:`tg_connect.to_trustgraph`, to this client's target (no progress unless asked)."""
        return await aload(
            data,
            self.target,
            kind=kind,
            flow=flow,
            collection=collection,
            progress=progress,
            batch_size=batch_size,
            max_batch_bytes=max_batch_bytes,
            on_error=on_error,
            columns=columns,
            extra_columns=extra_columns,
            document_id=document_id,
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

    def read_batches(
        self,
        kind: str = "triples",
        *,
        flow: str = "default",
        collection: str = "default",
        source: ReadSource | None = None,
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
    ) -> AsyncIterator[pa.RecordBatch]:
        """As :func:`tg_connect.read_batches`, as an async iterator of record batches."""
        return aread_batches(
            self.target,
            kind,
            flow=flow,
            collection=collection,
            source=source,
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

    async def read(
        self,
        kind: str = "triples",
        *,
        flow: str = "default",
        collection: str = "default",
        source: ReadSource | None = None,
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
    ) -> pa.Table:
        """Everything :meth:`read_batches` yields, as one table. A read that fails part way
        raises with the rows read so far on the error (``partial``, ``rows_read``)."""
        return await acollect(
            self.read_batches(
                kind,
                flow=flow,
                collection=collection,
                source=source,
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
            ),
            kind,
        )


class BulkClient:
    """Bulk loads and reads against one target; the sync face of :class:`AsyncBulkClient`."""

    def __init__(self, target: Target) -> None:
        self._async = AsyncBulkClient(target)
        self.target = target

    def __repr__(self) -> str:
        return f"BulkClient({self.target.url!r})"

    def load(
        self,
        data: Any,
        kind: str = "triples",
        *,
        flow: str = "default",
        collection: str = "default",
        progress: ProgressArg = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        on_error: OnError = "raise",
        columns: Mapping[str, str] | None = None,
        extra_columns: ExtraColumns = "error",
        document_id: str | None = None,
        dim: int | None = None,
        create_collection: bool = True,
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
        """As :func:`tg_connect.to_trustgraph`, to this client's target (no progress unless asked)."""
        return bridge.run(
            self._async.load(
                data,
                kind,
                flow=flow,
                collection=collection,
                progress=progress,
                batch_size=batch_size,
                max_batch_bytes=max_batch_bytes,
                on_error=on_error,
                columns=columns,
                extra_columns=extra_columns,
                document_id=document_id,
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
        self,
        kind: str = "triples",
        *,
        flow: str = "default",
        collection: str = "default",
        source: ReadSource | None = None,
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
    ) -> pa.RecordBatchReader:
        """As :func:`tg_connect.read_batches`."""
        return batch_reader(
            bridge.iterate(
                self._async.read_batches(
                    kind,
                    flow=flow,
                    collection=collection,
                    source=source,
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
            ),
            kind,
        )

    def read(
        self,
        kind: str = "triples",
        *,
        flow: str = "default",
        collection: str = "default",
        source: ReadSource | None = None,
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
    ) -> pa.Table:
        """Everything :meth:`read_batches` yields, as one table. A read that fails part way
        raises with the rows read so far on the error (``partial``, ``rows_read``)."""
        return collect(
            lambda: self.read_batches(
                kind,
                flow=flow,
                collection=collection,
                source=source,
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
            ),
            kind,
        )

    def read_pandas(
        self,
        kind: str = "triples",
        *,
        flow: str = "default",
        collection: str = "default",
        dtype_backend: DtypeBackend | None = None,
        source: ReadSource | None = None,
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
    ) -> pd.DataFrame:
        """As :func:`tg_connect.read_trustgraph`: everything :meth:`read` returns, as a DataFrame."""
        return to_pandas(
            self.read(
                kind,
                flow=flow,
                collection=collection,
                source=source,
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
            ),
            dtype_backend,
        )
