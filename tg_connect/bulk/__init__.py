"""The bulk layer: Arrow batches in and out of TrustGraph's bulk sockets, with reports.

The names below are imported on first use (PEP 562), so importing a submodule, such as the
``df.tg`` accessor that pandas loads, does not pull in the sockets and pyarrow with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import export_core, import_core, read_batches, read_trustgraph, to_trustgraph
    from .client import AsyncBulkClient, BulkClient
    from .cores import CoreTransfer
    from .load import aload
    from .progress import LogLines, Progress
    from .read import aread_batches
    from .report import LoadReport

__all__ = [
    "to_trustgraph",
    "read_trustgraph",
    "read_batches",
    "aload",
    "aread_batches",
    "LoadReport",
    "Progress",
    "LogLines",
    "BulkClient",
    "AsyncBulkClient",
    "export_core",
    "import_core",
    "CoreTransfer",
]

_WHERE = {
    "to_trustgraph": ".api",
    "read_trustgraph": ".api",
    "read_batches": ".api",
    "export_core": ".api",
    "import_core": ".api",
    "aload": ".load",
    "aread_batches": ".read",
    "LoadReport": ".report",
    "Progress": ".progress",
    "LogLines": ".progress",
    "BulkClient": ".client",
    "AsyncBulkClient": ".client",
    "CoreTransfer": ".cores",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
