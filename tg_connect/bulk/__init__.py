"""The bulk layer: Arrow batches in and out of TrustGraph's bulk sockets, with reports."""

from . import accessor as _accessor  # noqa: F401  (registers df.tg)
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
