"""How a message names the argument that changes things: a keyword in Python, a flag on the CLI.

Messages are written where a fault is found, deep in the library, but read by someone who typed
either Python or a command line. ``setting("extra_columns", "ignore")`` spells
``extra_columns="ignore"``; once the command line has called :func:`use_cli_spelling`, the same
call spells ``--extra-columns ignore``. The switch is process-wide on purpose: the pipeline runs
on the bridge's event-loop thread, where a context variable set by the caller is not seen, and a
process runs either the CLI or the caller's Python, never both.
"""

from __future__ import annotations

from collections.abc import Mapping

_NO_VALUE = object()
_flags: dict[str, str] | None = None  # None: Python spelling


def use_cli_spelling(flags: Mapping[str, str] | None = None) -> None:
    """Spell settings as command-line flags from now on, in this process.

    ``flags`` maps a keyword to its flag where the flag is not the keyword with dashes
    (``{"max_rows_per_second": "--rate"}``).
    """
    global _flags
    _flags = dict(flags or {})


def use_python_spelling() -> None:
    """Spell settings as Python keywords again (the default; tests switch back with it)."""
    global _flags
    _flags = None


def cli_spelling() -> bool:
    """Whether messages name command-line flags rather than Python keywords."""
    return _flags is not None


def setting(keyword: str, value: object = _NO_VALUE) -> str:
    """The argument ``keyword`` (set to ``value``, if given) as the caller writes it.

    Python: ``extra_columns="ignore"``, ``fail_fast=True``, ``core_id``. CLI:
    ``--extra-columns ignore``, ``--fail-fast``, ``--core-id``.
    """
    if _flags is None:
        if value is _NO_VALUE:
            return keyword
        shown = f'"{value}"' if isinstance(value, str) else repr(value)
        return f"{keyword}={shown}"
    flag = _flags.get(keyword) or "--" + keyword.replace("_", "-")
    if value is _NO_VALUE or value is True:
        return flag
    return f"{flag} {value}"
