"""Prompt templates, as the real prompt-template service reads and renders them.

The real service (``trustgraph/template/prompt_manager.py``) keeps templates in config type
``prompt``: ``system`` is a JSON-encoded string, each ``template.<id>`` a JSON object
``{"prompt", "response-type" ("text" | "json" | "jsonl"), "schema"?}``. Templates use the
``ibis`` syntax, a Jinja subset; :class:`Template` implements what prompts use:
``{{ expr }}`` (dotted lookups into dicts, lists and attributes, a few filters), ``{% if %}``/
``{% elif %}``/``{% else %}``/``{% endif %}``, ``{% for x in expr %}``/``{% endfor %}`` and
``{# comments #}``. As in ibis, an undefined name renders as nothing and ``None`` as ``None``.

:func:`seed_prompts` is the configuration a new local workspace starts with: the real test
deployment's templates (``real-gateway/tg_local/seed.json``), written for the scripted echo
model, except that ``kg-synthesis`` echoes the knowledge it is given, so a graph-rag answer
is built from the retrieved triples. With ``--llm-url`` the seed holds plain-language
versions of the same templates instead. The seed is written when a workspace is created
(and kept in the data directory); change templates afterwards with config ``put``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Template", "TemplateError", "Prompts", "PromptTemplate", "seed_prompts", "seed_tools"]


class TemplateError(ValueError):
    pass


class _Undefined:
    def __str__(self) -> str:
        return ""

    def __bool__(self) -> bool:
        return False

    def __iter__(self) -> Any:
        return iter(())


UNDEFINED = _Undefined()

_TAG = re.compile(r"(\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\})", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|"""
    r"""(?P<op>==|!=|<=|>=|[<>()|,\[\]]|\.)|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"""
)


# -- expressions ---------------------------------------------------------------------------

Expr = Callable[[dict[str, Any]], Any]


def _lookup(value: Any, key: str) -> Any:
    if isinstance(value, _Undefined) or value is None:
        return UNDEFINED
    if isinstance(value, dict):
        return value.get(key, UNDEFINED)
    if isinstance(value, (list, tuple, str)) and key.lstrip("-").isdigit():
        try:
            return value[int(key)]
        except IndexError:
            return UNDEFINED
    return getattr(value, key, UNDEFINED)


def _text(value: Any) -> str:
    return "" if isinstance(value, _Undefined) else str(value)


_FILTERS: dict[str, Callable[..., Any]] = {
    "upper": lambda v: _text(v).upper(),
    "lower": lambda v: _text(v).lower(),
    "title": lambda v: _text(v).title(),
    "capitalize": lambda v: _text(v).capitalize(),
    "strip": lambda v: _text(v).strip(),
    "trim": lambda v: _text(v).strip(),
    "len": lambda v: len(v) if not isinstance(v, _Undefined) else 0,
    "length": lambda v: len(v) if not isinstance(v, _Undefined) else 0,
    "first": lambda v: v[0] if v else UNDEFINED,
    "last": lambda v: v[-1] if v else UNDEFINED,
    "join": lambda v, sep="": str(sep).join(_text(x) for x in v),
    "default": lambda v, d="": d if isinstance(v, _Undefined) or v is None else v,
    "json": lambda v: json.dumps(None if isinstance(v, _Undefined) else v),
    "tojson": lambda v: json.dumps(None if isinstance(v, _Undefined) else v),
    "string": lambda v: _text(v),
}


class _ExprParser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise TemplateError(f"cannot parse expression {text!r}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise TemplateError(f"expected {value or 'more'} in expression")
        self.i += 1
        return token

    def parse(self) -> Expr:
        expr = self.or_expr()
        if self.peek() is not None:
            raise TemplateError(f"unexpected {self.peek()[1]!r} in expression")  # type: ignore[index]
        return expr

    def or_expr(self) -> Expr:
        left = self.and_expr()
        while self.peek() == ("name", "or"):
            self.take()
            right = self.and_expr()
            left = (lambda a, b: lambda c: a(c) or b(c))(left, right)
        return left

    def and_expr(self) -> Expr:
        left = self.not_expr()
        while self.peek() == ("name", "and"):
            self.take()
            right = self.not_expr()
            left = (lambda a, b: lambda c: a(c) and b(c))(left, right)
        return left

    def not_expr(self) -> Expr:
        if self.peek() == ("name", "not"):
            self.take()
            inner = self.not_expr()
            return lambda c: not inner(c)
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.filtered()
        token = self.peek()
        ops: dict[str, Callable[[Any, Any], bool]] = {
            "==": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
            "<": lambda a, b: a < b,
            ">": lambda a, b: a > b,
            "<=": lambda a, b: a <= b,
            ">=": lambda a, b: a >= b,
            "in": lambda a, b: a in b,
        }
        if token is not None and token[1] in ops:
            self.take()
            right = self.filtered()
            op = ops[token[1]]
            return lambda c: op(left(c), right(c))
        if token == ("name", "not") and self.i + 1 < len(self.tokens) and self.tokens[self.i + 1] == ("name", "in"):
            self.take()
            self.take()
            right = self.filtered()
            return lambda c: left(c) not in right(c)
        return left

    def filtered(self) -> Expr:
        expr = self.primary()
        while self.peek() == ("op", "|"):
            self.take()
            name = self.take()[1]
            func = _FILTERS.get(name)
            if func is None:
                raise TemplateError(f"unknown filter {name!r}")
            args: list[Expr] = []
            if self.peek() == ("op", "("):
                self.take()
                while self.peek() != ("op", ")"):
                    args.append(self.or_expr())
                    if self.peek() == ("op", ","):
                        self.take()
                self.take(")")
            expr = (lambda e, f, a: lambda c: f(e(c), *[x(c) for x in a]))(expr, func, args)
        return expr

    def primary(self) -> Expr:
        kind, value = self.take()
        expr: Expr
        if kind == "num":
            number: Any = float(value) if "." in value else int(value)
            expr = lambda c: number  # noqa: E731
        elif kind == "str":
            literal = json.loads('"' + value[1:-1].replace('"', '\\"') + '"') if value[0] == "'" else json.loads(value)
            expr = lambda c: literal  # noqa: E731
        elif kind == "op" and value == "(":
            expr = self.or_expr()
            self.take(")")
        elif kind == "name":
            constants = {"true": True, "True": True, "false": False, "False": False, "none": None, "None": None}
            if value in constants:
                const = constants[value]
                expr = lambda c: const  # noqa: E731
            else:
                expr = (lambda name: lambda c: c.get(name, UNDEFINED))(value)
        else:
            raise TemplateError(f"unexpected {value!r} in expression")
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                key = self.take()[1]
                expr = (lambda e, k: lambda c: _lookup(e(c), k))(expr, key)
            else:
                index = self.or_expr()
                self.take("]")
                expr = (lambda e, k: lambda c: _lookup(e(c), str(k(c))))(expr, index)
        return expr


def compile_expr(text: str) -> Expr:
    return _ExprParser(text).parse()


# -- templates -------------------------------------------------------------------------------

Node = Any  # str | ("var", Expr) | ("if", [(Expr|None, [Node])]) | ("for", name, Expr, [Node])


class Template:
    """A compiled template; :meth:`render` takes a dict of variables."""

    def __init__(self, source: str) -> None:
        self.source = source
        parts = _TAG.split(source or "")
        self._pos = 0
        self._parts = parts
        self.nodes = self._block(())
        if self._pos < len(parts):
            raise TemplateError(f"unexpected {parts[self._pos]!r}")

    def _block(self, ends: tuple[str, ...]) -> list[Node]:
        nodes: list[Node] = []
        while self._pos < len(self._parts):
            part = self._parts[self._pos]
            if part.startswith("{#") and part.endswith("#}"):
                self._pos += 1
            elif part.startswith("{{") and part.endswith("}}"):
                nodes.append(("var", compile_expr(part[2:-2])))
                self._pos += 1
            elif part.startswith("{%") and part.endswith("%}"):
                words = part[2:-2].strip().split(None, 1)
                keyword = words[0] if words else ""
                rest = words[1] if len(words) > 1 else ""
                if keyword in ends:
                    return nodes
                self._pos += 1
                if keyword == "if":
                    nodes.append(self._if(rest))
                elif keyword == "for":
                    nodes.append(self._for(part, rest))
                else:
                    raise TemplateError(f"unknown tag {part!r}")
            else:
                nodes.append(part)
                self._pos += 1
        if ends:
            raise TemplateError(f"missing {{% {ends[-1]} %}}")
        return nodes

    def _if(self, condition: str) -> Node:
        """The ``if`` node of the ``{% if condition %}`` tag just read, up to its ``{% endif %}``."""
        branches: list[tuple[Expr | None, list[Node]]] = []
        cond: Expr | None = compile_expr(condition)
        while True:
            body = self._block(("elif", "else", "endif"))
            branches.append((cond, body))
            if self._pos >= len(self._parts):
                raise TemplateError("missing {% endif %}")
            tag = self._parts[self._pos][2:-2].strip().split(None, 1)
            self._pos += 1
            if tag[0] == "endif":
                return ("if", branches)
            cond = compile_expr(tag[1]) if tag[0] == "elif" else None

    def _for(self, part: str, loop: str) -> Node:
        """The ``for`` node of the ``{% for name in expr %}`` tag just read, up to its ``{% endfor %}``."""
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s+in\s+(.+)", loop, re.DOTALL)
        if m is None:
            raise TemplateError(f"bad for tag {part!r}")
        body = self._block(("endfor",))
        if self._pos >= len(self._parts):
            raise TemplateError("missing {% endfor %}")
        self._pos += 1
        return ("for", m.group(1), compile_expr(m.group(2)), body)

    def render(self, variables: dict[str, Any]) -> str:
        out: list[str] = []
        self._render(self.nodes, dict(variables), out)
        return "".join(out)

    def _render(self, nodes: list[Node], context: dict[str, Any], out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif node[0] == "var":
                out.append(_text(node[1](context)))
            elif node[0] == "if":
                for cond, body in node[1]:
                    if cond is None or cond(context):
                        self._render(body, context, out)
                        break
            else:
                _kind, name, expr, body = node
                items = expr(context)
                if isinstance(items, dict):
                    items = list(items)
                for index, item in enumerate(items if not isinstance(items, (str, int, float)) else []):
                    inner = dict(context)
                    inner[name] = item
                    inner["loop"] = {
                        "index": index,
                        "index0": index,
                        "index1": index + 1,
                        "first": index == 0,
                        "last": index == len(items) - 1,
                    }
                    self._render(body, inner, out)


# -- the prompt configuration ----------------------------------------------------------------


@dataclass
class PromptTemplate:
    template: Template
    response_type: str
    schema: Any


class Prompts:
    """The templates of one workspace's ``prompt`` config, compiled (raises on a bad one)."""

    def __init__(self, config: dict[str, str]) -> None:
        try:
            system = json.loads(config["system"])
        except (KeyError, TypeError, ValueError):
            system = "Be helpful."
        self.system = Template(str(system))
        self.templates: dict[str, PromptTemplate] = {}
        for key, value in config.items():
            if not key.startswith("template."):
                continue
            data = json.loads(value)
            self.templates[key[len("template.") :]] = PromptTemplate(
                Template(data.get("prompt") or ""), data.get("response-type", "text"), data.get("schema")
            )

    def render(self, template_id: str, variables: dict[str, Any]) -> tuple[str, str, PromptTemplate]:
        """(system, prompt, template) for a template id; raises ``KeyError`` if unknown."""
        if template_id not in self.templates:
            raise KeyError("ID invalid")
        prompt = self.templates[template_id]
        return self.system.render(variables), prompt.template.render(variables), prompt


def parse_json_reply(text: str) -> Any:
    """The real service's JSON extraction: a fenced ```json block, else the whole text."""
    match = re.search(r"```(?:json)?(.*?)```", text, re.DOTALL)
    return json.loads(match.group(1).strip() if match else text.strip())


def parse_jsonl_reply(text: str) -> list[Any]:
    text = text.strip()
    if text.startswith("```"):
        text = re.sub(r"^```(?:json|jsonl)?\s*\n?", "", text)
    if text.endswith("```"):
        text = text[:-3]
    out = []
    for line in text.strip().split("\n"):
        line = line.strip()
        if not line or line.startswith("```"):
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


# -- seed configuration ----------------------------------------------------------------------

_ECHO_TEMPLATES: dict[str, tuple[str, str]] = {
    "greet": ("echo: Hello {{name}}", "text"),
    "question": ("{{question}}", "text"),
    "echo-json": ('echo: {"name": "{{name}}", "n": 3}', "json"),
    "extract-concepts": ("echo: {{query}}", "text"),
    "kg-synthesis": (
        "echo: {% if knowledge %}{% for k in knowledge %}{{k.s}} {{k.p}} {{k.o}}.\n{% endfor %}"
        "{% else %}Nothing is known about: {{query}}{% endif %}",
        "text",
    ),
    "document-prompt": ("echo: Based on: {% for d in documents %}[{{d}}]{% endfor %}", "text"),
    "agent-react": (
        "echo: {% if history %}Thought: I have what I need\nFinal Answer: {% for h in history %}"
        "{{h.observation}}{% endfor %}{% else %}Thought: I should ask the knowledge graph\n"
        'Action: knowledge-query\nArgs: {"question": "{{question}}"}{% endif %}',
        "text",
    ),
}

_LLM_TEMPLATES: dict[str, tuple[str, str]] = {
    "greet": ("Greet {{name}} in one short sentence.", "text"),
    "question": ("{{question}}", "text"),
    "echo-json": ('Reply with exactly this JSON object and nothing else: {"name": "{{name}}", "n": 3}', "json"),
    "extract-concepts": (
        "List the key entities and concepts in the question below, one per line, with no "
        "numbering or other text.\n\nQuestion: {{query}}",
        "text",
    ),
    "kg-synthesis": (
        "Answer the question using only the knowledge graph facts below. If they do not contain "
        "the answer, say so.\n\nQuestion: {{query}}\n\nFacts:\n{% for k in knowledge %}"
        "- {{k.s}} {{k.p}} {{k.o}}\n{% endfor %}",
        "text",
    ),
    "document-prompt": (
        "Answer the question using only the documents below.\n\nQuestion: {{query}}\n\n"
        "{% for d in documents %}Document:\n{{d}}\n\n{% endfor %}",
        "text",
    ),
    "agent-react": (
        "Answer the question below. You can use these tools:\n{% for t in tools %}- {{t.name}}: "
        "{{t.description}}{% for a in t.arguments %} (argument {{a.name}}: {{a.description}}){% endfor %}\n"
        "{% endfor %}\nReply in exactly one of these two forms:\n\nThought: <your reasoning>\nAction: <tool "
        "name>\nArgs: <JSON object of arguments>\n\nor\n\nThought: <your reasoning>\nFinal Answer: <the "
        "answer>\n\nQuestion: {{question}}\n{% for h in history %}\nThought: {{h.thought}}\nAction: "
        "{{h.action}}\nArgs: {{h.arguments|json}}\nObservation: {{h.observation}}\n{% endfor %}",
        "text",
    ),
}


def seed_prompts(echo: bool = True) -> list[tuple[str, str, str]]:
    """Config entries ``(type, key, value)`` of the seeded ``prompt`` type."""
    system = "You are a test assistant." if echo else "You are a helpful assistant."
    templates = _ECHO_TEMPLATES if echo else _LLM_TEMPLATES
    entries = [("prompt", "system", json.dumps(system))]
    for name, (text, rtype) in templates.items():
        entries.append(("prompt", f"template.{name}", json.dumps({"prompt": text, "response-type": rtype})))
    return entries


def seed_tools() -> list[tuple[str, str, str]]:
    """The agent's seeded ``tool`` config: one ``knowledge-query`` tool, as in the real seed."""
    tool = {
        "name": "knowledge-query",
        "description": "Ask the knowledge graph (graph-rag) a question",
        "type": "knowledge-query",
        "collection": "default",
    }
    return [("tool", "knowledge-query", json.dumps(tool))]
