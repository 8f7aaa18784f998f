"""File formats by name: which reader (and writer) a path's suffix, or a ``format=`` string, means.

Canonical names: ``parquet``, ``csv``, ``tsv``, ``jsonl``, ``nt`` (N-Triples), ``nq``
(N-Quads), ``ttl`` (Turtle), ``trig``. A trailing ``.gz``, ``.bz2`` or ``.zst`` marks a
compressed text file (not Parquet, which compresses internally).
"""

from __future__ import annotations

import os
from pathlib import PurePath

FORMATS: tuple[str, ...] = ("parquet", "csv", "tsv", "jsonl", "nt", "nq", "ttl", "trig")
RDF_FORMATS: tuple[str, ...] = ("nt", "nq", "ttl", "trig")
TEXT_FORMATS: tuple[str, ...] = ("csv", "tsv", "jsonl") + RDF_FORMATS

_ALIASES = {
    "parquet": "parquet",
    "pq": "parquet",
    "parq": "parquet",
    "csv": "csv",
    "tsv": "tsv",
    "tab": "tsv",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "json-lines": "jsonl",
    "jsonlines": "jsonl",
    "nt": "nt",
    "ntriples": "nt",
    "n-triples": "nt",
    "nq": "nq",
    "nquads": "nq",
    "n-quads": "nq",
    "ttl": "ttl",
    "turtle": "ttl",
    "trig": "trig",
}
COMPRESSIONS = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}


def normalise_format(name: str) -> str:
    """The canonical name of a format (``"turtle"`` -> ``"ttl"``); ``ValueError`` if unknown."""
    key = str(name).strip().lower().lstrip(".")
    try:
        return _ALIASES[key]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; expected one of {', '.join(FORMATS)}") from None


def split_suffix(path: str | os.PathLike[str]) -> tuple[str | None, str | None]:
    """``(format, compression)`` from a file name: ``a.nt.gz`` -> ``("nt", "gzip")``.

    The format is ``None`` when the suffix names none.
    """
    suffixes = [s.lower() for s in PurePath(os.fspath(path)).suffixes]
    compression = None
    if suffixes and suffixes[-1] in COMPRESSIONS:
        compression = COMPRESSIONS[suffixes.pop()]
    if not suffixes:
        return None, compression
    return _ALIASES.get(suffixes[-1].lstrip(".")), compression


def is_glob(text: str) -> bool:
    """Whether ``text`` is a glob pattern (``*``, ``?`` or ``[``)."""
    return any(c in text for c in "*?[")
