"""Hypothesis strategies for canonical tg_connect data (shared by the unit tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from tg_connect.protocol.terms import XSD_STRING

# Any text that UTF-8 can carry: quotes, backslashes, control characters, non-BMP, empty.
any_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
iri_chars = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Zs", "Zl", "Zp", "Cs"), exclude_characters='<>"{}|\\^` '
)
iris = st.builds(
    lambda scheme, rest: f"{scheme}:{rest}",
    st.sampled_from(["http", "https", "urn", "tag"]),
    st.text(iri_chars, min_size=1, max_size=20),
)
blank_ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
languages = st.sampled_from(["en", "en-GB", "fr", "zh-Hant-TW", "de"])
datatypes = st.sampled_from(
    ["http://www.w3.org/2001/XMLSchema#integer", "http://www.w3.org/2001/XMLSchema#date", "urn:dt:custom", XSD_STRING]
)


def literals() -> st.SearchStrategy[tuple[str, str, str | None, str | None]]:
    return st.one_of(
        st.builds(lambda v: ("literal", v, None, None), any_text),
        st.builds(lambda v, d: ("literal", v, d, None), any_text, datatypes),
        st.builds(lambda v, lang: ("literal", v, None, lang), any_text, languages),
    )


def wire_terms(depth: int = 2) -> st.SearchStrategy[dict]:
    base = st.one_of(
        st.builds(lambda i: {"t": "i", "i": i}, iris),
        st.builds(lambda d: {"t": "b", "d": d}, blank_ids),
        st.builds(lambda v: {"t": "l", "v": v}, any_text),
        st.builds(lambda v, d: {"t": "l", "v": v, "dt": d}, any_text, datatypes),
        st.builds(lambda v, lang: {"t": "l", "v": v, "ln": lang}, any_text, languages),
    )
    if depth == 0:
        return base
    inner = wire_terms(depth - 1)
    quoted = st.builds(
        lambda s, p, o: {"t": "t", "tr": {"s": s, "p": p, "o": o}},
        inner,
        st.builds(lambda i: {"t": "i", "i": i}, iris),
        inner,
    )
    return st.one_of(base, quoted)


def wire_triples() -> st.SearchStrategy[dict]:
    subjects = st.one_of(
        st.builds(lambda i: {"t": "i", "i": i}, iris),
        st.builds(lambda d: {"t": "b", "d": d}, blank_ids),
        st.builds(lambda v: {"t": "l", "v": v}, any_text),
        st.builds(
            lambda s, p, o: {"t": "t", "tr": {"s": s, "p": p, "o": o}},
            wire_terms(1),
            st.builds(lambda i: {"t": "i", "i": i}, iris),
            wire_terms(1),
        ),
    )
    predicates = st.one_of(
        st.builds(lambda i: {"t": "i", "i": i}, iris), st.builds(lambda d: {"t": "b", "d": d}, blank_ids)
    )
    graphs = st.one_of(st.none(), iris)

    def build(s: dict, p: dict, o: dict, g: str | None) -> dict:
        t = {"s": s, "p": p, "o": o}
        if g is not None:
            t["g"] = g
        return t

    return st.builds(build, subjects, predicates, wire_terms(2), graphs)
