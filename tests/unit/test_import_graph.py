"""The package's modules import each other without cycles, and none reaches into another
module's private names.

Read from the source with :mod:`ast`, so a cycle hidden by an import inside a function counts
as a cycle too (only imports under ``if TYPE_CHECKING:`` are left out: they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tg_connect"


@dataclass
class Module:
    name: str
    path: Path
    package: list[str]  # the package relative imports start from


def modules() -> dict[str, Module]:
    found: dict[str, Module] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
            package = parts
        else:
            package = parts[:-1]
        found[".".join(parts)] = Module(".".join(parts), path, package)
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def _base(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.package[: len(module.package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


@dataclass
class Imported:
    target: str  # a module of the package
    names: list[str]  # the names taken from it (empty for ``import x``)
    line: int


def imports(module: Module, known: dict[str, Module]) -> list[Imported]:
    tree = ast.parse(module.path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    found: list[Imported] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            base = _base(module, node)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in known:
                    found.append(Imported(submodule, [], node.lineno))
                elif base in known:
                    found.append(Imported(base, [alias.name], node.lineno))
        elif isinstance(node, ast.Import):
            found.extend(Imported(alias.name, [], node.lineno) for alias in node.names if alias.name in known)
    return [i for i in found if i.target != module.name]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    t = _Tarjan(edges)
    found: list[list[str]] = []
    for root in edges:
        if root in t.index:
            continue
        work = [t.visit(root)]
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in t.index:
                    work.append(t.visit(child))
                elif child in t.on_stack:
                    t.low[node] = min(t.low[node], t.index[child])
                continue
            work.pop()
            if work:
                t.low[work[-1][0]] = min(t.low[work[-1][0]], t.low[node])
            if t.low[node] == t.index[node]:
                component = t.pop_component(node)
                if len(component) > 1:
                    found.append(sorted(component))
    return found


class _Tarjan:
    """The bookkeeping of Tarjan's algorithm, so ``cycles`` reads as the walk itself."""

    def __init__(self, edges: dict[str, set[str]]) -> None:
        self.edges = edges
        self.index: dict[str, int] = {}
        self.low: dict[str, int] = {}
        self.stack: list[str] = []
        self.on_stack: set[str] = set()

    def visit(self, node: str) -> tuple[str, Iterator[str]]:
        """Number ``node``, push it, and return its frame for the work list (its children, sorted)."""
        self.index[node] = self.low[node] = len(self.index)
        self.stack.append(node)
        self.on_stack.add(node)
        return (node, iter(sorted(self.edges.get(node, ()))))

    def pop_component(self, root: str) -> list[str]:
        """Pop the stack down to ``root``, inclusive: one strongly connected component."""
        component = []
        while True:
            member = self.stack.pop()
            self.on_stack.discard(member)
            component.append(member)
            if member == root:
                return component


def test_the_graph_is_read() -> None:
    known = modules()
    edges = {name: {i.target for i in imports(m, known)} for name, m in known.items()}
    assert len(known) > 50
    assert "tg_connect.errors" in edges["tg_connect.bulk.load"]  # a plain relative import
    assert "tg_connect.protocol.messages" in edges["tg_connect.bulk.load"]  # ``from ..protocol import messages``


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    known = modules()
    edges = {name: {i.target for i in imports(m, known)} for name, m in known.items()}
    assert cycles(edges) == []


def test_no_private_names_taken_from_another_module() -> None:
    known = modules()
    reached = [
        f"{m.path.relative_to(PACKAGE.parent)}:{i.line}: {name} from {i.target}"
        for m in known.values()
        for i in imports(m, known)
        for name in i.names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert reached == []


def _private_attribute_reads(module: Module, known: dict[str, Module]) -> list[str]:
    """``mod._name`` where ``mod`` is a module of the package imported by this one."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"))
    aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _base(module, node)
            aliases.update(a.asname or a.name for a in node.names if f"{base}.{a.name}" in known)
        elif isinstance(node, ast.Import):
            aliases.update(a.asname or a.name for a in node.names if a.name in known)
    return [
        f"{module.path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in aliases
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
    ]


def test_no_private_names_read_from_another_module() -> None:
    known = modules()
    assert [hit for m in known.values() for hit in _private_attribute_reads(m, known)] == []
