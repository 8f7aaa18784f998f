"""Writers: Arrow record batches into sinks, one module per format."""

from __future__ import annotations

from .parquet import write_parquet

__all__ = ["write_parquet"]
