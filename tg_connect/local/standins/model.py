"""The local gateway's built-in models, so every service runs offline and deterministically.

* :class:`ScriptedModel` is the real test deployment's scripted LLM
  (``real-gateway/tg_local/echo_llm.py``): a prompt ``"echo: X"`` is answered ``X``, a
  prompt ``"fail: X"`` fails (the gateway then sends the LLM's dropped-error reply), anything
  else is answered ``"The quick brown fox jumps over the lazy dog."``. Streaming sends one
  chunk per word, each with the whitespace before it (so the chunks join back to the exact
  reply), then an empty final chunk carrying the token counts. Token counts are word counts.
* :class:`OpenAIModel` (``tg-connect serve --llm-url URL``) sends the same requests to any
  OpenAI-compatible ``/chat/completions`` endpoint instead, streaming over server-sent events.
* :func:`embed` is the real test deployment's word-hash embedder (``hash_embeddings.py``: word
  counts in buckets chosen by SHA-256), run with 1,024 buckets where that deployment uses 16,
  and :func:`overlap_score` its word-overlap reranker. With 16 buckets two different words
  share a bucket one time in 16, so texts that differ only in a generated id (a run id, a
  uuid) get the same vector about 1% of the time; with 1,024 a two-word text collides that
  way about 3 times in a million.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import numpy as np

logger = logging.getLogger("tg_connect.local")

ECHO_REPLY = "The quick brown fox jumps over the lazy dog."
SCRIPTED_MODEL = "echo-test-1"
EMBEDDING_DIM = 1024  # buckets of the word-hash embedder (the real test deployment's `dim`)
EMBEDDING_MODEL = f"hash-{EMBEDDING_DIM}"
_WORD = re.compile(r"[a-z0-9]+")
_CHUNK = re.compile(r"\s*\S+")


class ModelError(RuntimeError):
    """The LLM failed (the scripted ``fail:`` prompt, an HTTP error, a bad reply)."""


@dataclass
class Completion:
    text: str
    in_token: int | None
    out_token: int | None
    model: str | None


@dataclass
class Chunk:
    """One streamed piece; the final one has ``final`` set, empty text and the usage."""

    text: str
    final: bool
    model: str | None
    in_token: int | None = None
    out_token: int | None = None


class LanguageModel(Protocol):
    name: str

    async def complete(
        self, system: str, prompt: str, response_format: Any = None, schema: Any = None
    ) -> Completion: ...

    def stream(
        self, system: str, prompt: str, response_format: Any = None, schema: Any = None
    ) -> AsyncIterator[Chunk]: ...

    async def list_models(self) -> list[dict[str, Any]]: ...

    async def describe_image(self, image: str, mime_type: str, system: str, prompt: str) -> Completion: ...

    async def aclose(self) -> None: ...


def word_chunks(text: str) -> list[str]:
    """``text`` cut before each run of whitespace: ``"".join(word_chunks(t)) == t`` (modulo
    trailing whitespace)."""
    return _CHUNK.findall(text)


def scripted_reply(prompt: str) -> str:
    prompt = prompt or ""
    if prompt.startswith("fail:"):
        raise ModelError("scripted failure: " + prompt[5:].strip())
    if prompt.startswith("echo:"):
        return prompt[len("echo:") :].strip()
    return ECHO_REPLY


def _words(text: str) -> int:
    return len((text or "").split())


class ScriptedModel:
    """The deterministic built-in LLM (see the module docstring)."""

    name = SCRIPTED_MODEL

    async def complete(self, system: str, prompt: str, response_format: Any = None, schema: Any = None) -> Completion:
        text = scripted_reply(prompt)
        return Completion(text, _words(system) + _words(prompt), _words(text), self.name)

    async def stream(
        self, system: str, prompt: str, response_format: Any = None, schema: Any = None
    ) -> AsyncIterator[Chunk]:
        words = word_chunks(scripted_reply(prompt))
        for word in words:
            yield Chunk(word, False, self.name)
        yield Chunk("", True, self.name, _words(system) + _words(prompt), len(words))

    async def list_models(self) -> list[dict[str, Any]]:
        return [{"id": self.name, "name": "Echo test model", "owned_by": "tg-connect", "context_length": 4096}]

    async def describe_image(self, image: str, mime_type: str, system: str, prompt: str) -> Completion:
        """The scripted model ignores the image and answers the prompt as a completion."""
        return await self.complete(system, prompt)

    async def aclose(self) -> None:
        return None


class OpenAIModel:
    """Forward completions to an OpenAI-compatible server (``POST <base>/chat/completions``).

    ``url`` is the API base (``http://host:11434/v1``) or the full ``/chat/completions`` URL.
    The model is ``model``, else ``$TG_CONNECT_LLM_MODEL``, else the first one ``GET <base>/models``
    lists. A bearer key is read from ``$TG_CONNECT_LLM_API_KEY`` or ``$OPENAI_API_KEY`` and is
    never logged.
    """

    def __init__(self, url: str, model: str | None = None, api_key: str | None = None, timeout: float = 600.0) -> None:
        url = url.rstrip("/")
        suffix = "/chat/completions"
        self.base = url[: -len(suffix)] if url.endswith(suffix) else url
        self.chat_url = self.base + suffix
        self._model = model or os.environ.get("TG_CONNECT_LLM_MODEL") or None
        self._api_key = api_key or os.environ.get("TG_CONNECT_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self.name = self._model or "openai-compatible"

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIModel({self.base!r}, model={self._model!r})"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _model_name(self) -> str:
        if self._model is None:
            try:
                models = await self.list_models()
                self._model = models[0]["id"] if models else "default"
            except ModelError:
                self._model = "default"
            self.name = self._model
        return self._model

    async def _post(self, body: dict[str, Any]) -> aiohttp.ClientResponse:
        try:
            response = await self._client().post(self.chat_url, json=body, headers=self._headers())
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ModelError(f"LLM request failed: {exc!r}") from exc
        if response.status >= 400:
            text = await response.text()
            response.release()
            raise ModelError(f"LLM returned HTTP {response.status}: {text[:500]}")
        return response

    async def _body(self, system: str, prompt: str, response_format: Any, schema: Any, stream: bool) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": prompt})
        body: dict[str, Any] = {"model": await self._model_name(), "messages": messages, "stream": stream}
        if response_format == "json":
            if isinstance(schema, dict):
                body["response_format"] = {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
            else:
                body["response_format"] = {"type": "json_object"}
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body

    async def _completion(self, response: Any) -> Completion:
        """A non-streamed chat-completions reply as a :class:`Completion`."""
        async with response:
            try:
                reply = await response.json(content_type=None)
                text = reply["choices"][0]["message"]["content"] or ""
            except (ValueError, KeyError, IndexError, TypeError, aiohttp.ClientError) as exc:
                raise ModelError(f"unexpected LLM reply: {exc}") from exc
        usage = reply.get("usage") or {}
        return Completion(
            str(text), usage.get("prompt_tokens"), usage.get("completion_tokens"), reply.get("model") or self.name
        )

    async def complete(self, system: str, prompt: str, response_format: Any = None, schema: Any = None) -> Completion:
        response = await self._post(await self._body(system, prompt, response_format, schema, False))
        return await self._completion(response)

    async def stream(
        self, system: str, prompt: str, response_format: Any = None, schema: Any = None
    ) -> AsyncIterator[Chunk]:
        response = await self._post(await self._body(system, prompt, response_format, schema, True))
        model = self.name
        usage: dict[str, Any] = {}
        pieces = 0
        async with response:
            try:
                async for event in self._events(response):
                    model = event.get("model") or model
                    usage = event.get("usage") or usage
                    for choice in event.get("choices") or []:
                        text = (choice.get("delta") or {}).get("content") if isinstance(choice, dict) else None
                        if text:
                            pieces += 1
                            yield Chunk(str(text), False, model)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                raise ModelError(f"LLM stream failed: {exc!r}") from exc
        yield Chunk(
            "",
            True,
            model,
            usage.get("prompt_tokens", _words(system) + _words(prompt)),
            usage.get("completion_tokens", pieces),
        )

    @staticmethod
    async def _events(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
        """The JSON events of a server-sent event stream, up to ``data: [DONE]``."""
        buffer = b""
        async for data in response.content.iter_any():
            buffer += data
            while b"\n" in buffer:
                raw, buffer = buffer.split(b"\n", 1)
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                payload = line[len("data:") :].strip()
                if payload == "[DONE]":
                    return
                try:
                    event = json.loads(payload)
                except ValueError as exc:
                    raise ModelError(f"bad server-sent event from the LLM: {payload[:200]}") from exc
                if isinstance(event, dict):
                    if event.get("error"):
                        raise ModelError(f"LLM error: {event['error']}")
                    yield event

    async def list_models(self) -> list[dict[str, Any]]:
        try:
            async with self._client().get(self.base + "/models", headers=self._headers()) as response:
                if response.status >= 400:
                    raise ModelError(f"LLM returned HTTP {response.status} for /models")
                reply = await response.json(content_type=None)
        except (aiohttp.ClientError, OSError, ValueError, TimeoutError) as exc:
            raise ModelError(f"LLM model list failed: {exc!r}") from exc
        out = []
        for item in reply.get("data") or [] if isinstance(reply, dict) else []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                info: dict[str, Any] = {"id": item["id"]}
                if isinstance(item.get("owned_by"), str):
                    info["owned_by"] = item["owned_by"]
                if isinstance(item.get("created"), int):
                    info["created"] = item["created"]
                out.append(info)
        return out

    async def describe_image(self, image: str, mime_type: str, system: str, prompt: str) -> Completion:
        messages: list[dict[str, Any]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": prompt or "Describe this image."},
                    {"type": "image_url", "image_url": {"url": f"data:{mime_type};base64,{image}"}},
                ],
            }
        )
        response = await self._post({"model": await self._model_name(), "messages": messages, "stream": False})
        return await self._completion(response)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def make_model(llm_url: str | None, llm_model: str | None = None) -> LanguageModel:
    return ScriptedModel() if not llm_url else OpenAIModel(llm_url, llm_model)


# -- embeddings and reranking -----------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def _bucket(word: str, dim: int) -> int:
    return int(hashlib.sha256(word.encode("utf-8")).hexdigest()[:8], 16) % dim


def embed(text: str, dim: int = EMBEDDING_DIM) -> list[float]:
    """Word-hash vector: lower-case words (runs of ``[a-z0-9]``) counted into ``dim`` buckets
    (the first 32 bits of the word's SHA-256, modulo ``dim``), not normalised, so the numbers
    are small integers, exact in JSON and in float32, and cosine similarity is word overlap.
    The real test deployment's ``hash_embed(text, dim)``, value for value."""
    vec = [0.0] * dim
    for word in _WORD.findall((text or "").lower()):
        vec[_bucket(word, dim)] += 1.0
    return vec


def words(text: str) -> set[str]:
    return set(_WORD.findall((text or "").lower()))


def overlap_score(query: str, document: str) -> float:
    """The test reranker's score: shared words / query words, plus 1e-3."""
    qw = words(query)
    return len(qw & words(document)) / (len(qw) or 1) + 1e-3


def cosine(matrix: np.ndarray[Any, Any], vector: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Cosine similarity of each row with ``vector`` (0 where either is all zeros)."""
    norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(vector))
    dots = matrix @ vector
    with np.errstate(divide="ignore", invalid="ignore"):
        scores: np.ndarray[Any, Any] = np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), 0.0)
    return scores
