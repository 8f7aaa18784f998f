"""The ``df.tg`` accessor: ``df.tg.to_trustgraph(...)``, registered once both pandas and tg_connect
are imported, in either order (see ``tg_connect/__init__.py``).

``df.pipe(tg_connect.to_trustgraph, ...)`` works too, since the data is the first parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from .report import LoadReport


@pd.api.extensions.register_dataframe_accessor("tg")
class TrustGraphAccessor:
    """TrustGraph methods on a DataFrame."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def to_trustgraph(self, kind: str = "triples", **options: Any) -> LoadReport:
        """Load this DataFrame; options as for :func:`tg_connect.to_trustgraph`."""
        from .api import to_trustgraph

        return to_trustgraph(self._frame, kind, **options)
