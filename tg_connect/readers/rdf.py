"""RDF files (N-Triples, N-Quads, Turtle, TriG, RDF/XML) as sources of canonical triples batches.

Parsing is pyoxigraph's streaming parser (:func:`pyoxigraph.parse`); quads are gathered
``batch_size`` at a time into the columns of :data:`tg_connect.protocol.schemas.TRIPLES`
(the one reader with a per-row Python loop: the parser yields objects). Terms follow
:mod:`tg_connect.protocol.terms`:

* unlabelled blank nodes (Turtle's ``[]``) get ids that are the same on every read of the
  file (:class:`BlankIds`), not pyoxigraph's random ones;
* IRIs as given; relative ones (``<atom.h>``, ``rdf:about="thing"``) resolved against
  ``base_iri``, which is the file's own ``file://`` URI unless one is passed, as rapper,
  riot and rdflib do; blank node ids are the file's labels;
* literals normalised with :func:`~tg_connect.protocol.terms.normalise_literal` (``xsd:string``
  and ``rdf:langString`` are implicit); typed lexical forms are kept as written (``"042"``);
  pyoxigraph lower-cases language tags (``en-US`` -> ``en-us``; tags are case-insensitive);
* RDF 1.2 triple terms (``<<( s p o )>>``) are kind ``triple`` whose value is the canonical
  compact JSON of the inner triple (:func:`~tg_connect.protocol.terms.quoted_triple_text`);
  Turtle's reified ``<< s p o >>`` is RDF 1.2 sugar for a blank node with ``rdf:reifies``;
* the default graph is ``g`` null; a named graph is its IRI. A blank-node graph name (allowed
  in TriG) has no place in the schema and is an error.

A syntax error (and invalid UTF-8, or an escape such as ``\\ud800`` that is no character)
raises :class:`~tg_connect.errors.InputError` naming the file, and the line and column as
pyoxigraph reports them, after every triple before it was yielded (the error's ``row`` is
the number of triples before it). pyoxigraph's RDF/XML parser reports no position: the line
and column of an XML error (or of the IRI it quotes) are then found by reading the file again
with Python's XML parser, and said to come from it. That parser also checks an RDF/XML file
that pyoxigraph read to its end: pyoxigraph stops quietly at the end of a file cut short inside
its elements, which must not pass for a whole file. It stops the read even
with ``on_error="skip"``: after an error the parser may resume out of step (an unclosed
string swallows the next lines), so what it reads next cannot be trusted. Compressed files
(``.gz``, ``.bz2``, ``.zst``) are decompressed as they are read.
"""

from __future__ import annotations

import hashlib
import os
import re
import xml.parsers.expat
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyoxigraph as ox

from ..errors import InputError
from ..protocol import schemas
from ..protocol.terms import BLANK, IRI, LITERAL, TRIPLE, normalise_literal, quoted_triple_text
from .base import Source

# pyoxigraph's own statement of the position ("Parser error at line 12 column 41: ..."),
# given again as line and column by the error's attributes.
_PARSER_PREFIX = re.compile(r"^Parser error (?:at|between) [^:]*:\s*")

RDF_FORMATS = {
    "nt": ox.RdfFormat.N_TRIPLES,
    "nq": ox.RdfFormat.N_QUADS,
    "ttl": ox.RdfFormat.TURTLE,
    "trig": ox.RdfFormat.TRIG,
    "rdfxml": ox.RdfFormat.RDF_XML,
}
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def from_rdf(
    path: str | os.PathLike[str],
    batch_size: int,
    *,
    format: str,
    kind: str = "triples",
    base_iri: str | None = None,
    lenient: bool = False,
    compression: str | None = None,
) -> Source:
    """A source over an RDF file of ``format`` (``nt``, ``nq``, ``ttl``, ``trig``, ``rdfxml``).

    ``base_iri`` resolves relative IRIs; ``None`` (the default) is the file's own ``file://``
    URI (``file:///data/lv2/atom.ttl``), so ``<atom.h>`` there reads as
    ``file:///data/lv2/atom.h``. ``lenient=True`` skips some validation in the parser (IRIs...) for speed.
    ``compression`` is ``None`` (plain), ``"detect"`` (by suffix), or a pyarrow codec name.
    """
    name = os.fspath(path)
    rdf_format = _checked(name, kind, format, batch_size)
    base = base_iri if base_iri is not None else file_uri(name)

    def batches() -> Iterator[pa.RecordBatch]:
        bom, stream = _stream(name, compression)
        try:
            parser = _parser(name, stream, bom, rdf_format, base, lenient)
            rows = yield from _quads_to_batches(
                parser, batch_size, name, graphs=format in ("nq", "trig"), locate=_locator(format, name, compression)
            )
            if format == "rdfxml":
                _check_complete_xml(name, compression, rows)
        finally:
            if stream is not None:
                stream.close()

    return Source(name, batches, None)


def file_uri(path: str) -> str:
    """The ``file://`` URI of ``path`` (made absolute): the default base IRI of its relative IRIs."""
    return Path(path).resolve().as_uri()


def is_rdf_xml(path: str, compression: str | None = None) -> bool:
    """Whether the XML file ``path`` is RDF/XML: its root element is ``rdf:RDF``.

    Only the start of the file is read (up to the root element's start tag, at most 1 MB);
    a file that is not well-formed XML up to there is not RDF/XML.
    """
    found: list[bool] = []
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")

    def start(tag: str, attributes: Any) -> None:
        found.append(tag == f"{RDF_NS} RDF")
        raise StopIteration  # the root element is all we need

    parser.StartElementHandler = start
    try:
        with pa.input_stream(path, compression=compression) as f:
            for _ in range(16):
                block = f.read(65_536)
                parser.Parse(block, not block)
                if not block:
                    break
    except (StopIteration, xml.parsers.expat.ExpatError, OSError, pa.ArrowInvalid):
        pass
    return bool(found and found[0])


def _checked(name: str, kind: str, format: str, batch_size: int) -> ox.RdfFormat:
    """The pyoxigraph format of ``format``, once the file and the arguments are checked."""
    if schemas.normalise_kind(kind) != "triples":
        raise InputError(f"an RDF file holds triples; it cannot be loaded as {kind}", source=name)
    if format not in RDF_FORMATS:
        raise ValueError(f"not an RDF format: {format!r}; expected one of {', '.join(RDF_FORMATS)}")
    if not os.path.isfile(name):
        raise InputError("no such file", source=name)
    if os.path.getsize(name) == 0:
        raise InputError("empty file", source=name)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    return RDF_FORMATS[format]


def _stream(name: str, compression: str | None) -> tuple[bool, pa.NativeFile | None]:
    """Whether the file starts with a byte order mark, and the stream to parse when pyoxigraph
    cannot read the path itself (compressed, or that mark to skip)."""
    try:
        bom = _starts_with_bom(name, compression)
        return bom, pa.input_stream(name, compression=compression) if compression or bom else None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc}", source=name) from None


def _parser(
    name: str, stream: pa.NativeFile | None, bom: bool, rdf_format: ox.RdfFormat, base_iri: str | None, lenient: bool
) -> Any:
    """pyoxigraph's quad parser over ``stream``, or over the file ``name`` when there is none."""
    if stream is not None and bom:
        stream.read(len(_BOM))  # a byte order mark (Windows editors write one) is no text
    try:
        if stream is not None:
            return ox.parse(stream, rdf_format, base_iri=base_iri, lenient=lenient)
        return ox.parse(format=rdf_format, path=name, base_iri=base_iri, lenient=lenient)
    except SyntaxError as exc:
        raise _syntax_error(exc, name, 0) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot parse the file: {exc}", source=name) from None


def _quads_to_batches(
    quads: Any, batch_size: int, name: str, graphs: bool = True, locate: _Locate | None = None
) -> Generator[pa.RecordBatch, None, int]:
    """Canonical triples batches from pyoxigraph quads; ``graphs=False`` when the format has
    none (every ``g`` is then null without looking). ``locate`` finds where a syntax error
    is when the parser does not say (RDF/XML)."""
    quads = iter(quads)
    datatypes = _Datatypes()
    blanks = BlankIds(name)
    rows = 0
    while True:
        columns = _Columns()
        try:
            error = _fill(columns, quads, batch_size, graphs, datatypes, name, rows, blanks)
        except SyntaxError as exc:
            error = _syntax_error(exc, name, rows + len(columns.s), locate)
        except (OSError, ValueError) as exc:
            error = InputError(
                f"cannot read the file after {rows + len(columns.s)} triples: {exc}",
                source=name,
                row=rows + len(columns.s),
            )
        n = len(columns.s)
        if n or (rows == 0 and error is None):
            yield columns.batch()
        rows += n
        if error is not None:
            raise error
        if n < batch_size:
            return rows


class _Columns:
    """The columns of one batch of triples, as Python lists."""

    def __init__(self) -> None:
        self.s: list[str] = []
        self.s_type: list[str] = []
        self.p: list[str] = []
        self.o: list[str] = []
        self.o_type: list[str] = []
        self.o_dt: list[str | None] = []
        self.o_ln: list[str | None] = []
        self.g: list[str | None] = []

    def drop_last(self) -> None:
        """Forget the last row's terms (all but ``g``, which it never got)."""
        del self.s[-1], self.s_type[-1], self.p[-1], self.o[-1], self.o_type[-1], self.o_dt[-1], self.o_ln[-1]

    def batch(self) -> pa.RecordBatch:
        n = len(self.s)
        iri = pa.array([IRI] * n, pa.string()) if n else pa.array([], pa.string())
        return pa.RecordBatch.from_arrays(
            [
                pa.array(self.s, pa.string()),
                pa.array(self.s_type, pa.string()),
                pa.array(self.p, pa.string()),
                iri,
                pa.array(self.o, pa.string()),
                pa.array(self.o_type, pa.string()),
                pa.array(self.o_dt, pa.string()),
                pa.array(self.o_ln, pa.string()),
                pa.array(self.g, pa.string()),
            ],
            schema=schemas.TRIPLES,
        )


# pyoxigraph names a blank node the file leaves unlabelled (Turtle's ``[]``, an RDF/XML node
# without rdf:nodeID) with 128 random bits in hexadecimal (no leading zeros): another id on
# every parse. A label of 24 or more hex digits in a file is taken for one too (consistently).
_GENERATED_BLANK = re.compile(r"[0-9a-f]{24,32}")
_BLANK_WINDOW = 100_000


class BlankIds(dict[str, str]):
    """Blank node ids as loaded: the file's own labels as they are, and the ids pyoxigraph
    generates at random for unlabelled ones replaced by ids that are the same on every read
    of the file: a stem from the file's path and a count in order of appearance
    (``g1a2b3c4d5e6n0``, ``...n1``). Reading a file twice then gives the same triples, so a
    rerun with a checkpoint knows its messages (and does not store its unlabelled nodes twice).

    An unlabelled node's id occurs only within the statement that makes it, so only the last
    100,000 are remembered.
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        self.stem = "g" + hashlib.blake2b(file_uri(path).encode(), digest_size=6).hexdigest() + "n"
        self.count = 0

    def __missing__(self, value: str) -> str:
        if _GENERATED_BLANK.fullmatch(value) is None:
            return value
        if len(self) >= _BLANK_WINDOW:
            del self[next(iter(self))]
        label = self[value] = f"{self.stem}{self.count}"
        self.count += 1
        return label


class _Datatypes(dict[str, str | None]):
    """Datatype IRI -> its normalised form (``None`` for the implicit ones), worked out once."""

    def __missing__(self, datatype: str) -> str | None:
        normalised = self[datatype] = normalise_literal(datatype, None)[0]
        return normalised


# The kind of each pyoxigraph term class.
_TERM_KINDS: dict[type, str] = {ox.NamedNode: IRI, ox.BlankNode: BLANK, ox.Literal: LITERAL, ox.Triple: TRIPLE}


def _fill(
    columns: _Columns,
    quads: Iterator[Any],
    batch_size: int,
    graphs: bool,
    datatypes: _Datatypes,
    name: str,
    rows: int,
    blanks: BlankIds | None = None,
) -> InputError | None:
    """Add up to ``batch_size`` quads' terms to ``columns``; the error (a blank node graph name)
    that stops the read before the quads run out, if any.

    The one per-row Python loop of the readers: the methods it calls are bound once, and a
    term's kind is a lookup by its class, not a chain of tests.
    """
    s_add, st_add, p_add = columns.s.append, columns.s_type.append, columns.p.append
    o_add, ot_add, dt_add, ln_add = columns.o.append, columns.o_type.append, columns.o_dt.append, columns.o_ln.append
    g_add, size = columns.g.append, columns.s.__len__
    kinds, named, default_graph = _TERM_KINDS, ox.NamedNode, ox.DefaultGraph
    ids = blanks if blanks is not None else BlankIds(name)

    def other(term: Any, kind: str) -> str:  # neither an IRI nor a literal
        return _quoted(term) if kind is TRIPLE else ids[term.value]

    for quad in quads:
        subject = quad.subject
        kind = kinds[type(subject)]
        s_add(subject.value if kind is IRI else other(subject, kind))
        st_add(kind)
        p_add(quad.predicate.value)
        obj = quad.object
        kind = kinds[type(obj)]
        o_add(obj.value if kind is IRI or kind is LITERAL else other(obj, kind))
        ot_add(kind)
        if kind is LITERAL:
            language = obj.language
            dt_add(None if language else datatypes[obj.datatype.value])
            ln_add(language or None)
        else:
            dt_add(None)
            ln_add(None)
        if graphs:
            graph = quad.graph_name
            if type(graph) is default_graph:
                g_add(None)
            elif type(graph) is named:
                g_add(graph.value)
            else:
                columns.drop_last()
                return InputError(
                    f"a blank node graph name (_:{graph.value}) cannot be loaded: graphs are named by IRIs",
                    source=name,
                    column="g",
                    row=rows + size(),
                )
        else:
            g_add(None)
        if size() == batch_size:
            break
    return None


_BOM = b"\xef\xbb\xbf"


def _starts_with_bom(name: str, compression: str | None) -> bool:
    with pa.input_stream(name, compression=compression) as f:
        return bool(f.read(len(_BOM)) == _BOM)


def _syntax_error(exc: SyntaxError, name: str, row: int, locate: _Locate | None = None) -> InputError:
    """An :class:`InputError` naming the file, and the line and column as pyoxigraph reports
    them (1-based, as an editor shows them), else as ``locate`` finds them; ``row`` (the
    number of triples before it) is the error's attribute, not in its text, where it would
    read as a line number."""
    message = str(exc.msg if exc.msg else exc)
    detail = _PARSER_PREFIX.sub("", message) or message
    if exc.lineno:
        where = f" at line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
    else:
        detail = message
        found = locate(message) if locate is not None else None
        where = f" at line {found[0]}, column {found[1]} (as Python's XML parser places it)" if found else ""
    error = InputError(f"RDF syntax error{where}: {detail}", source=name)
    error.row = row
    return error


_Locate = Callable[[str], "tuple[int, int] | None"]
# An IRI that pyoxigraph's RDF/XML parser quotes in its message ("error while parsing IRI 'x y': ...").
_QUOTED_IRI = re.compile(r"IRI '([^']*)'")


def _locator(format: str, name: str, compression: str | None) -> _Locate | None:
    """How to find a syntax error's place in ``name`` when the parser does not say (RDF/XML)."""
    if format != "rdfxml":
        return None
    return lambda message: xml_position(name, compression, message)


def xml_position(name: str, compression: str | None, message: str) -> tuple[int, int] | None:
    """Where in the XML file ``name`` the first fault is, 1-based ``(line, column)``: the first
    element with an attribute holding the IRI ``message`` quotes, or the first XML error
    (not well-formed, an unbound prefix), whichever comes first; ``None`` if neither."""
    quoted = _QUOTED_IRI.search(message)
    wanted = quoted.group(1) if quoted else None
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    found: list[tuple[int, int]] = []

    def start(tag: str, attributes: dict[str, str]) -> None:
        if wanted is not None and wanted in attributes.values():
            found.append((parser.CurrentLineNumber, parser.CurrentColumnNumber + 1))
            raise StopIteration

    parser.StartElementHandler = start
    try:
        with pa.input_stream(name, compression=compression) as f:
            while block := f.read(1 << 20):
                parser.Parse(block, False)
            parser.Parse(b"", True)
    except StopIteration:
        return found[0]
    except xml.parsers.expat.ExpatError as exc:
        return exc.lineno, exc.offset + 1
    except (OSError, pa.ArrowInvalid):
        return None
    return None


def _check_complete_xml(name: str, compression: str | None, rows: int) -> None:
    """Raise an :class:`InputError` when the RDF/XML file ``name`` is not well-formed XML to its
    end. pyoxigraph's RDF/XML parser stops without complaint at the end of a file cut short
    inside its elements (a truncated download): the ``rows`` triples it read are loaded, and
    this says the file is incomplete rather than letting it pass for whole."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    try:
        with pa.input_stream(name, compression=compression) as f:
            while block := f.read(1 << 20):
                parser.Parse(block, False)
            parser.Parse(b"", True)
    except xml.parsers.expat.ExpatError as exc:
        reason = xml.parsers.expat.ErrorString(exc.code)
        error = InputError(
            f"RDF syntax error at line {exc.lineno}, column {exc.offset + 1} (as Python's XML parser places it):"
            f" {reason} (the file is not complete XML; cut short?)",
            source=name,
        )
        error.row = rows
        raise error from None
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(f"cannot read the file: {exc}", source=name) from None


def _quoted(triple: Any) -> str:
    """A pyoxigraph triple term -> the canonical compact JSON text of its inner triple."""
    return quoted_triple_text({"s": _wire(triple.subject), "p": _wire(triple.predicate), "o": _wire(triple.object)})


def _wire(term: Any) -> dict[str, Any]:
    kind = type(term)
    if kind is ox.NamedNode:
        return {"t": "i", "i": term.value}
    if kind is ox.BlankNode:
        return {"t": "b", "d": term.value}
    if kind is ox.Literal:
        out: dict[str, Any] = {"t": "l", "v": term.value}
        datatype, language = normalise_literal(term.datatype.value, term.language)
        if datatype:
            out["dt"] = datatype
        if language:
            out["ln"] = language
        return out
    return {"t": "t", "tr": {"s": _wire(term.subject), "p": _wire(term.predicate), "o": _wire(term.object)}}
