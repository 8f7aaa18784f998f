#!/usr/bin/env python3
"""Generate tg_connect's sync faces from its async ones.

    python scripts/gen_sync.py           # rewrite the generated modules
    python scripts/gen_sync.py --check   # exit 1, naming the stale files, if any is out of date

Only the async faces are written by hand. httpcore's unasync rewrites async code into a
second, blocking implementation by token substitution; tg_connect has one implementation (the
transports are async) and one bridge from sync code into it, so a sync face is a thin proxy:
each public member of an async class becomes a member of its sync twin with the same
parameters, written out here from the async source. Per member:

* ``async def m(...) -> R`` becomes ``def m(...) -> R`` running ``self._a.m(...)`` through
  ``bridge.run`` (``aclose`` becomes ``close``, as in unasync);
* a streaming-capable ``def m(...)`` (its return type names ``Awaitable`` / ``ChunkStream``)
  keeps its overloads, with ``Awaitable[X]`` read as ``X`` and ``ChunkStream[X]`` as
  ``ChunkIterator[X]``, and hands ``self._a.m(...)`` to ``run_or_iterate``;
* a ``def`` returning another async face wraps the result in that face's sync twin;
* a property reads the async face's; ``__repr__`` is the async repr without ``Async``;
* private members, and those a job lists as async-only, are left out.

Anything else is refused with a message, so a new kind of member needs a rule here rather
than a silently wrong twin. Signatures are copied as text, docstrings and section comments too,
with ``AsyncX`` read as ``X`` and ``api.async_x()`` as ``api.x()``. Imports are the async
module's, less what the output does not use, and the file is formatted by ``ruff format``.
``tests/unit/test_sync_generated.py`` fails when a checked-in file differs from what this script writes.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import difflib
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python scripts/gen_faces.py"  # regenerates the async registry methods first, then this


@dataclass(frozen=True)
class Job:
    """One async module and the sync module made from it."""

    source: str  # path from the repository root
    target: str
    classes: dict[str, str]  # async class -> its sync twin, emitted in the source's order
    docstring: str  # the sync module's own
    imports: tuple[str, ...]  # what generated code may call besides the source's imports
    async_only: frozenset[str] = frozenset()  # public members without a sync twin
    class_docs: dict[str, str] = field(default_factory=dict)  # docstrings that cannot be substituted
    doc_subs: tuple[tuple[str, str], ...] = ()  # docstring substitutions beyond the class names


JOBS = (
    Job(
        source="tg_connect/flow/core.py",
        target="tg_connect/flow/sync.py",
        classes={
            "Face": "SyncFace",
            "AsyncFlowInstance": "FlowInstance",
            "AsyncConfig": "Config",
            "AsyncLibrary": "Library",
            "AsyncKnowledge": "Knowledge",
            "AsyncCollection": "Collection",
            "AsyncIam": "Iam",
            "AsyncFlow": "Flow",
            "AsyncSocketClient": "SocketClient",
        },
        docstring="""The sync faces: the async faces of :mod:`.core` run on tg_connect's one background loop.

Every method has the signature of its async twin and returns what the coroutine returns;
streaming methods return a :class:`ChunkIterator`. Calls go through
:mod:`tg_connect.transport.bridge`, so they work from any number of threads and inside a
running event loop (Jupyter), and a streamed answer crosses threads through a bounded
queue (a slow consumer slows the socket, it does not grow memory).""",
        imports=(
            "from ..transport import bridge",
            "from . import core",
            "from .blocking import ChunkIterator, run_or_iterate",
        ),
        async_only=frozenset({"transport"}),  # an async object: the sync faces keep it to themselves
        class_docs={"SyncFace": "What every sync face has: its async twin ``_a``, a repr and ``close()``."},
    ),
    Job(
        source="tg_connect/metrics/core.py",
        target="tg_connect/metrics/sync.py",
        classes={"AsyncMetrics": "Metrics"},
        docstring="The sync face of :class:`~.core.AsyncMetrics`, running it on tg_connect's one background loop.",
        imports=("from ..transport import bridge", "from . import core"),
        doc_subs=((", for asyncio code", ""),),
    ),
)

# What a streaming-capable method's return type becomes on the sync face.
UNWRAP = "Awaitable"  # Awaitable[X] -> X
RENAME_TYPES = {"ChunkStream": "ChunkIterator"}
RENAME_MEMBERS = {"aclose": "close"}
ASYNC_WORDS = re.compile(r"\basync\b|\bawait\b|\basyncio\b|\baclose\b|\basync_\w+", re.IGNORECASE)


class GenerationError(Exception):
    """The async source has something this script has no rule for."""


# -- the source ---------------------------------------------------------------------------------


class Source:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.text = path.read_text()
        self.lines = self.text.splitlines()
        self.tree = ast.parse(self.text)

    def segment(self, node: ast.AST) -> str:
        text = ast.get_source_segment(self.text, node)
        assert text is not None
        return text

    def where(self, node: ast.AST) -> str:
        path = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{path}:{getattr(node, 'lineno', '?')}"


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _decorators(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for d in node.decorator_list:
        if not isinstance(d, ast.Name):
            raise GenerationError(f"decorator {ast.unparse(d)!r} on {node.name}: no rule for it")
        names.add(d.id)
    return names


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


# -- one class ----------------------------------------------------------------------------------


class ClassWriter:
    def __init__(self, job: Job, src: Source, node: ast.ClassDef) -> None:
        self.job = job
        self.src = src
        self.node = node
        self.name = job.classes[node.name]
        self.module = Path(job.source).stem  # how the generated module names the async one

    def substitute_doc(self, text: str, where: str) -> str:
        for old, new in self.job.doc_subs:
            text = text.replace(old, new)
        text = re.sub(r"\bapi\.async_(\w+)\(\)", r"api.\1()", text)
        for old, new in sorted(self.job.classes.items(), key=lambda kv: -len(kv[0])):
            text = re.sub(rf"\b{re.escape(old)}\b", new, text)
        found = ASYNC_WORDS.search(text)
        if found:
            raise GenerationError(
                f"{where}: the docstring still speaks of async after substitution"
                f" ({found[0]!r}); reword it, or add a doc_subs entry"
            )
        return text

    def returns(self, node: ast.expr) -> str:
        """A return annotation as the sync face declares it."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return f"{self.returns(node.left)} | {self.returns(node.right)}"
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            if node.value.id == UNWRAP:
                return self.src.segment(node.slice)
            if node.value.id in RENAME_TYPES:
                return f"{RENAME_TYPES[node.value.id]}[{self.src.segment(node.slice)}]"
        if isinstance(node, ast.Name) and node.id in self.job.classes:
            return self.job.classes[node.id]
        mapped = _names_in(node) & self.job.classes.keys()
        if mapped:
            raise GenerationError(f"{self.src.where(node)}: {sorted(mapped)} inside a return type: no rule for it")
        return self.src.segment(node)

    def header(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> str:
        """``def name(...) -> R:`` with the source's parameters, on one line."""
        if fn.returns is None:
            raise GenerationError(f"{self.src.where(fn)}: {fn.name} has no return annotation")
        for arg in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]:
            if arg.annotation is not None and _names_in(arg.annotation) & self.job.classes.keys():
                raise GenerationError(f"{self.src.where(fn)}: an async face as a parameter type: no rule for it")
        lines = self.src.lines[fn.lineno - 1 : fn.returns.lineno]
        lines[-1] = lines[-1][: fn.returns.col_offset]
        text = " ".join(line.strip() for line in lines)  # one line: the generated file is formatted after
        text = re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", text))
        if "#" in text:
            raise GenerationError(f"{self.src.where(fn)}: a comment inside the signature of {fn.name}: no rule for it")
        params = text[text.index("(") :]
        return f"def {name}{params}" + self.returns(fn.returns) + ":"

    def call_args(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
        a = fn.args
        positional = [*a.posonlyargs, *a.args]
        if not positional or positional[0].arg != "self":
            raise GenerationError(f"{self.src.where(fn)}: {fn.name} is not an instance method")
        out = [p.arg for p in positional[1:]]
        if a.vararg is not None:
            out.append(f"*{a.vararg.arg}")
        out += [f"{k.arg}={k.arg}" for k in a.kwonlyargs]
        if a.kwarg is not None:
            out.append(f"**{a.kwarg.arg}")
        return out

    def docstring(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
        if fn.body and _is_docstring(fn.body[0]):
            text = self.src.segment(fn.body[0])
            return ["        " + self.substitute_doc(text, self.src.where(fn.body[0]))]
        return []

    def member(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str] | None:
        """The sync twin of one member, as lines; None when it has none."""
        name = fn.name
        if name == "__repr__":
            return ["    def __repr__(self) -> str:", '        return repr(self._a).replace("Async", "", 1)']
        if not self.has_twin(fn):
            return None
        decorators = _decorators(fn)
        sync_name = RENAME_MEMBERS.get(name, name)
        if decorators - {"overload", "property"}:
            raise GenerationError(f"{self.src.where(fn)}: no rule for decorators {sorted(decorators)}")
        if "property" in decorators:
            return self.property_twin(fn, sync_name)
        header = "    " + self.header(fn, sync_name)
        if "overload" in decorators:
            return ["    @overload", header + " ..."]
        body = self.forward(fn)
        return [header, *self.docstring(fn), body]

    def has_twin(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """Whether a member other than ``__repr__`` gets a sync twin (dunders other than
        ``__init__`` have no rule, so they are refused rather than skipped)."""
        name = fn.name
        if name == "__init__" or name in self.job.async_only:
            return False
        if name.startswith("__"):
            raise GenerationError(f"{self.src.where(fn)}: no rule for {name}")
        return not name.startswith("_")

    def property_twin(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, sync_name: str) -> list[str]:
        """A property reading the async face's (only a plain one: no parameters, no async face returned)."""
        if isinstance(fn, ast.AsyncFunctionDef) or fn.args.args[1:] or fn.returns is None:
            raise GenerationError(f"{self.src.where(fn)}: no rule for this property")
        if _names_in(fn.returns) & self.job.classes.keys():
            raise GenerationError(f"{self.src.where(fn)}: a property returning an async face: no rule for it")
        return [
            "    @property",
            "    " + self.header(fn, sync_name),
            *self.docstring(fn),
            f"        return self._a.{fn.name}",
        ]

    def forward(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
        """The body of a method's twin: the call to the async face, run the way its kind needs."""
        name = fn.name
        call = f"self._a.{name}"
        args = self.call_args(fn)
        assert fn.returns is not None  # header() refused a member without one
        if isinstance(fn, ast.AsyncFunctionDef):
            returns_none = isinstance(fn.returns, ast.Constant) and fn.returns.value is None
            return wrap_call("        " + ("" if returns_none else "return ") + "bridge.run(" + call, args, "))")
        if isinstance(fn.returns, ast.Name) and fn.returns.id in self.job.classes:
            return wrap_call(f"        return {self.job.classes[fn.returns.id]}({call}", args, "))")
        if _names_in(fn.returns) & ({UNWRAP} | RENAME_TYPES.keys()):
            return wrap_call(f"        return run_or_iterate({call}", args, "))")
        raise GenerationError(
            f"{self.src.where(fn)}: {name} is neither async nor streaming nor returns an async face: no rule for it"
        )

    def write(self) -> str:
        node = self.node
        bases = self.bases()
        out = [f"class {self.name}({', '.join(bases)}):" if bases else f"class {self.name}:"]
        body = list(node.body)
        doc = body.pop(0) if _is_docstring(body[0]) else None
        out.append(self.class_docstring(doc))
        # the last source line accounted for: comments after it and above a member are copied
        previous_end = node.lineno if doc is None else (doc.end_lineno or doc.lineno)
        inner = f"{self.module}.{node.name}"
        out += ["", f"    def __init__(self, inner: {inner}) -> None:", f"        self._a: {inner} = inner"]
        out += self.members(body, previous_end)
        return "\n".join(out) + "\n"

    def bases(self) -> list[str]:
        """The sync twins of the class's bases (a base without one has no rule)."""
        bases = []
        for base in self.node.bases:
            if not (isinstance(base, ast.Name) and base.id in self.job.classes):
                raise GenerationError(f"{self.src.where(self.node)}: base {ast.unparse(base)!r} has no sync twin")
            bases.append(self.job.classes[base.id])
        return bases

    def class_docstring(self, doc: ast.stmt | None) -> str:
        """The twin's docstring: the job's own if it gives one, else the source's, substituted."""
        if self.name in self.job.class_docs:
            return f'    """{self.job.class_docs[self.name]}"""'
        if doc is not None:
            return "    " + self.substitute_doc(self.src.segment(doc), self.src.where(doc))
        raise GenerationError(f"{self.src.where(self.node)}: {self.node.name} has no docstring")

    def members(self, body: list[ast.stmt], previous_end: int) -> list[str]:
        """The twins of the class body's members, each after the section comments above it."""
        out: list[str] = []
        comments: list[str] = []
        last: str | None = None
        for stmt in body:
            comments += self.comments_above(stmt, previous_end)
            previous_end = stmt.end_lineno or stmt.lineno
            if _is_placeholder(stmt):
                continue
            if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                raise GenerationError(f"{self.src.where(stmt)}: no rule for {type(stmt).__name__} in a class body")
            lines = self.member(stmt)
            if lines is None:
                continue  # its comments carry over to the next member that has a twin
            for comment in comments:
                out += ["", comment]
            continuing = last == stmt.name and not comments  # an overload group stays together
            comments = []
            if not continuing:
                out.append("")
            out += lines
            last = stmt.name
        return out

    def comments_above(self, stmt: ast.stmt, previous_end: int) -> list[str]:
        """The comment lines between the previous statement and ``stmt`` (or its decorators), substituted."""
        start = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])
        return [
            self.substitute_doc(line, f"{self.src.where(stmt)} (the comment above)")
            for line in self.src.lines[previous_end : start - 1]
            if line.strip().startswith("#")
        ]


def _is_placeholder(stmt: ast.stmt) -> bool:
    """``pass`` or ``...``: nothing to twin."""
    return isinstance(stmt, ast.Pass) or (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value is Ellipsis
    )


def wrap_call(opening: str, args: list[str], closing: str) -> str:
    """``opening(args`` + ``closing`` on one line: the generated file is formatted after."""
    return f"{opening}({', '.join(args)}{closing}"


# -- one module ---------------------------------------------------------------------------------


def _import_lines(stmt: ast.Import | ast.ImportFrom, used: set[str]) -> list[str]:
    """``stmt`` reduced to the names the generated module uses (nothing if none)."""
    kept = [a for a in stmt.names if (a.asname or a.name).split(".")[0] in used]
    if not kept:
        return []
    names = [a.name + (f" as {a.asname}" if a.asname else "") for a in kept]
    if isinstance(stmt, ast.Import):
        return [f"import {name}" for name in names]
    prefix = f"from {'.' * stmt.level}{stmt.module or ''} import "
    return [prefix + ", ".join(names)]  # ruff format wraps it


def _import_key(stmt: ast.Import | ast.ImportFrom) -> tuple[int, int, str]:
    """Standard library and third party first (as the source orders them), then relative by depth."""
    if isinstance(stmt, ast.ImportFrom) and stmt.level:
        return (1, -stmt.level, stmt.module or "")
    return (0, 0, "")


def formatted(text: str, path: str) -> str:
    """``text`` as ``ruff format`` leaves it (the repository's style, checked in CI), so a
    generated file is what the formatter would make of it and the two never disagree."""
    done = subprocess.run(
        # --config: the file named may lie outside the repository (the generator's own tests)
        [
            sys.executable,
            "-m",
            "ruff",
            "format",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--stdin-filename",
            path,
            "-",
        ],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise GenerationError(f"{path}: ruff format failed: {done.stderr.strip()}")
    return done.stdout


def generate(job: Job) -> str:
    """The text of ``job.target``, formatted."""
    return formatted(_generate(job), job.target)


def _generate(job: Job) -> str:
    src = Source(ROOT / job.source)
    if Path(job.source).parent != Path(job.target).parent:
        raise GenerationError(f"{job.target}: a sync module sits next to its async one")
    found = {n.name: n for n in src.tree.body if isinstance(n, ast.ClassDef) and n.name in job.classes}
    missing = job.classes.keys() - found.keys()
    if missing:
        raise GenerationError(f"{job.source}: no class {sorted(missing)}")
    classes = [ClassWriter(job, src, node).write() for node in found.values()]
    aliases = _aliases(job, src)
    code = "\n\n".join(classes) + ("\n\n" + "\n".join(aliases) + "\n" if aliases else "")

    # Imports: the source's, then the job's, then the source module's own names; each only if used.
    tree = ast.parse(code)
    used = _names_in(tree) - {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    top, checking, own = _module_names(src)
    own = [name for name in own if name in used and name not in job.classes]
    extra_lines = [*job.imports, *([f"from .{Path(job.source).stem} import {', '.join(own)}"] if own else [])]
    extra = [s for line in extra_lines for s in ast.parse(line).body if isinstance(s, (ast.Import, ast.ImportFrom))]
    checked = [line for stmt in checking for line in _import_lines(stmt, used)]
    if checked:
        used.add("TYPE_CHECKING")
    groups: dict[int, list[str]] = {}
    for stmt in sorted(top + extra, key=_import_key):  # sorted() is stable: the source's order within a group
        groups.setdefault(_import_key(stmt)[0], []).extend(_import_lines(stmt, used))
    imported = {(a.asname or a.name).split(".")[0] for s in top + extra + checking for a in s.names}
    defined = set(job.classes.values()) | {a.split(" = ")[0] for a in aliases}
    unknown = used - imported - defined - set(dir(builtins))
    if unknown:
        raise GenerationError(f"{job.target}: generated code uses {sorted(unknown)}, which nothing imports")

    parts = [
        _head(job),
        "from __future__ import annotations\n",
        *("\n".join(groups[k]) + "\n" for k in sorted(groups) if groups[k]),
    ]
    if checked:
        parts.append("if TYPE_CHECKING:\n" + "".join(f"    {line}\n" for line in checked))
    return "\n".join(parts) + "\n\n" + code


def _aliases(job: Job, src: Source) -> list[str]:
    """The source's aliases of its async classes, as the sync module's:
    ``AsyncSocketFlowInstance = AsyncFlowInstance`` -> ``SocketFlowInstance = FlowInstance``."""
    aliases = []
    for stmt in src.tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Name)
            and stmt.value.id in job.classes
        ):
            alias = stmt.targets[0].id
            if not alias.startswith("Async"):
                raise GenerationError(f"{src.where(stmt)}: alias {alias} does not start with Async")
            aliases.append(f"{alias[len('Async') :]} = {job.classes[stmt.value.id]}")
    return aliases


def _module_names(
    src: Source,
) -> tuple[list[ast.Import | ast.ImportFrom], list[ast.Import | ast.ImportFrom], list[str]]:
    """The source module's top-level imports, its imports under ``if TYPE_CHECKING:``, and the
    names it defines itself (all of them: the caller keeps those the generated code uses)."""
    top: list[ast.Import | ast.ImportFrom] = []
    checking: list[ast.Import | ast.ImportFrom] = []
    own: list[str] = []
    for stmt in src.tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            continue
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            top.append(stmt)
        elif isinstance(stmt, ast.If) and ast.unparse(stmt.test) == "TYPE_CHECKING":
            checking += [s for s in stmt.body if isinstance(s, (ast.Import, ast.ImportFrom))]
        elif isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            own.append(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            own += [t.id for t in getattr(stmt, "targets", [getattr(stmt, "target", None)]) if isinstance(t, ast.Name)]
    return top, checking, own


def _head(job: Job) -> str:
    """The generated module's banner and docstring."""
    return (
        f"# Generated from {job.source} by scripts/gen_sync.py; do not edit.\n"
        f"# Change the async face there, then run: {COMMAND}\n"
        + (f'"""{job.docstring}\n"""\n' if "\n" in job.docstring else f'"""{job.docstring}"""\n')
    )


def stale() -> list[tuple[Job, str, str]]:
    """(job, what is checked in, what it should be) for every generated file that is out of date."""
    out = []
    for job in JOBS:
        path = ROOT / job.target
        current = path.read_text() if path.exists() else ""
        wanted = generate(job)
        if current != wanted:
            out.append((job, current, wanted))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    args = parser.parse_args(argv)
    try:
        todo = stale()
    except GenerationError as exc:
        print(f"gen_sync: {exc}", file=sys.stderr)
        return 2
    for job, current, wanted in todo:
        if args.check:
            diff = difflib.unified_diff(
                current.splitlines(True),
                wanted.splitlines(True),
                f"{job.target} (checked in)",
                f"{job.target} (generated)",
            )
            sys.stdout.writelines(diff)
            print(f"{job.target} is stale: run {COMMAND}", file=sys.stderr)
        else:
            (ROOT / job.target).write_text(wanted)
            print(f"wrote {job.target} from {job.source}")
    return 1 if args.check and todo else 0


if __name__ == "__main__":
    sys.exit(main())
