"""Heavy modules imported on first use, so ``import tg_connect`` and ``tg-connect --help`` stay quick.

pandas alone takes longer to import than the rest of a small load; a command line job that
reads Turtle and sends it never needs it. A module that uses pandas in a few places binds
``pd = lazy_module("pandas")`` (with the real import under ``TYPE_CHECKING`` for mypy): the
first attribute read imports it. Annotations such as ``-> pd.DataFrame`` still resolve with
:func:`typing.get_type_hints`, which reads the attribute and so imports pandas then.

Unlike :class:`importlib.util.LazyLoader`, nothing is put in ``sys.modules`` before the real
import, so code that asks ``"pandas" in sys.modules`` (pyarrow does) is not misled.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name`` and imports it when an attribute is first read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)  # copy/pickle/inspect probes must not import the module
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r} ({state})>"


def lazy_module(name: str) -> Any:
    """A stand-in for ``import name`` that imports on first attribute access."""
    return LazyModule(name)
