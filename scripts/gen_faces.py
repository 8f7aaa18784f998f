#!/usr/bin/env python3
"""Generate the async faces' typed methods from the service registry, then the sync faces.

    python scripts/gen_faces.py           # rewrite flow/core.py's registry blocks, then run gen_sync
    python scripts/gen_faces.py --check   # exit 1, naming the stale files, if any is out of date

A builder in ``tg_connect/protocol/builders/`` registered with ``@method(face)`` (see
``tg_connect/protocol/registry.py``) becomes a method of that face's async class in
``tg_connect/flow/core.py``, written between the class's two registry markers:

* with the builder's parameters, defaults and docstring, copied from its source, and the
  result formatted by ``ruff format`` as the rest of the repository is;
* ``Call[C, R]`` builders return ``R`` (``async def``, awaited through ``Face._result``);
* a builder with a keyword ``streaming: bool = False`` gets the three overloads every
  streaming method has (``Awaitable[R]``, ``ChunkStream[C]``, either) and goes through
  ``Face._dispatch``.

Builders registered with ``generated=False`` have a hand-written face method (it does more
than send the call); this script leaves them alone and ``tests/unit/test_registry.py`` checks
they exist. The sync faces are then generated from the async module by ``gen_sync.py``, so a
new builder gets its async, sync, REST and socket faces from one registration.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import difflib
import importlib.util
import inspect
import re
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python scripts/gen_faces.py"
TARGET = "tg_connect/flow/core.py"
# The registry's face names and the async classes that carry them.
FACE_CLASSES = {
    "flow-instance": "AsyncFlowInstance",
    "config": "AsyncConfig",
    "library": "AsyncLibrary",
    "knowledge": "AsyncKnowledge",
    "collection": "AsyncCollection",
    "flow": "AsyncFlow",
    "iam": "AsyncIam",
}
BEGIN = "    # -- from the registry: written by scripts/gen_faces.py from the builders; do not edit --"
END = "    # -- end of the registry's methods --"


class GenerationError(Exception):
    """The registry or the face module has something this script has no rule for."""


def _load_registry() -> list[Any]:
    sys.path.insert(0, str(ROOT))
    try:
        from tg_connect.protocol import registry, services  # noqa: F401  (importing services registers every builder)
    finally:
        sys.path.pop(0)
    return list(registry.METHODS)


def _load_gen_sync() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_sync", ROOT / "scripts" / "gen_sync.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_sync", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# -- one method -----------------------------------------------------------------------------------


def _builder_node(builder: Any) -> tuple[ast.FunctionDef, str]:
    """The builder's definition and its source (annotations and defaults are copied as written)."""
    source = textwrap.dedent(inspect.getsource(builder))
    node = ast.parse(source).body[0]
    if not isinstance(node, ast.FunctionDef):
        raise GenerationError(f"{builder.__qualname__}: a builder must be a plain function")
    return node, source


def _call_types(node: ast.FunctionDef) -> tuple[str, str]:
    """(C, R) of a ``Call[C, R]`` return annotation."""
    ann = node.returns
    if not (
        isinstance(ann, ast.Subscript)
        and ast.unparse(ann.value) == "Call"
        and isinstance(ann.slice, ast.Tuple)
        and len(ann.slice.elts) == 2
    ):
        raise GenerationError(f"{node.name}: a registered builder must return Call[C, R]")
    chunk, result = ann.slice.elts
    return ast.unparse(chunk), ast.unparse(result)


def _params(node: ast.FunctionDef, source: str, streaming: str | None) -> list[str]:
    """The parameters as text, ``streaming``'s annotation and default replaced when given."""
    a = node.args
    if a.posonlyargs or a.vararg:
        raise GenerationError(f"{node.name}: positional-only or *args parameters: no rule for them")
    out = ["self"]
    defaults: list[ast.expr | None] = [None] * (len(a.args) - len(a.defaults)) + list(a.defaults)
    for arg, default in zip(a.args, defaults, strict=True):
        out.append(_param(arg, default, source))
    if a.kwonlyargs:
        out.append("*")
    for arg, kw_default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        if arg.arg == "streaming" and streaming is not None:
            out.append(f"streaming: {streaming}")
        else:
            out.append(_param(arg, kw_default, source))
    if a.kwarg is not None:
        out.append("**" + _param(a.kwarg, None, source))
    return out


def _param(arg: ast.arg, default: ast.expr | None, source: str) -> str:
    def text_of(node: ast.expr) -> str:
        return ast.get_source_segment(source, node) or ast.unparse(node)

    text = arg.arg if arg.annotation is None else f"{arg.arg}: {text_of(arg.annotation)}"
    if default is not None:
        text += (" = " if arg.annotation is not None else "=") + text_of(default)
    return text


def _arguments(node: ast.FunctionDef) -> list[str]:
    a = node.args
    parts = [arg.arg for arg in a.args] + [f"{arg.arg}={arg.arg}" for arg in a.kwonlyargs]
    if a.kwarg is not None:
        parts.append(f"**{a.kwarg.arg}")
    return parts


def _statement(head: str, arguments: list[str], close: str) -> list[str]:
    """``head`` + the arguments + ``close`` on one line (``ruff format`` wraps it)."""
    return [head + ", ".join(arguments) + close]


def _signature(prefix: str, params: list[str], returns: str, suffix: str) -> list[str]:
    """``prefix(params) -> returns:suffix`` on one line (``ruff format`` wraps it)."""
    return [f"    {prefix}({', '.join(params)}) -> {returns}:{suffix}"]


def _docstring(node: ast.FunctionDef) -> list[str]:
    """The builder's docstring as the method's: its lines shifted to the method body's indent."""
    doc = ast.get_docstring(node, clean=False)
    if doc is None:
        return []
    first, *rest = doc.split("\n")
    shifted = [first] + [("    " + line) if line.strip() else "" for line in rest]
    return ['        """' + "\n".join(shifted) + '"""']


def _unshadow(lines: list[str], shadowed: set[str]) -> list[str]:
    """A class with a method named ``list`` shadows the builtin in its annotations: qualify it."""
    for name in shadowed:
        lines = [re.sub(rf"(?<![\w.]){name}\[", f"builtins.{name}[", line) for line in lines]
    return lines


def method_text(name: str, builder: Any, shadowed: set[str]) -> str:
    node, source = _builder_node(builder)
    chunk, result = _call_types(node)
    arguments = _arguments(node)
    doc = _docstring(node)
    kw_names = [a.arg for a in node.args.kwonlyargs]
    if "streaming" in kw_names:
        either = f"Awaitable[{result}] | ChunkStream[{chunk}]"
        lines: list[str] = []
        for streaming, returns in (
            ("Literal[False] = False", f"Awaitable[{result}]"),
            ("Literal[True]", f"ChunkStream[{chunk}]"),
            ("bool", either),
        ):
            lines += ["    @overload", *_signature(f"def {name}", _params(node, source, streaming), returns, " ...")]
        lines += _signature(f"def {name}", _params(node, source, None), either, "")
        lines += [*doc, *_statement(f"        return self._dispatch(sv.{builder.__name__}(", arguments, "))")]
    else:
        lines = _signature(f"async def {name}", _params(node, source, None), result, "")
        head = "        await" if result == "None" else "        return await"
        lines += [*doc, *_statement(f"{head} self._result(sv.{builder.__name__}(", arguments, "))")]
    return "\n".join(_unshadow(lines, shadowed)) + "\n"


# -- the module ----------------------------------------------------------------------------------


def generate(text: str, methods: list[Any]) -> str:
    """``text`` (flow/core.py) with every class's registry block rewritten, formatted."""
    return _load_gen_sync().formatted(_generate(text, methods), TARGET)


def _generate(text: str, methods: list[Any]) -> str:
    by_class: dict[str, list[str]] = {cls: [] for cls in FACE_CLASSES.values()}
    names: dict[str, set[str]] = {}
    for m in methods:
        names.setdefault(m.face, set()).add(m.name)
    for m in methods:
        if m.face not in FACE_CLASSES:
            raise GenerationError(f"{m.name}: face {m.face!r} has no class here (FACE_CLASSES)")
        if m.generated:
            shadowed = names[m.face] & set(dir(builtins))
            by_class[FACE_CLASSES[m.face]].append(method_text(m.name, m.builder, shadowed))
    every = [method for texts in by_class.values() for method in texts]
    lines = text.split("\n")
    out: list[str] = []
    current: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("class "):
            current = line[len("class ") :].split("(")[0].split(":")[0]
        if line == BEGIN:
            if current not in by_class:
                raise GenerationError(f"{TARGET}: a registry block in class {current}, which has no face name")
            end = lines.index(END, i)
            out.append(BEGIN)
            out.append("\n".join(by_class.pop(current)))
            out.append(END)
            i = end + 1
            continue
        out.append(line)
        i += 1
    missing = [cls for cls, texts in by_class.items() if texts]
    if missing:
        raise GenerationError(f"{TARGET}: no registry block in {', '.join(missing)}; add the two marker lines")
    return _with_type_imports("\n".join(out), every)


def _annotation_names(texts: list[str]) -> set[str]:
    """The names the generated methods' annotations use (docstrings are not code)."""
    tree = ast.parse("class Generated:\n" + "\n".join(texts))
    names: set[str] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = fn.args
            annotations = [a.annotation for a in [*args.args, *args.kwonlyargs, *filter(None, [args.kwarg])]]
            for ann in [*annotations, fn.returns]:
                if ann is not None:
                    names |= {n.id for n in ast.walk(ann) if isinstance(n, ast.Name)}
    return names


def _with_type_imports(text: str, texts: list[str]) -> str:
    """``text`` importing every type of :mod:`tg_connect.types` the generated methods use, so a
    new builder's result type needs no hand edit of the face module."""
    from tg_connect import types

    own = {
        name
        for name, obj in vars(types).items()
        if getattr(obj, "__module__", None) == types.__name__ and not name.startswith("_")
    }
    tree = ast.parse(text)
    statement = next(
        (s for s in tree.body if isinstance(s, ast.ImportFrom) and s.level == 2 and s.module == "types"), None
    )
    if statement is None:
        raise GenerationError(f"{TARGET}: no 'from ..types import (...)' to extend")
    have = {a.name for a in statement.names}
    wanted = sorted(have | (_annotation_names(texts) & own))
    if set(wanted) == have:
        return text
    lines = text.split("\n")
    new = ["from ..types import (", *(f"    {name}," for name in wanted), ")"]
    assert statement.end_lineno is not None
    return "\n".join(lines[: statement.lineno - 1] + new + lines[statement.end_lineno :])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    args = parser.parse_args(argv)
    path = ROOT / TARGET
    current = path.read_text()
    try:
        wanted = generate(current, _load_registry())
    except GenerationError as exc:
        print(f"gen_faces: {exc}", file=sys.stderr)
        return 2
    stale = current != wanted
    if stale and args.check:
        sys.stdout.writelines(
            difflib.unified_diff(
                current.splitlines(True), wanted.splitlines(True), f"{TARGET} (checked in)", f"{TARGET} (generated)"
            )
        )
        print(f"{TARGET} is stale: run {COMMAND}", file=sys.stderr)
        return 1
    if stale:
        path.write_text(wanted)
        print(f"wrote {TARGET}'s registry blocks")
    return _load_gen_sync().main(["--check"] if args.check else [])


if __name__ == "__main__":
    sys.exit(main())
