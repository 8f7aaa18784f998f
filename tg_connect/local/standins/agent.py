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
        for key, marker in (("thought", "Thought:"), ("action", "Action:"), ("args", "Args:"),
                            ("answer", "Final Answer:")):
            if stripped.startswith(marker):
                section = key
                buffers[key].append(stripped[len(marker):].strip())
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
    return [{"name": a.get("name", ""), "type": a.get("type", "string"), "description": a.get("description", "")}
            for a in spec.get("arguments", []) if isinstance(a, dict)]


async def _run_tool(ctx: Ctx, spec: dict[str, Any] | None, name: str, arguments: dict[str, Any],
                    collection: str) -> str:
    if spec is None:
        raise RuntimeError(f"No action for {name}!")
    kind = spec.get("type")
    if kind == "knowledge-query":
        question = str(arguments.get("question", ""))
        answer = ""
        rag_request = {"query": question, "collection": spec.get("collection") or "default"}
        async for frame, _final in graph_rag(ctx, rag_request):
            if frame.get("error"):
                raise RuntimeError(frame["error"]["message"])
            if frame.get("end_of_session"):
                answer = frame.get("response", "")
        return str(answer)
    if kind == "text-completion":
        return (await ctx.prompt("question", {"question": str(arguments.get("question", ""))})).text or ""
    if kind == "prompt":
        result = await ctx.prompt(str(spec.get("template", "")), dict(arguments))
        return result.text if result.text is not None else json.dumps(result.object)
    if kind == "mcp-tool":
        reply: dict[str, Any] = {}
        async for frame, _final in mcp_tool(ctx, {"name": spec.get("mcp-tool", name), "parameters": arguments}):
            reply = frame
        if "text" in reply:
            return str(reply["text"])
        if "object" in reply:
            return json.dumps(reply["object"])
        raise RuntimeError(f"MCP tool {name} failed")
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


async def _agent(ctx: Ctx, emit: Emit, question: str, collection: str, streaming: bool,
                 history_in: list[Any]) -> None:
    session = str(uuid.uuid4())
    base = f"urn:trustgraph:agent:{session}"

    async def send_explain(explain_id: str, triples: list[Any]) -> None:
        await ctx.explain(collection, explain_id, triples)
        await emit({"message_type": "explain", "end_of_message": False, "end_of_dialog": False,
                    "explain_id": explain_id, "explain_graph": explain.GRAPH_RETRIEVAL,
                    "explain_triples": triples}, False)

    async def send_text(kind: str, text: str, message_id: str, last: bool) -> None:
        """A thought or answer: word by word when streaming, else one frame."""
        pieces = word_chunks(text) if streaming else [text]
        for index, piece in enumerate(pieces):
            end = last and index == len(pieces) - 1
            frame: dict[str, Any] = {"message_type": kind}
            if piece:
                frame["content"] = piece
            frame.update({"end_of_message": end, "end_of_dialog": False, "message_id": message_id})
            await emit(frame, False)

    await send_explain(base, explain.question(base, question, "AgentQuestion", "Agent Question"))
    tools = _tools(ctx)
    history = [{"thought": h.get("thought", ""), "action": h.get("action", ""),
                "arguments": h.get("arguments", {}), "observation": h.get("observation", "")}
               for h in history_in if isinstance(h, dict)]
    previous = base
    answer: str | None = None
    for iteration in range(1, MAX_ITERATIONS + 1):
        variables = {
            "question": question, "context": "", "tool_names": ",".join(tools), "history": history,
            "tools": [{"name": n, "description": s.get("description", ""), "arguments": _tool_arguments(s)}
                      for n, s in tools.items()],
        }
        try:
            result = await ctx.prompt("agent-react", variables)
        except (ModelError, RuntimeError) as exc:
            raise RuntimeError(f"agent-react failed: {exc}") from exc
        step = parse_react(result.text or "")
        thought_uri = f"{base}/i{iteration}/thought"
        if step.thought:
            await send_text("thought", step.thought, thought_uri, True)
        if step.answer is not None:
            answer = step.answer
            break
        iteration_uri = f"{base}/i{iteration}"
        await send_explain(iteration_uri, explain.agent_iteration(iteration_uri, previous, step.action,
                                                                  step.arguments,
                                                                  thought_uri if step.thought else None))
        if step.thought:
            ctx.save_answer(thought_uri, step.thought, "Agent thought")
        observation_uri = f"{base}/i{iteration}/observation"
        error: str | None = None
        try:
            observation = await _run_tool(ctx, tools.get(step.action), step.action, step.arguments, collection)
        except Exception as exc:
            error = str(exc)
            observation = f"Error: {exc}"
        frame: dict[str, Any] = {"message_type": "observation"}
        if observation:
            frame["content"] = observation
        frame.update({"end_of_message": True, "end_of_dialog": False, "message_id": observation_uri})
        await emit(frame, False)
        ctx.save_answer(observation_uri, observation, "Agent observation")
        await send_explain(observation_uri, explain.agent_observation(observation_uri, iteration_uri, error))
        history.append({"thought": step.thought, "action": step.action, "arguments": step.arguments,
                        "observation": observation})
        previous = observation_uri
    if answer is None:  # out of iterations: the last observation is the answer
        answer = str(history[-1]["observation"]) if history else ""
    final_uri = f"{base}/final"
    if streaming:
        await send_text("answer", answer, final_uri, False)
    ctx.save_answer(f"{base}/answer", answer, f"Agent Answer: {question[:50]}...")
    await send_explain(final_uri, explain.agent_final(final_uri, previous, f"{base}/answer"))
    last: dict[str, Any] = {"message_type": "answer"}
    if answer and not streaming:
        last["content"] = answer
    last.update({"end_of_message": True, "end_of_dialog": True, "message_id": final_uri})
    await emit(last, True)
