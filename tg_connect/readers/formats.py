"""File formats by name: which reader (and writer) a path's suffix, or a ``format=`` string, means.

Canonical names: ``parquet``, ``csv``, ``tsv``, ``jsonl``, ``nt`` (N-Triples), ``nq``
(N-Quads), ``ttl`` (Turtle), ``trig``, ``rdfxml`` (RDF/XML). ``format=`` also takes the
usual other names (``turtle``, ``n-triples``, ``ndjson``, ``rdf/xml``, ``owl``...) and media
types (``text/turtle``, ``application/rdf+xml``...); :data:`FORMAT_NAMES` lists them all.
A trailing ``.gz``, ``.bz2`` or ``.zst`` marks a compressed text file (not Parquet, which
compresses internally). A ``.xml`` file is RDF/XML only when its root element is ``rdf:RDF``
(:func:`tg_connect.readers.rdf.is_rdf_xml` looks); ``.rdf`` and ``.owl`` files are RDF/XML.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from ..errors import InputError
from ..wording import setting

FORMATS: tuple[str, ...] = ("parquet", "csv", "tsv", "jsonl", "nt", "nq", "ttl", "trig", "rdfxml")
RDF_FORMATS: tuple[str, ...] = ("nt", "nq", "ttl", "trig", "rdfxml")
TEXT_FORMATS: tuple[str, ...] = ("csv", "tsv", "jsonl") + RDF_FORMATS

# Suffixes and other names -> the canonical name.
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
    "rdfxml": "rdfxml",
    "rdf/xml": "rdfxml",
    "rdf-xml": "rdfxml",
    "rdf+xml": "rdfxml",
    "rdf": "rdfxml",
    "owl": "rdfxml",
    "xml": "rdfxml",
}
# Media types -> the canonical name (parameters such as "; charset=utf-8" are dropped).
_MEDIA_TYPES = {
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/parquet": "parquet",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/x-ndjson": "jsonl",
    "application/ndjson": "jsonl",
    "application/n-triples": "nt",
    "application/n-quads": "nq",
    "text/turtle": "ttl",
    "application/x-turtle": "ttl",
    "application/trig": "trig",
    "application/x-trig": "trig",
    "application/rdf+xml": "rdfxml",
}
FORMAT_NAMES: tuple[str, ...] = tuple(_ALIASES) + tuple(_MEDIA_TYPES)

# The suffixes that name a format only when the file's content agrees (sniffed).
SNIFFED_SUFFIXES = {".xml": "rdfxml"}

# The read options each format's reader takes (the rest are left to the other formats' files).
READ_OPTIONS: dict[str, frozenset[str]] = {
    "parquet": frozenset(),
    "csv": frozenset({"delimiter", "quote_char", "column_names", "block_size", "compression"}),
    "tsv": frozenset({"delimiter", "quote_char", "column_names", "block_size", "compression"}),
    "jsonl": frozenset({"block_size", "compression"}),
    **{f: frozenset({"base_iri", "lenient", "compression"}) for f in RDF_FORMATS},
}
COMPRESSIONS = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}


def normalise_format(name: str) -> str:
    """The canonical name of a format (``"turtle"`` -> ``"ttl"``, ``"application/rdf+xml"`` ->
    ``"rdfxml"``); an :class:`~tg_connect.errors.InputError` listing the names taken if unknown."""
    key = str(name).strip().lower()
    if "/" in key and key.split(";")[0].strip() in _MEDIA_TYPES:
        return _MEDIA_TYPES[key.split(";")[0].strip()]
    found = _ALIASES.get(key.lstrip("."))
    if found is None:
        raise InputError(
            f"unknown {setting('format')} {name!r}: expected one of {', '.join(FORMATS)}"
            f" (also {', '.join(n for n in FORMAT_NAMES if n not in FORMATS)})"
        )
    return found


def check_read_options(options: Mapping[str, Any]) -> None:
    """An :class:`~tg_connect.errors.InputError` naming any read option no reader takes."""
    known = frozenset().union(*READ_OPTIONS.values())
    unknown = sorted(set(options) - known)
    if unknown:
        raise InputError(f"unknown read options {unknown}: the readers take {', '.join(sorted(known))}")


def options_for(fmt: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The read options that the reader of ``fmt`` takes (a ``base_iri`` is for RDF files only,
    a ``delimiter`` for CSV files: a directory of both takes both)."""
    taken = READ_OPTIONS.get(fmt, frozenset())
    return {k: v for k, v in options.items() if k in taken}


def split_suffix(path: str | os.PathLike[str]) -> tuple[str | None, str | None]:
    """``(format, compression)`` from a file name: ``a.nt.gz`` -> ``("nt", "gzip")``.

    The format is ``None`` when the suffix names none. A ``.xml`` file gives ``"rdfxml"``
    here; readers check its root element first (:data:`SNIFFED_SUFFIXES`).
    """
    suffixes = [s.lower() for s in PurePath(os.fspath(path)).suffixes]
    compression = None
    if suffixes and suffixes[-1] in COMPRESSIONS:
        compression = COMPRESSIONS[suffixes.pop()]
    if not suffixes:
        return None, compression
    return _ALIASES.get(suffixes[-1].lstrip(".")), compression


def sniffed_suffix(path: str | os.PathLike[str]) -> str | None:
    """The suffix of ``path`` (``.xml``) whose format the content must confirm, or ``None``."""
    suffixes = [s.lower() for s in PurePath(os.fspath(path)).suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes.pop()
    return suffixes[-1] if suffixes and suffixes[-1] in SNIFFED_SUFFIXES else None


def is_glob(text: str) -> bool:
    """Whether ``text`` is a glob pattern (``*``, ``?`` or ``[``)."""
    return any(c in text for c in "*?[")
