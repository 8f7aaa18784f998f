"""The agent: a ReAct loop over the ``agent-react`` prompt and the tools in config type ``tool``.

Each iteration renders ``agent-react`` with ``question``, ``tools``, ``tool_names``,
``context`` and ``history`` (``[{thought, action, arguments, observation}]``), as the real
ReAct agent does, and reads ``Thought:``, ``Action:``, ``Args:`` and ``Final Answer:`` from the
reply. Tools, as in the real agent: ``knowledge-query`` (graph-rag on the tool's configured
``collection``, else ``default``; the request's ``collection`` only scopes explainability),
``text-completion`` (the ``question`` template), ``prompt`` (the tool's ``template``) and
``mcp-tool`` (the local mcp-tool service). The seeded template makes the built-in model ask the knowledge graph
once and answer with what it returned, so a dialog is thought, observation (the graph-rag
answer), thought, answer.

Frames are those of the 2.11 agent (explain, ``thought``, ``observation``, ``answer``, with
``message_id`` = the explain URI of the step). Streaming sends thoughts and the answer word by
word (cut after the model replies; the real agent cuts while it parses); without streaming
each step is one frame. Patterns other than ReAct (``plan-then-execute``, ``supervisor``)
run as ReAct. A failure is answered with the 2.11 translator's own failure:
``{"error": {"type": "gateway-error", "message": "'Error' object has no attribute 'code'"}}``.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import explain
from .flowctx import Ctx, Emit, Stream, pump
from .inference import mcp_tool
from .model import ModelError, word_chunks
from .registration import handles
from .retrieval import graph_rag

logger = logging.getLogger("tg_connect.local")

MAX_ITERATIONS = 5
AGENT_ERROR = {"error": {"type": "gateway-error", "message": "'Error' object has no attribute 'code'"}}


@dataclass
class Step:
    thought: str = ""
    action: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    answer: str | None = None


def parse_react(text: str) -> Step:
    """The ReAct reply: ``Thought:``, then ``Action:`` + ``Args:`` or ``Final Answer:``. A reply in
    neither form is taken as the final answer."""
    step = Step()
    lines = text.strip().split("\n")
    section = ""
    buffers: dict[str, list[str]] = {"thought": [], "action": [], "args": [], "answer": []}
    for line in lines:
        stripped = line.strip()
        for key, marker in (
            ("thought", "Thought:"),
            ("action", "Action:"),
            ("args", "Args:"),
            ("answer", "Final Answer:"),
        ):
            if stripped.startswith(marker):
                section = key
                buffers[key].append(stripped[len(marker) :].strip())
                break
        else:
            if section:
                buffers[section].append(line)
    step.thought = "\n".join(buffers["thought"]).strip()
    if buffers["answer"]:
        step.answer = "\n".join(buffers["answer"]).strip()
        return step
    step.action = "\n".join(buffers["action"]).strip()
    if not step.action:
        step.answer = text.strip()
        return step
    args = "\n".join(buffers["args"]).strip()
    if args:
        try:
            value = json.loads(args)
        except ValueError as exc:
            raise ValueError(f"Invalid JSON in Args: {exc}") from exc
        step.arguments = value if isinstance(value, dict) else {"input": value}
    return step


def _tools(ctx: Ctx) -> dict[str, dict[str, Any]]:
    tools = {}
    for key, value in ctx.config("tool").items():
        try:
            spec = json.loads(value)
        except ValueError:
            continue
        if isinstance(spec, dict):
            tools[str(spec.get("name", key))] = spec
    return tools


def _tool_arguments(spec: dict[str, Any]) -> list[dict[str, Any]]:
    if spec.get("type") == "knowledge-query":
        return [{"name": "question", "type": "string", "description": "The question to ask the knowledge base"}]
    if spec.get("type") == "text-completion":
        return [{"name": "question", "type": "string", "description": "The text for the model"}]
    return [
        {"name": a.get("name", ""), "type": a.get("type", "string"), "description": a.get("description", "")}
        for a in spec.get("arguments", [])
        if isinstance(a, dict)
    ]


async def _knowledge_query(ctx: Ctx, spec: dict[str, Any], arguments: dict[str, Any]) -> str:
    """graph-rag on the tool's ``collection`` (else ``default``): its final ``response``."""
    question = str(arguments.get("question", ""))
    answer = ""
    rag_request = {"query": question, "collection": spec.get("collection") or "default"}
    async for frame, _final in graph_rag(ctx, rag_request):
        if frame.get("error"):
            raise RuntimeError(frame["error"]["message"])
        if frame.get("end_of_session"):
            answer = frame.get("response", "")
    return str(answer)


async def _mcp(ctx: Ctx, spec: dict[str, Any], name: str, arguments: dict[str, Any]) -> str:
    """The local mcp-tool service's last reply, as text."""
    reply: dict[str, Any] = {}
    async for frame, _final in mcp_tool(ctx, {"name": spec.get("mcp-tool", name), "parameters": arguments}):
        reply = frame
    if "text" in reply:
        return str(reply["text"])
    if "object" in reply:
        return json.dumps(reply["object"])
    raise RuntimeError(f"MCP tool {name} failed")


async def _run_tool(ctx: Ctx, spec: dict[str, Any] | None, name: str, arguments: dict[str, Any]) -> str:
    """The observation of one tool call (raises, with the real agent's text, when it fails)."""
    if spec is None:
        raise RuntimeError(f"No action for {name}!")
    kind = spec.get("type")
    if kind == "knowledge-query":
        return await _knowledge_query(ctx, spec, arguments)
    if kind == "text-completion":
        return (await ctx.prompt("question", {"question": str(arguments.get("question", ""))})).text or ""
    if kind == "prompt":
        result = await ctx.prompt(str(spec.get("template", "")), dict(arguments))
        return result.text if result.text is not None else json.dumps(result.object)
    if kind == "mcp-tool":
        return await _mcp(ctx, spec, name, arguments)
    raise RuntimeError(f"Tool type {kind} is not available on the local gateway")


@handles("agent")
async def agent(ctx: Ctx, request: Any) -> Stream:
    question = request["question"]
    collection = str(request.get("collection", "default"))
    streaming = bool(request.get("streaming", False))
    history_in = request.get("history", []) or []

    async def work(emit: Emit) -> None:
        try:
            await _agent(ctx, emit, str(question), collection, streaming, list(history_in))
        except Exception as exc:
            logger.info("agent failed: %s", exc)
            await emit(AGENT_ERROR, True)

    async for item in pump(work):
        yield item


def _frame(
    kind: str, content: str, message_id: str, end_of_message: bool, end_of_dialog: bool = False
) -> dict[str, Any]:
    """An agent frame; ``content`` is left out when empty, as the 2.11 translator does."""
    frame: dict[str, Any] = {"message_type": kind}
    if content:
        frame["content"] = content
    frame.update({"end_of_message": end_of_message, "end_of_dialog": end_of_dialog, "message_id": message_id})
    return frame


def _history(history_in: list[Any]) -> list[dict[str, Any]]:
    """The request's earlier steps, in the form the ``agent-react`` template sees."""
    return [
        {
            "thought": h.get("thought", ""),
            "action": h.get("action", ""),
            "arguments": h.get("arguments", {}),
            "observation": h.get("observation", ""),
        }
        for h in history_in
        if isinstance(h, dict)
    ]


async def _react(ctx: Ctx, question: str, tools: dict[str, dict[str, Any]], history: list[dict[str, Any]]) -> Step:
    """Ask ``agent-react`` for the next step."""
    variables = {
        "question": question,
        "context": "",
        "tool_names": ",".join(tools),
        "history": history,
        "tools": [
            {"name": n, "description": s.get("description", ""), "arguments": _tool_arguments(s)}
            for n, s in tools.items()
        ],
    }
    try:
        result = await ctx.prompt("agent-react", variables)
    except (ModelError, RuntimeError) as exc:
        raise RuntimeError(f"agent-react failed: {exc}") from exc
    return parse_react(result.text or "")


@dataclass
class _Dialog:
    """One agent request: where its frames, explainability and saved answers go."""

    ctx: Ctx
    emit: Emit
    collection: str
    streaming: bool
    base: str  # the session's explain URI; every step's URI starts with it

    async def explain(self, explain_id: str, triples: list[Any]) -> None:
        await self.ctx.explain(self.collection, explain_id, triples)
        await self.emit(
            {
                "message_type": "explain",
                "end_of_message": False,
                "end_of_dialog": False,
                "explain_id": explain_id,
                "explain_graph": explain.GRAPH_RETRIEVAL,
                "explain_triples": triples,
            },
            False,
        )

    async def text(self, kind: str, text: str, message_id: str, last: bool) -> None:
        """A thought or answer: word by word when streaming, else one frame."""
        pieces = word_chunks(text) if self.streaming else [text]
        for index, piece in enumerate(pieces):
            await self.emit(_frame(kind, piece, message_id, last and index == len(pieces) - 1), False)

    async def act(self, iteration: int, step: Step, tools: dict[str, dict[str, Any]], previous: str) -> tuple[str, str]:
        """Run the step's tool and report it: its observation and the observation's URI."""
        thought_uri = f"{self.base}/i{iteration}/thought"
        iteration_uri = f"{self.base}/i{iteration}"
        await self.explain(
            iteration_uri,
            explain.agent_iteration(
                iteration_uri, previous, step.action, step.arguments, thought_uri if step.thought else None
            ),
        )
        if step.thought:
            self.ctx.save_answer(thought_uri, step.thought, "Agent thought")
        observation_uri = f"{self.base}/i{iteration}/observation"
        error: str | None = None
        try:
            observation = await _run_tool(self.ctx, tools.get(step.action), step.action, step.arguments)
        except Exception as exc:
            error = str(exc)
            observation = f"Error: {exc}"
        await self.emit(_frame("observation", observation, observation_uri, True), False)
        self.ctx.save_answer(observation_uri, observation, "Agent observation")
        await self.explain(observation_uri, explain.agent_observation(observation_uri, iteration_uri, error))
        return observation, observation_uri

    async def finish(self, question: str, answer: str, previous: str) -> None:
        """The answer (streamed, or in the last frame), saved and explained."""
        final_uri = f"{self.base}/final"
        if self.streaming:
            await self.text("answer", answer, final_uri, False)
        self.ctx.save_answer(f"{self.base}/answer", answer, f"Agent Answer: {question[:50]}...")
        await self.explain(final_uri, explain.agent_final(final_uri, previous, f"{self.base}/answer"))
        await self.emit(_frame("answer", "" if self.streaming else answer, final_uri, True, True), True)


async def _agent(ctx: Ctx, emit: Emit, question: str, collection: str, streaming: bool, history_in: list[Any]) -> None:
    session = str(uuid.uuid4())
    base = f"urn:trustgraph:agent:{session}"
    dialog = _Dialog(ctx, emit, collection, streaming, base)
    await dialog.explain(base, explain.question(base, question, "AgentQuestion", "Agent Question"))
    tools = _tools(ctx)
    history = _history(history_in)
    previous = base
    answer: str | None = None
    for iteration in range(1, MAX_ITERATIONS + 1):
        step = await _react(ctx, question, tools, history)
        if step.thought:
            await dialog.text("thought", step.thought, f"{base}/i{iteration}/thought", True)
        if step.answer is not None:
            answer = step.answer
            break
        observation, previous = await dialog.act(iteration, step, tools, previous)
        history.append(
            {"thought": step.thought, "action": step.action, "arguments": step.arguments, "observation": observation}
        )
    if answer is None:  # out of iterations: the last observation is the answer
        answer = str(history[-1]["observation"]) if history else ""
    await dialog.finish(question, answer, previous)
