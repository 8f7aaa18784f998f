"""Gateway terms <-> pyoxigraph terms, exactly, and one triple store per workspace+collection.

The wire can carry terms an RDF store refuses or changes: quoted triples and literals as
subjects, literals as predicates, IRIs oxigraph considers invalid (``"foo bar"``), blank node
ids it rejects, lone surrogates, unknown term types, missing positions. Oxigraph also
*changes* some terms it accepts: it lowercases language tags (``en-US`` -> ``en-us``) and
stores typed XSD literals by value, so ``"042"^^xsd:integer`` comes back as ``"42"``.

The local gateway promises that every term comes back as sent (modulo the literal
normalisation of :func:`tg_connect.protocol.terms.normalise_literal`: ``xsd:string`` and
``rdf:langString`` datatypes are implicit and not reported, which is also what the real
gateway's store sends). So:

* a term the store refuses or would change is stored as a reserved private IRI,
  ``urn:tg-connect:term:`` + the percent-encoded canonical JSON of the term, and decoded
  back on the way out (every IRI under ``urn:tg-connect:`` that a client sends is itself
  encoded this way, so nothing collides);
* a language tag is stored lowercase (oxigraph's form, so SPARQL keeps working) and its
  first-seen spelling is remembered per store; a later *different* spelling of the same tag
  is stored privately;
* typed literals in the XSD namespace are checked against oxigraph itself (a scratch
  in-memory store, once per distinct literal per import frame): if oxigraph would rewrite
  the lexical form, the literal is stored privately.

Native storage stays the common case, so a SPARQL service can be added later; private
terms are simply IRIs to it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring_ascii as _encode  # what json.dumps uses for str
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pyoxigraph as ox

from ...protocol.terms import RDF_LANG_STRING, XSD_STRING, normalise_literal
from ..front import wire

RESERVED = "urn:tg-connect:"
PRIVATE_TERM = RESERVED + "term:"
PRIVATE_GRAPH = RESERVED + "graph:"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
_IMPLICIT_DATATYPES = (XSD_STRING, RDF_LANG_STRING)
_CACHE_LIMIT = 200_000
_ORACLE_PREDICATE = ox.NamedNode(RESERVED + "oracle")

Node = Any  # ox.NamedNode | ox.BlankNode | ox.Literal (pyoxigraph has no exported union)


def canonical(raw: Any) -> Any:
    """The normalised wire form of a term (``None`` for an absent one); raises like the gateway."""
    if not raw:
        return None
    term = wire.term(raw)
    return _normalise(term)


def _normalise(term: dict[str, Any]) -> dict[str, Any]:
    kind = term["t"]
    if kind == "l":
        datatype, language = normalise_literal(term.get("dt"), term.get("ln"))
        out: dict[str, Any] = {"t": "l", "v": term["v"]}
        if datatype:
            out["dt"] = datatype
        if language:
            out["ln"] = language
        return out
    if kind == "t" and "tr" in term:
        inner = term["tr"]
        tr = {pos: _normalise(inner[pos]) for pos in ("s", "p", "o") if pos in inner}
        if "g" in inner:
            tr["g"] = inner["g"]
        return {"t": "t", "tr": tr}
    return term


def _private_iri(prefix: str, value: Any) -> ox.NamedNode:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return ox.NamedNode(prefix + quote(text, safe=""))


def _from_private(text: str) -> Any:
    value = json.loads(unquote(text))
    if value is None:
        return None
    return wire.term(value) if isinstance(value, dict) else value


class TermCodec:
    """Maps wire terms to store terms and back for one store (it owns the language spellings)."""

    def __init__(self, languages: dict[str, str] | None = None) -> None:
        self.languages: dict[str, str] = dict(languages or {})
        self.languages_changed = False
        self._iris: dict[str, ox.NamedNode] = {}
        self._datatypes: dict[str, ox.NamedNode | None] = {}
        self._graphs: dict[Any, ox.NamedNode] = {}
        self._oracle: dict[tuple[str, str], bool] = {}
        self._absent = _private_iri(PRIVATE_TERM, None)

    # -- wire -> store -------------------------------------------------------------------

    def quads(self, items: Iterable[Any], record: bool = True) -> list[ox.Quad]:
        """Store quads for a list of wire triples (raises like the gateway on malformed ones)."""
        out: list[ox.Quad] = []
        pending: list[tuple[int, Any, ox.Literal]] = []
        # One dict lookup per term picks its shape's fast path: no extra call per term.
        fast: dict[Any, Callable[[Any, bool], Node]] = {
            "i": self._fast_iri,
            "l": self._fast_literal,
            "b": self._fast_blank,
        }
        careful = self.node
        literal_cls = ox.Literal
        named_cls = ox.NamedNode
        quad = ox.Quad
        for t in items:
            s_raw = t.get("s")  # a non-mapping raises AttributeError, as in the real gateway
            p_raw = t.get("p")
            o_raw = t.get("o")
            try:
                s = (fast.get(s_raw.get("t"), careful) if type(s_raw) is dict else careful)(s_raw, record)
                p = (fast.get(p_raw.get("t"), careful) if type(p_raw) is dict else careful)(p_raw, record)
                o = (fast.get(o_raw.get("t"), careful) if type(o_raw) is dict else careful)(o_raw, record)
            except (ValueError, TypeError):
                # A term oxigraph refuses (e.g. a lone surrogate) or an unhashable term type: the
                # careful way, which raises as the gateway does if the term is malformed.
                s = self.node(s_raw, record)
                p = self.node(p_raw, record)
                o = self.node(o_raw, record)
            if type(s) is literal_cls:
                s = self.private(s_raw)
            if type(p) is not named_cls:
                p = self.private(p_raw)
            if type(o) is literal_cls and type(o_raw) is dict and not o_raw.get("ln"):
                dt = o_raw.get("dt")
                if type(dt) is str and dt.startswith(XSD_NS) and dt != XSD_STRING:
                    pending.append((len(out), o_raw, o))
            g = t.get("g")
            out.append(quad(s, p, o) if not g else quad(s, p, o, self.graph(g)))
        if pending:
            self._fix_non_canonical(out, pending)
        return out

    def _fast_iri(self, raw: dict[str, Any], record: bool) -> Node:
        """An IRI term (``"t": "i"``) without building the translated term; else :meth:`node`."""
        value = raw.get("i")
        if type(value) is str:
            node = self._iris.get(value)
            return node if node is not None else self._iri(value)
        return self.node(raw, record)

    def _fast_literal(self, raw: dict[str, Any], record: bool) -> Node:
        """A literal term (``"t": "l"``) without building the translated term; else :meth:`node`.

        XSD literals are returned as they are: :meth:`quads` checks them in one batch."""
        value = raw.get("v")
        if type(value) is str:
            language = raw.get("ln")
            if language:
                lit = self._language_literal(value, language, record)
                if lit is not None:
                    return lit
            else:
                datatype = raw.get("dt")
                if not datatype or datatype in _IMPLICIT_DATATYPES:
                    return ox.Literal(value)
                dt_node = self._datatype(datatype)
                if dt_node is not None:
                    return ox.Literal(value, datatype=dt_node)
        return self.node(raw, record)

    def _fast_blank(self, raw: dict[str, Any], record: bool) -> Node:
        """A blank node term (``"t": "b"``) without building the translated term; else :meth:`node`."""
        value = raw.get("d")
        if type(value) is str and value:
            return ox.BlankNode(value)
        return self.node(raw, record)

    def node(self, raw: Any, record: bool = False) -> Node:
        """The store term for any wire term (careful path; also used for query patterns)."""
        term = canonical(raw)
        if term is None:
            return self._absent
        kind = term["t"]
        try:
            if kind == "i" and type(term["i"]) is str:
                return self._iri(term["i"])
            if kind == "b" and type(term["d"]) is str:
                node = ox.BlankNode(term["d"])
                if node.value == term["d"]:
                    return node
            elif kind == "l" and type(term["v"]) is str:
                lit = self._literal(term, record)
                if lit is not None:
                    return lit
        except ValueError:
            pass
        return _private_iri(PRIVATE_TERM, term)

    def _literal(self, term: dict[str, Any], record: bool) -> ox.Literal | None:
        """The native literal for a canonical literal term (``None``: store it privately)."""
        value = term["v"]
        language = term.get("ln")
        if language is not None:
            return self._language_literal(value, language, record)
        datatype = term.get("dt")
        if datatype is None:
            return ox.Literal(value)
        dt_node = self._datatype(datatype)
        if dt_node is None:
            return None
        lit = ox.Literal(value, datatype=dt_node)
        # Oxigraph stores XSD literals by value: keep only those whose lexical form survives.
        if datatype.startswith(XSD_NS) and not self._canonical_literals([lit])[0]:
            return None
        return lit

    def private(self, raw: Any) -> ox.NamedNode:
        return _private_iri(PRIVATE_TERM, canonical(raw))

    def graph(self, g: Any) -> ox.NamedNode:
        node = self._graphs.get(g) if isinstance(g, str) else None
        if node is not None:
            return node
        try:
            if isinstance(g, str) and not g.startswith(RESERVED):
                node = ox.NamedNode(g)
        except ValueError:
            node = None
        if node is None:
            node = _private_iri(PRIVATE_GRAPH, g)
        if isinstance(g, str):
            if len(self._graphs) > _CACHE_LIMIT:
                self._graphs.clear()
            self._graphs[g] = node
        return node

    def _iri(self, value: str) -> ox.NamedNode:
        node: ox.NamedNode | None = None
        if not value.startswith(RESERVED):
            try:
                node = ox.NamedNode(value)
            except ValueError:
                node = None
        if node is None:
            node = _private_iri(PRIVATE_TERM, {"t": "i", "i": value})
        if len(self._iris) > _CACHE_LIMIT:
            self._iris.clear()
        self._iris[value] = node
        return node

    def _datatype(self, value: Any) -> ox.NamedNode | None:
        """The datatype IRI's store node (``None``: not a string or not a valid IRI)."""
        if type(value) is not str:
            return None
        if value in self._datatypes:
            return self._datatypes[value]
        node: ox.NamedNode | None = None
        if not value.startswith(RESERVED):
            try:
                node = ox.NamedNode(value)
            except ValueError:
                node = None
        if len(self._datatypes) > 10_000:
            self._datatypes.clear()
        self._datatypes[value] = node
        return node

    def _language_literal(self, value: str, language: Any, record: bool) -> ox.Literal | None:
        """A native language literal if its tag's spelling round-trips through this store."""
        if type(language) is not str:
            return None
        try:
            lit = ox.Literal(value, language=language)
        except ValueError:
            return None
        stored = lit.language
        if stored != language.lower():  # e.g. a direction suffix: not a plain tag
            return None
        known = self.languages.get(stored)
        if known is None:
            if record:
                self.languages[stored] = language
                self.languages_changed = True
            return lit
        return lit if known == language else None

    def _fix_non_canonical(self, quads: list[ox.Quad], pending: list[tuple[int, Any, ox.Literal]]) -> None:
        ok = self._canonical_literals([lit for _i, _raw, lit in pending])
        for (index, raw, _lit), fine in zip(pending, ok, strict=True):
            if not fine:
                q = quads[index]
                obj = self.private(raw)
                if isinstance(q.graph_name, ox.DefaultGraph):
                    quads[index] = ox.Quad(q.subject, q.predicate, obj)
                else:
                    quads[index] = ox.Quad(q.subject, q.predicate, obj, q.graph_name)

    def _canonical_literals(self, literals: list[ox.Literal]) -> list[bool]:
        """Whether oxigraph stores each literal unchanged; asks a scratch store (cached)."""
        result: list[bool | None] = []
        unknown: list[int] = []
        for i, lit in enumerate(literals):
            cached = self._oracle.get((lit.value, lit.datatype.value))
            result.append(cached)
            if cached is None:
                unknown.append(i)
        if unknown:
            scratch = ox.Store()
            scratch.extend(ox.Quad(ox.NamedNode(f"urn:i:{i}"), _ORACLE_PREDICATE, literals[i]) for i in unknown)
            seen: dict[int, bool] = {}
            for q in scratch:
                i = int(q.subject.value[6:])
                lit = literals[i]
                obj = q.object
                seen[i] = obj.value == lit.value and obj.datatype == lit.datatype
            if len(self._oracle) > _CACHE_LIMIT:
                self._oracle.clear()
            for i in unknown:
                fine = seen.get(i, False)
                result[i] = fine
                self._oracle[(literals[i].value, literals[i].datatype.value)] = fine
        return [bool(r) for r in result]

    # -- store -> wire -------------------------------------------------------------------

    def term_of(self, node: Node) -> Any:
        """The wire term of a store term (``None`` for an absent position)."""
        cls = type(node)
        if cls is ox.NamedNode:
            value = node.value
            if value.startswith(PRIVATE_TERM):
                return _from_private(value[len(PRIVATE_TERM) :])
            return {"t": "i", "i": value}
        if cls is ox.Literal:
            language = node.language
            if language:
                return {"t": "l", "v": node.value, "ln": self.languages.get(language, language)}
            datatype = node.datatype.value
            if datatype == XSD_STRING:
                return {"t": "l", "v": node.value}
            return {"t": "l", "v": node.value, "dt": datatype}
        if cls is ox.BlankNode:
            return {"t": "b", "d": node.value}
        raise ValueError(f"unexpected store term {node!r}")

    def term_json(self, node: Node) -> str | None:
        """:meth:`term_of` as JSON text, byte-identical to ``json.dumps(term_of(node))``."""
        cls = type(node)
        if cls is ox.NamedNode:
            value = node.value
            if value.startswith(PRIVATE_TERM):
                term = _from_private(value[len(PRIVATE_TERM) :])
                return None if term is None else json.dumps(term)
            return '{"t": "i", "i": ' + _encode(value) + "}"
        if cls is ox.Literal:
            language = node.language
            if language:
                return (
                    '{"t": "l", "v": '
                    + _encode(node.value)
                    + ', "ln": '
                    + _encode(self.languages.get(language, language))
                    + "}"
                )
            datatype = node.datatype.value
            if datatype == XSD_STRING:
                return '{"t": "l", "v": ' + _encode(node.value) + "}"
            return '{"t": "l", "v": ' + _encode(node.value) + ', "dt": ' + _encode(datatype) + "}"
        if cls is ox.BlankNode:
            return '{"t": "b", "d": ' + _encode(node.value) + "}"
        raise ValueError(f"unexpected store term {node!r}")

    def triple_json(self, q: ox.Quad) -> str:
        """:meth:`triple_of` as JSON text (no dict per triple on the streaming path)."""
        term_json = self.term_json
        parts = []
        for key, node in (('"s": ', q.subject), ('"p": ', q.predicate), ('"o": ', q.object)):
            text = term_json(node)
            if text is not None:
                parts.append(key + text)
        graph = q.graph_name
        if type(graph) is ox.NamedNode:
            value = graph.value
            if value.startswith(PRIVATE_GRAPH):
                parts.append('"g": ' + json.dumps(_from_private(value[len(PRIVATE_GRAPH) :])))
            else:
                parts.append('"g": ' + _encode(value))
        return "{" + ", ".join(parts) + "}"

    def triple_of(self, q: ox.Quad) -> dict[str, Any]:
        out: dict[str, Any] = {}
        term_of = self.term_of
        s = term_of(q.subject)
        if s is not None:
            out["s"] = s
        p = term_of(q.predicate)
        if p is not None:
            out["p"] = p
        o = term_of(q.object)
        if o is not None:
            out["o"] = o
        graph = q.graph_name
        if type(graph) is ox.NamedNode:
            value = graph.value
            out["g"] = _from_private(value[len(PRIVATE_GRAPH) :]) if value.startswith(PRIVATE_GRAPH) else value
        return out


class TripleStore:
    """One pyoxigraph store (on disk under ``path`` when given) plus its term codec."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        languages: dict[str, str] = {}
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
            side = self._languages_path()
            if side is not None and side.exists():
                languages = json.loads(side.read_text("utf-8"))
            self.store = ox.Store(str(path))
        else:
            self.store = ox.Store()
        self.codec = TermCodec(languages)

    def _languages_path(self) -> Path | None:
        return None if self.path is None else self.path.with_name(self.path.name + ".languages.json")

    def add(self, items: list[Any]) -> int:
        """Store a list of wire triples; raises (storing nothing) if one is malformed."""
        quads = self.prepare(items)
        self.store.extend(quads)
        return len(quads)

    def prepare(self, items: list[Any]) -> list[ox.Quad]:
        """The quads for ``items`` (raising on a malformed triple), ready for :meth:`commit`.

        Split from the insert so that the caller can run :meth:`commit` on another thread:
        pyoxigraph releases the GIL while inserting, so the next frame can be parsed and
        converted meanwhile.
        """
        quads = self.codec.quads(items, record=True)
        if self.codec.languages_changed:
            self._save_languages()
        return quads

    def commit(self, quads: list[ox.Quad]) -> None:
        self.store.extend(quads)

    def _save_languages(self) -> None:
        side = self._languages_path()
        self.codec.languages_changed = False
        if side is None:
            return
        fd, tmp = tempfile.mkstemp(dir=str(side.parent), prefix=".languages.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.codec.languages, f, ensure_ascii=True)
        os.replace(tmp, side)

    def pattern(self, s: Any, p: Any, o: Any, g: Any) -> tuple[Node, Node, Node, Any]:
        """Store pattern for wire query terms (``None`` = any); ``g`` per the triples query rules."""
        codec = self.codec
        sn = None if s is None else codec.node(s)
        pn = None if p is None else codec.node(p)
        on = None if o is None else codec.node(o)
        # The same position rules as when storing (see TermCodec.quads).
        if type(sn) is ox.Literal:
            sn = codec.private(s)
        if pn is not None and type(pn) is not ox.NamedNode:
            pn = codec.private(p)
        if g is None or g == "":
            gn: Any = ox.DefaultGraph()
        elif g == "*":
            gn = None
        else:
            gn = codec.graph(g)
        return sn, pn, on, gn

    def match(self, s: Any, p: Any, o: Any, g: Any) -> Iterator[dict[str, Any]]:
        """Lazily yield the wire triples matching a pattern (see :meth:`pattern`)."""
        sn, pn, on, gn = self.pattern(s, p, o, g)
        triple_of = self.codec.triple_of
        for q in self.store.quads_for_pattern(sn, pn, on, gn):
            yield triple_of(q)

    def match_json(self, s: Any, p: Any, o: Any, g: Any) -> Iterator[str]:
        """:meth:`match` with each triple as JSON text."""
        sn, pn, on, gn = self.pattern(s, p, o, g)
        triple_json = self.codec.triple_json
        for q in self.store.quads_for_pattern(sn, pn, on, gn):
            yield triple_json(q)

    def __len__(self) -> int:
        return len(self.store)

    def close(self) -> None:
        if self.path is not None:
            try:
                self.store.flush()
            except (AttributeError, OSError):
                pass
        del self.store

    def destroy(self) -> None:
        """Close and delete everything on disk."""
        path = self.path
        side = self._languages_path()
        self.close()
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)
        if side is not None and side.exists():
            side.unlink()
