"""What a flow-service handler gets: the back end, the workspace and the flow, plus the calls
services make to each other (prompt -> text completion, graph-rag -> prompt, embeddings, ...).

In a real deployment these are pub/sub requests between processors; here they are plain
function calls, with the same inputs, outputs and failure modes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .model import Chunk, Completion, LanguageModel, ModelError
from .templates import Prompts, parse_json_reply, parse_jsonl_reply

if TYPE_CHECKING:
    from ..storage.backend import Backend

logger = logging.getLogger("tg_connect.local")

Frame = tuple[Any, bool]
Stream = AsyncIterator[Frame]
ChunkCallback = Callable[[str, bool], Awaitable[None]]

GRAPH_RETRIEVAL = "urn:graph:retrieval"


class PromptError(RuntimeError):
    """The prompt service failed (unknown template, bad term, LLM failure, bad JSON)."""


@dataclass
class PromptResult:
    text: str | None
    object: Any
    is_object: bool
    in_token: int | None
    out_token: int | None
    model: str | None


@dataclass
class Ctx:
    backend: Backend
    workspace: str
    flow: str

    @property
    def model(self) -> LanguageModel:
        return self.backend.model

    def config(self, type_: str) -> dict[str, str]:
        return dict(self.backend.config.values(self.workspace, type_))

    def prompts(self) -> Prompts | None:
        """The workspace's compiled prompt templates (``None`` without a ``prompt`` config)."""
        key = ("prompts", self.workspace)
        version = self.backend.config.version
        cached = self.backend.cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]  # type: ignore[no-any-return]
        config = self.config("prompt")
        prompts: Prompts | None
        try:
            prompts = Prompts(config) if config else None
        except Exception as exc:  # a template that does not compile: the whole config fails
            logger.info("prompt configuration of %s does not load: %s", self.workspace, exc)
            prompts = None
        self.backend.cache[key] = (version, prompts)
        return prompts

    # -- service calls --------------------------------------------------------------------

    async def complete(
        self,
        system: str,
        prompt: str,
        on_chunk: ChunkCallback | None = None,
        response_format: Any = None,
        schema: Any = None,
    ) -> Completion:
        """A text completion; with ``on_chunk`` streamed (``on_chunk(text, end_of_stream)``)."""
        if on_chunk is None:
            return await self.model.complete(system, prompt, response_format, schema)
        pieces: list[str] = []
        final: Chunk | None = None
        async for chunk in self.model.stream(system, prompt, response_format, schema):
            if chunk.final:
                final = chunk
            else:
                pieces.append(chunk.text)
            await on_chunk(chunk.text, chunk.final)
        if final is None:
            raise ModelError("the LLM stream ended without a final chunk")
        return Completion("".join(pieces), final.in_token, final.out_token, final.model)

    async def prompt(
        self, template_id: str, variables: dict[str, Any], on_chunk: ChunkCallback | None = None
    ) -> PromptResult:
        """Render a template and run it, as the prompt service does (raises :class:`PromptError`).

        Streaming forwards the LLM's chunks unparsed (a JSON template streams text, as in the
        real service); non-streaming parses ``json``/``jsonl`` replies into :attr:`PromptResult.object`.
        """
        prompts = self.prompts()
        if prompts is None:
            raise PromptError(f"No prompt configuration for workspace {self.workspace}")
        try:
            system, text, template = prompts.render(template_id, variables)
        except KeyError as exc:
            raise PromptError(str(exc.args[0] if exc.args else exc)) from exc
        except Exception as exc:
            raise PromptError(f"template {template_id}: {exc}") from exc
        use_schema = template.response_type == "json" and isinstance(template.schema, dict)
        try:
            result = await self.complete(
                system, text, on_chunk, "json" if use_schema else None, template.schema if use_schema else None
            )
        except ModelError as exc:
            raise PromptError(str(exc)) from exc
        if on_chunk is not None or template.response_type == "text":
            return PromptResult(result.text, None, False, result.in_token, result.out_token, result.model)
        if template.response_type == "json":
            try:
                obj = parse_json_reply(result.text)
            except (ValueError, TypeError) as exc:
                raise PromptError("JSON parse fail") from exc
        elif template.response_type == "jsonl":
            obj = parse_jsonl_reply(result.text)
        else:
            raise PromptError(f"Response type {template.response_type} not known")
        if isinstance(obj, str):  # the real service sends a string result as text
            return PromptResult(obj, None, False, result.in_token, result.out_token, result.model)
        return PromptResult(None, obj, True, result.in_token, result.out_token, result.model)

    # -- side effects the real retrieval services have ------------------------------------

    async def explain(self, collection: str, explain_id: str, triples: list[dict[str, Any]]) -> None:
        """Publish explainability triples on the flow's ``triples-store`` topic (stored in the
        request's collection, named graph ``urn:graph:retrieval``, and seen by export taps).

        Like the real stores, which drop writes to collections that do not exist, nothing is
        stored for an unknown collection.
        """
        backend = self.backend
        if backend.config.get(self.workspace, "collection", collection) is None:
            return
        topic = backend.topic(self.workspace, self.flow, "triples")
        if topic is None:
            return
        frame = {"metadata": {"id": explain_id, "root": "", "collection": collection}, "triples": triples}
        try:
            await backend.publish(self.workspace, topic, "triples", frame)
        except Exception as exc:  # explainability must never fail the request
            logger.info("explainability not stored: %s", exc)

    def save_answer(self, doc_id: str, text: str, title: str) -> None:
        """Save an answer to the librarian as a ``document-type: answer`` document."""
        if not text:
            return
        library = self.backend.workspace(self.workspace).library
        metadata = {"id": doc_id, "kind": "text/plain", "title": title, "document-type": "answer"}
        try:
            library.add_document(metadata, base64.b64encode(text.encode("utf-8")))
        except Exception as exc:
            logger.info("answer %s not saved: %s", doc_id, exc)

    def fetch_text(self, doc_id: str) -> str:
        """A librarian document's text (raises if there is no such document)."""
        data = self.backend.workspace(self.workspace).library.content(doc_id)
        return data.decode("utf-8", "replace")


def json_terms(variables: dict[str, Any]) -> dict[str, str]:
    """What the gateway's prompt translator makes of ``variables``."""
    return {k: json.dumps(v) for k, v in variables.items()}


Emit = Callable[[Any, bool], Awaitable[None]]


async def pump(work: Callable[[Emit], Awaitable[None]], size: int = 64) -> Stream:
    """Run ``work(emit)`` and yield what it emits, as it emits it (``emit(frame, final)``).

    The queue is bounded, so a slow reader slows the work down. An exception in ``work``
    propagates after the frames emitted before it.
    """
    queue: asyncio.Queue[tuple[Any, bool] | None] = asyncio.Queue(maxsize=size)

    async def emit(frame: Any, final: bool = False) -> None:
        await queue.put((frame, final))

    async def runner() -> None:
        try:
            await work(emit)
        finally:
            await queue.put(None)

    task = asyncio.ensure_future(runner())
    try:
        while True:
            item = await queue.get()
            if item is None:
                break
            yield item
        await task
    finally:
        if not task.done():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
