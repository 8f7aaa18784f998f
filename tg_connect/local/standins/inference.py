"""Model-backed flow services: text-completion, prompt, embeddings, reranker, image-to-text,
and the services whose real back ends are models the local gateway does not have (mcp-tool,
cloze, decision-scoring, field-extraction), answered deterministically.

Each handler decodes its request as the 2.11 translator does (a missing required key raises,
which the gateway turns into ``{"error": {"type": "gateway-error", ...}}``) and answers
failures the way that service's translator encodes them: dropped for text-completion
(``{"response": null, "end_of_stream": true}``), prompt (``{"end_of_stream": true}``),
embeddings (``{"vectors": []}``), reranker, image-to-text and mcp-tool (``{}``).
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from .flowctx import Ctx, Emit, PromptError, Stream, pump
from .model import EMBEDDING_DIM, ModelError, embed, overlap_score, words
from .registration import handles

logger = logging.getLogger("tg_connect.local")


def _usage(frame: dict[str, Any], in_token: int | None, out_token: int | None, model: str | None) -> dict[str, Any]:
    if in_token is not None:
        frame["in_token"] = in_token
    if out_token is not None:
        frame["out_token"] = out_token
    if model is not None:
        frame["model"] = model
    return frame


# -- text-completion --------------------------------------------------------------------------


@handles("text-completion")
async def text_completion(ctx: Ctx, request: Any) -> Stream:
    """``{"response", "in_token", "out_token", "model", "end_of_stream"}``; streaming sends one
    frame per chunk, then an empty final one with the usage. ``operation: list-models`` answers
    ``models``. A failing LLM gives the real dropped-error reply."""
    operation = request.get("operation", "completion")
    system = request.get("system", "")
    prompt = request.get("prompt", "")
    streaming = request.get("streaming", False)
    response_format = request.get("response_format")
    schema = request.get("schema")
    dropped = {"response": None, "end_of_stream": True}
    if operation == "list-models":
        try:
            models = await ctx.model.list_models()
        except ModelError as exc:
            logger.info("list-models failed: %s", exc)
            yield dropped, True
            return
        reply: dict[str, Any] = {"response": "", "end_of_stream": True}
        if models:
            reply["models"] = models
        yield reply, True
        return
    try:
        if not streaming:
            result = await ctx.model.complete(str(system or ""), str(prompt or ""), response_format, schema)
            yield (
                _usage({"response": result.text}, result.in_token, result.out_token, result.model)
                | {"end_of_stream": True},
                True,
            )
            return
        async for chunk in ctx.model.stream(str(system or ""), str(prompt or ""), response_format, schema):
            if chunk.final:
                yield (
                    _usage({"response": ""}, chunk.in_token, chunk.out_token, chunk.model) | {"end_of_stream": True},
                    True,
                )
                return
            frame = _usage({"response": chunk.text}, None, None, chunk.model)
            frame["end_of_stream"] = False
            yield frame, False
    except ModelError as exc:
        logger.info("text-completion failed: %s", exc)
        yield dropped, True


# -- prompt -------------------------------------------------------------------------------------


def prompt_terms(request: Any) -> dict[str, Any]:
    """The translator's ``terms`` (JSON strings) or ``variables`` (JSON-encoded per value)."""
    terms = request.get("terms", {})
    if "variables" in request:
        terms = {k: json.dumps(v) for k, v in request["variables"].items()}
    return terms  # type: ignore[no-any-return]


@handles("prompt")
async def prompt(ctx: Ctx, request: Any) -> Stream:
    """Render a template from config type ``prompt`` and run it through the model.

    ``{"text" | "object", "end_of_stream", tokens}``; a JSON template answers ``object``, a
    JSON-encoded string. Streaming forwards the model's chunks as ``text`` (JSON templates too,
    as in 2.11). Any failure (unknown template, a term that is not JSON, the model) gives the
    real dropped-error reply ``{"end_of_stream": true}``.
    """
    terms = prompt_terms(request)
    template_id = request.get("id")
    streaming = request.get("streaming", False)

    async def work(emit: Emit) -> None:
        async def on_chunk(text: str, final: bool) -> None:
            if text and not final:  # the final frame, with the usage, is sent below
                await emit({"text": text, "end_of_stream": False, "model": ctx.model.name}, False)

        try:
            variables = {k: json.loads(v) for k, v in terms.items()}
            result = await ctx.prompt(str(template_id), variables, on_chunk if streaming else None)
        except (PromptError, ValueError, TypeError, AttributeError) as exc:
            logger.info("prompt %s failed: %s", template_id, exc)
            await emit({"end_of_stream": True}, True)
            return
        if streaming:
            frame: dict[str, Any] = {"text": "", "end_of_stream": True}
        elif result.is_object:
            frame = {"object": json.dumps(result.object), "end_of_stream": True}
        else:
            frame = {"text": result.text, "end_of_stream": True}
        await emit(_usage(frame, result.in_token, result.out_token, result.model), True)

    async for item in pump(work):
        yield item


# -- embeddings and reranking ----------------------------------------------------------------------


@handles("embeddings")
async def embeddings(ctx: Ctx, request: Any) -> Stream:
    """``{"vectors": [[float] * EMBEDDING_DIM]}``: the built-in word-hash embedder, one vector
    per text (the real test deployment's has 16 dimensions; see :func:`.model.embed`)."""
    texts = request["texts"]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        yield {"vectors": []}, True  # the embeddings service fails; the error is dropped
        return
    yield {"vectors": [embed(t, EMBEDDING_DIM) for t in texts]}, True


@handles("reranker")
async def reranker(ctx: Ctx, request: Any) -> Stream:
    """``{"results": [{document_id, query_id, score}]}``: word overlap (shared words over query
    words, plus 1e-3), best first, ties in document order, cut to ``limit`` (0 = all)."""
    queries = [(q["query_id"], q["query_text"]) for q in request.get("queries", [])]
    documents = [(d["document_id"], d["document_text"]) for d in request.get("documents", [])]
    limit = request.get("limit", 10)
    scored = []
    for query_id, query_text in queries:
        for index, (document_id, document_text) in enumerate(documents):
            score = overlap_score(str(query_text), str(document_text))
            scored.append((-score, index, {"document_id": document_id, "query_id": query_id, "score": score}))
    scored.sort(key=lambda item: (item[0], item[1]))
    try:
        cut = int(limit) if limit else len(scored)
    except (TypeError, ValueError):
        yield {"results": []}, True
        return
    yield {"results": [r for _s, _i, r in scored[:cut]]}, True


# -- image-to-text ---------------------------------------------------------------------------------


@handles("image-to-text")
async def image_to_text(ctx: Ctx, request: Any) -> Stream:
    """``{"description", tokens}``. The built-in model does not look at images: it answers the
    prompt as a text completion (``"echo: X"`` -> ``X``). With ``--llm-url`` the image goes to the
    endpoint as an OpenAI vision message. Failures are dropped: ``{"description": ""}``."""
    base64.b64decode(request["image"], validate=True)  # the translator validates; raises binascii.Error
    image = request["image"]
    mime_type = request["mime_type"]
    try:
        result = await ctx.model.describe_image(
            str(image), str(mime_type), str(request.get("system", "")), str(request.get("prompt", ""))
        )
    except ModelError as exc:
        logger.info("image-to-text failed: %s", exc)
        yield {"description": ""}, True
        return
    yield _usage({"description": result.text}, result.in_token, result.out_token, result.model), True


# -- services without a local back end -----------------------------------------------------------


@handles("mcp-tool")
async def mcp_tool(ctx: Ctx, request: Any) -> Stream:
    """MCP tools are remote servers the local gateway cannot reach offline. Built in, tool
    ``echo`` returns its parameters (an object as ``object``, anything else as ``text``); any
    other tool fails as a real one without a reachable server does, and the 2.11 translator
    drops the error: ``{}``."""
    name = request.get("name", "")
    parameters = json.dumps(request["parameters"]) if "parameters" in request else None
    if name != "echo":
        yield {}, True
        return
    value = json.loads(parameters) if parameters is not None else None
    if isinstance(value, (dict, list)) and value:
        yield {"object": value}, True
    elif value:
        yield {"text": value if isinstance(value, str) else json.dumps(value)}, True
    else:
        yield {}, True


@handles("cloze")
async def cloze(ctx: Ctx, request: Any) -> Stream:
    """Label prediction. Models are config type ``cloze``: key = model name, value
    ``{"labels": [...]}``. ``predict`` picks the label sharing the most words with ``query``
    (confidence = the share of the label's words found; ties: first label); ``list-models``
    lists the configured models (state ``ready``). An unknown model or operation is a visible
    ``cloze-error``."""
    operation = request.get("operation", "predict")
    model = request.get("model", "")
    query = request.get("query", "")
    configured: dict[str, list[str]] = {}
    for name, value in ctx.config("cloze").items():
        try:
            labels = json.loads(value).get("labels", [])
            configured[name] = [str(x) for x in labels]
        except (ValueError, AttributeError):
            continue
    if operation == "list-models":
        reply: dict[str, Any] = {"label": "", "confidence": 0.0}
        if configured:
            reply["models"] = [
                {"name": n, "state": "ready", "labels": ls, "accuracy": None, "train_size": None, "test_size": None}
                for n, ls in configured.items()
            ]
        yield reply, True
        return
    if operation != "predict":
        yield (
            {
                "label": "",
                "confidence": 0.0,
                "error": {"type": "cloze-error", "message": f"Unknown operation: {operation}"},
            },
            True,
        )
        return
    labels = configured.get(str(model))
    if labels is None:
        yield (
            {"label": "", "confidence": 0.0, "error": {"type": "cloze-error", "message": f"Unknown model: {model}"}},
            True,
        )
        return
    best, confidence = "", 0.0
    query_words = words(str(query))
    for label in labels:
        label_words = words(label)
        score = len(label_words & query_words) / (len(label_words) or 1)
        if score > confidence:
            best, confidence = label, score
    yield {"label": best, "confidence": confidence}, True


def _state_text(state: Any) -> str:
    return json.dumps(state) if not isinstance(state, str) else state


@handles("decision-scoring")
async def decision_scoring(ctx: Ctx, request: Any) -> Stream:
    """``{"answers": {key: score}, "model": "word-overlap"}``: for each question, the share of
    its words found in the state (its JSON text), between 0 and 1."""
    state = request.get("state", {})
    questions = request.get("questions", {})
    if not isinstance(questions, dict):
        yield (
            {
                "answers": {},
                "model": "word-overlap",
                "error": {"type": "decision-scoring-error", "message": "questions must be an object"},
            },
            True,
        )
        return
    state_words = words(_state_text(state))
    answers = {}
    for key, question in questions.items():
        qw = words(question if isinstance(question, str) else json.dumps(question))
        answers[key] = len(qw & state_words) / (len(qw) or 1)
    yield {"answers": answers, "model": "word-overlap"}, True


@handles("field-extraction")
async def field_extraction(ctx: Ctx, request: Any) -> Stream:
    """``{"answers": {field: value}, "model": "state-lookup"}``: each requested field is looked
    up in the state by name (exactly, then ignoring case); a missing field answers ``""``."""
    state = request.get("state", {})
    fields = request.get("fields", {})
    if not isinstance(fields, dict) or not isinstance(state, dict):
        yield (
            {
                "answers": {},
                "model": "state-lookup",
                "error": {"type": "field-extraction-error", "message": "state and fields must be objects"},
            },
            True,
        )
        return
    lowered = {str(k).lower(): v for k, v in state.items()}
    answers = {}
    for name in fields:
        value = state.get(name, lowered.get(str(name).lower(), ""))
        answers[name] = value
    yield {"answers": answers, "model": "state-lookup"}, True
