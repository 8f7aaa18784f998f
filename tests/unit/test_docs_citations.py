"""Citations of the protocol document resolve: code, tests, bench and docs cite
``docs/protocol.md`` by sections that exist in it, nothing cites a file outside this
repository, and no message a user sees (an exception, a warning, a log line, CLI output) cites
a document at all."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "docs/protocol.md"
SCANNED = ("tg_connect", "tests", "bench", "docs", "notebooks", "README.md")

# Split so that this file does not match itself.
OUTSIDE = re.compile(r"\.\./" + "shared" + r"|/work/" + "shared")
MENTION = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*)protocol\.md")
# What follows a mention: "4.4", "section 8", "sections 4-7", "3.2, 5.3", "§ 5".
SECTIONS = re.compile(r"\s*(?:sections?\s+|§\s*)?(\d+(?:\.\d+)*(?:\s*(?:-|–|,|and)\s*\d+(?:\.\d+)*)*)")
HEADING = re.compile(r"^## (\d+)\. \S")
SUBSECTION = re.compile(r"^(\d+)\.(\d+) \*\*")


def scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for p in candidates:
            if "__pycache__" in p.parts or ".ipynb_checkpoints" in p.parts:
                continue
            data = p.read_bytes()
            if b"\0" in data:
                continue  # binary (Parquet samples and the like)
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            files.append(p)
    return files


def sections() -> set[str]:
    """The section numbers of docs/protocol.md, checked to run 1, 2, ... without gaps."""
    found: set[str] = set()
    top = 0
    sub = 0
    for line in PROTOCOL.read_text(encoding="utf-8").splitlines():
        heading = HEADING.match(line)
        if heading:
            number = int(heading.group(1))
            assert number == top + 1, f"docs/protocol.md: section {number} follows {top}"
            top, sub = number, 0
            found.add(str(number))
            continue
        subsection = SUBSECTION.match(line)
        if subsection:
            parent, number = int(subsection.group(1)), int(subsection.group(2))
            assert parent == top and number == sub + 1, f"docs/protocol.md: {parent}.{number} follows {top}.{sub}"
            sub = number
            found.add(f"{parent}.{number}")
    return found


def cited(text: str) -> list[str]:
    """Section numbers in one citation's text ("4-7" expands to 4, 5, 6, 7)."""
    out: list[str] = []
    for part in re.split(r"\s*(?:,|and)\s*", text):
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and all(b.isdigit() for b in bounds):
            out.extend(str(n) for n in range(int(bounds[0]), int(bounds[1]) + 1))
        else:
            out.extend(bounds)
    return out


def citations() -> list[tuple[str, int, str, list[str]]]:
    """Every mention of the protocol document: (file, line, the path written before its name,
    sections cited)."""
    found = []
    for path in scanned_files():
        text = path.read_text(encoding="utf-8")
        for match in MENTION.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            after = SECTIONS.match(text, match.end())
            numbers = cited(after.group(1)) if after else []
            found.append((str(path.relative_to(ROOT)), line, match.group(1), numbers))
    return found


def test_the_protocol_document_has_numbered_sections() -> None:
    numbers = sections()
    assert {str(n) for n in range(1, 13)} <= numbers  # routes ... metrics
    assert {"4.2", "4.4", "5.4", "5.5", "8.3", "8.5"} <= numbers


def test_every_citation_names_docs_protocol_md_and_a_section_that_exists() -> None:
    numbers = sections()
    found = citations()
    with_sections = [c for c in found if c[3]]
    # The code, the tests and the bench cite it in many places; a scan that finds few is broken.
    assert len(with_sections) >= 20, with_sections
    assert len({n for c in with_sections for n in c[3]}) >= 12
    assert any(f == "tg_connect/protocol/mux.py" and "5.4" in n for f, _, _, n in found)
    wrong_path = [
        f"{f}:{line}: written with {prefix!r} before the name"
        for f, line, prefix, _ in found
        if prefix != "docs/" and not (f.startswith("docs/") and prefix == "")
    ]
    assert wrong_path == [], "cite it as docs/protocol.md"
    unresolved = [f"{f}:{line}: {n}" for f, line, _, ns in found for n in ns if n not in numbers]
    assert unresolved == [], "sections not in docs/protocol.md"


def test_cross_references_inside_the_document_resolve() -> None:
    numbers = sections()
    refs = [
        n
        for group in re.findall(r"\((\d+(?:\.\d+)?(?:, \d+(?:\.\d+)?)*)\)", PROTOCOL.read_text("utf-8"))
        for n in cited(group)
        if int(n.split(".")[0]) < 100
    ]  # (401) is a status, not a section
    assert len(refs) >= 20
    assert [n for n in refs if n not in numbers] == []


def test_the_citation_parser() -> None:
    assert cited("4.4") == ["4.4"]
    assert cited("4-7") == ["4", "5", "6", "7"]
    assert cited("3.2, 5.3") == ["3.2", "5.3"]
    assert SECTIONS.match(" sections 4-5)") is not None
    assert SECTIONS.match(" section 10)").group(1) == "10"  # type: ignore[union-attr]
    assert SECTIONS.match(": the gateway") is None and SECTIONS.match(". See") is None
    assert SECTIONS.match(" 5.3, 6.5).").group(1) == "5.3, 6.5"  # type: ignore[union-attr]
    assert SECTIONS.match(" 8.2.").group(1) == "8.2"  # type: ignore[union-attr]
    assert SECTIONS.match(" 4.4.1 x").group(1) == "4.4.1"  # type: ignore[union-attr]  # then unresolved


def test_nothing_cites_a_path_outside_the_repository() -> None:
    files = scanned_files()
    assert len(files) > 100 and PROTOCOL in files
    outside = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(line):
                outside.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert outside == []


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def test_no_message_cites_a_document() -> None:
    """Strings in the package other than docstrings are what users see: they state facts
    instead of pointing at a document the installed package does not ship."""
    document = re.compile(r"protocol\.md|docs/|\.\./" + "shared" + r"|/work/" + "shared")
    offenders = []
    strings = 0
    for path in sorted((ROOT / "tg_connect").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                strings += 1
                if document.search(node.value):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:80]!r}")
    assert strings > 1000  # the walk saw the package's strings
    assert offenders == []
