"""RDF output (N-Triples, N-Quads, Turtle, TriG, RDF/XML) with pyoxigraph's streaming serialiser.

:func:`pyoxigraph.serialize` is handed a generator and writes as it consumes it, for every
format here, Turtle and TriG included (it groups consecutive triples with the same subject
and graph; it does not need the whole graph), so memory stays one batch. Rows are first
conformed to the canonical triples schema (so a plain ``s, p, o`` table works and every
term is checked), then turned into pyoxigraph terms:

* ``triple`` values (canonical quoted-triple JSON) become RDF 1.2 triple terms, written
  ``<<( s p o )>>``; RDF 1.2 allows them only as objects, so a quoted triple *subject* is an
  error naming the row;
* N-Triples, Turtle and RDF/XML have no named graphs: a row with ``g`` set is an error unless
  ``drop_graphs=True`` (then the triple is written into the default graph); use N-Quads or
  TriG to keep graphs;
* pyoxigraph lower-cases language tags (``en-US`` is written ``en-us``) and refuses IRIs and
  blank node ids that RDF syntax cannot carry (an error naming the row and column).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa
import pyoxigraph as ox

from ..errors import InputError
from ..protocol.conform import Conformer
from ..protocol.terms import BLANK, IRI, LITERAL, TRIPLE, parse_quoted_triple
from .base import Destination, WriteResult, as_reader, dest_name, is_file_object, open_output

RDF_FORMATS = {
    "nt": ox.RdfFormat.N_TRIPLES,
    "nq": ox.RdfFormat.N_QUADS,
    "ttl": ox.RdfFormat.TURTLE,
    "trig": ox.RdfFormat.TRIG,
    "rdfxml": ox.RdfFormat.RDF_XML,
}
_QUAD_FORMATS = ("nq", "trig")
_CACHE_LIMIT = 100_000


class _Terms:
    """Canonical flat terms -> pyoxigraph terms, with a bounded cache of IRIs."""

    def __init__(self) -> None:
        self.iris: dict[str, ox.NamedNode] = {}

    def iri(self, value: str) -> ox.NamedNode:
        node = self.iris.get(value)
        if node is None:
            if len(self.iris) >= _CACHE_LIMIT:
                self.iris.clear()
            node = self.iris[value] = ox.NamedNode(value)
        return node

    def term(self, kind: str, value: str, datatype: str | None = None, language: str | None = None) -> Any:
        if kind == IRI:
            return self.iri(value)
        if kind == LITERAL:
            if language:
                return ox.Literal(value, language=language)
            if datatype:
                return ox.Literal(value, datatype=self.iri(datatype))
            return ox.Literal(value)
        if kind == BLANK:
            return ox.BlankNode(value)
        if kind == TRIPLE:
            return self.triple(parse_quoted_triple(value))
        raise ValueError(f"unknown term kind {kind!r}")

    def wire(self, term: Mapping[str, Any]) -> Any:
        code = term["t"]
        if code == "i":
            return self.iri(term["i"])
        if code == "b":
            return ox.BlankNode(term["d"])
        if code == "l":
            return self.term(LITERAL, term["v"], term.get("dt"), term.get("ln"))
        return self.triple(term["tr"])

    def triple(self, inner: Mapping[str, Any]) -> ox.Triple:
        subject = self.wire(inner["s"])
        if isinstance(subject, (ox.Triple, ox.Literal)):
            raise ValueError("RDF 1.2 allows a quoted triple or literal only as an object")
        return ox.Triple(subject, self.wire(inner["p"]), self.wire(inner["o"]))


def write_rdf(
    reader: pa.RecordBatchReader,
    dest: Destination,
    *,
    format: str,
    drop_graphs: bool = False,
    prefixes: Mapping[str, str] | None = None,
    base_iri: str | None = None,
    compression: str | None = None,
) -> WriteResult:
    """Stream triples batches into an RDF file of ``format`` (``nt``, ``nq``, ``ttl``, ``trig``, ``rdfxml``).

    ``prefixes`` (``{"ex": "http://example.org/"}``) and ``base_iri`` shorten Turtle and TriG.
    See the module docstring for what each format can carry.
    """
    if format not in RDF_FORMATS:
        raise ValueError(f"not an RDF format: {format!r}; expected one of {', '.join(RDF_FORMATS)}")
    reader = as_reader(reader)
    name = dest_name(dest)
    quads = format in _QUAD_FORMATS
    conformer = Conformer("triples", source=name)
    counter = [0]

    def terms() -> Iterator[Any]:
        convert = _Terms()
        offset = 0
        for batch in reader:
            if batch.num_rows == 0:
                continue
            conformed = conformer.conform(batch, offset)
            conformed.raise_error()
            cols = conformed.batch.to_pydict()
            rows = zip(
                cols["s"],
                cols["s_type"],
                cols["p"],
                cols["o"],
                cols["o_type"],
                cols["o_datatype"],
                cols["o_language"],
                cols["g"],
                strict=True,
            )
            for i, (s, st, p, o, ot, odt, oln, g) in enumerate(rows):
                column = "s"
                try:
                    if st == TRIPLE:
                        raise ValueError("RDF 1.2 allows quoted triples only as objects, not as subjects")
                    subject = convert.term(st, s)
                    column = "p"
                    predicate = convert.iri(p)
                    column = "o"
                    obj = convert.term(ot, o, odt, oln)
                    column = "g"
                    if quads:
                        graph = convert.iri(g) if g else ox.DefaultGraph()
                        yield ox.Quad(subject, predicate, obj, graph)
                    else:
                        if g and not drop_graphs:
                            raise ValueError(
                                f"{_NAMES[format]} has no named graphs (write N-Quads or "
                                "TriG to keep them, or pass drop_graphs=True)"
                            )
                        yield ox.Triple(subject, predicate, obj)
                except (ValueError, TypeError) as exc:
                    raise InputError(
                        f"cannot be written as {_NAMES[format]}: {exc}", source=name, column=column, row=offset + i
                    ) from None
            offset += batch.num_rows
            counter[0] = offset

    with open_output(dest, compression) as out:
        ox.serialize(
            terms(), out, RDF_FORMATS[format], prefixes=dict(prefixes) if prefixes else None, base_iri=base_iri
        )
    return WriteResult(counter[0], [] if is_file_object(dest) else [name])


_NAMES = {"nt": "N-Triples", "nq": "N-Quads", "ttl": "Turtle", "trig": "TriG", "rdfxml": "RDF/XML"}
