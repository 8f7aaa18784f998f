"""The bulk layer: Arrow batches in and out of TrustGraph's bulk sockets, with reports."""

from .api import read_batches, read_trustgraph, to_trustgraph
from .client import AsyncBulkClient, BulkClient
from .load import aload
from .progress import Progress
from .read import aread_batches
from .report import LoadReport

__all__ = ["to_trustgraph", "read_trustgraph", "read_batches", "aload", "aread_batches",
           "LoadReport", "Progress", "BulkClient", "AsyncBulkClient"]
