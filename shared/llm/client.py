"""``LLMClient``: everything the system does with models, over Ollama's HTTP API.

Chat with a system prompt, JSON-schema structured output, tool calling, embeddings, and model
management (list, pull with streamed progress, create a model from a base with or without adapter
files, show, delete). This is the only module
that imports the client library (``ollama``); callers see ``shared.llm`` types and the errors in
``shared.errors``: no answer at all (connection refused, timeout, HTTP 502/503/504) is
``LLMUnreachable``; any other HTTP error status (or an error reported mid-stream), an empty reply
or output that does not match the requested schema is ``LLMBadAnswer``. Every chat call
(``chat_structured`` is one) is timed in ``batos_llm_call_seconds`` by model (a fine-tune's
versioned tag as ``<name>:fine-tuned``), persona (``shared.llm.persona_context``) and outcome.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import ollama

from shared.errors import LLMBadAnswer, LLMError, LLMUnreachable
from shared.llm.chat import ChatBackend, ChatReply, ToolCall, current_persona, system_and_user
from shared.llm.models import ModelInfo, metric_model_label
from shared.llm.progress import PullProgress
from shared.llm.structured import M, parse_structured
from shared.metrics import LLM_CALL_SECONDS

# The chat vocabulary and the parser are re-exported: ``from shared.llm.client import ...`` keeps working.
__all__ = ["ChatBackend", "ChatReply", "LLMClient", "ModelInfo", "PullProgress", "ToolCall", "parse_structured",
           "system_and_user"]

T = TypeVar("T")
# Statuses that say the server is not there to answer (a proxy without its upstream, a server
# shutting down or overloaded): retried as unreachable, never recorded as the model's answer.
UNAVAILABLE = frozenset({502, 503, 504})


class LLMClient:
    """Ollama backend over ``ollama.AsyncClient`` (a ``ChatBackend``, and model management)."""

    def __init__(self, host: str, timeout_s: float | None = 120.0, client: ollama.AsyncClient | None = None):
        """``timeout_s``: the longest wait for a connection or the next bytes of an answer (None: no limit,
        for a pull, whose server is silent while it verifies gigabytes of weights)."""
        self.host = host
        self._client = client or ollama.AsyncClient(host=host, timeout=timeout_s)

    # --- answers -----------------------------------------------------------------------------
    async def chat(
        self,
        model: str,
        messages: list[dict[str, Any]],
        *,
        format: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
        options: dict[str, Any] | None = None,
    ) -> ChatReply:
        started = time.perf_counter()
        outcome = "unreachable"  # also a cancelled call (a timeout of the caller's)
        try:
            response = await self._client.chat(model=model, messages=messages, format=format, tools=tools,
                                               options=options, stream=False)
            message = response.message
            calls = [ToolCall(name=c.function.name, arguments=dict(c.function.arguments or {}))
                     for c in (message.tool_calls or [])]
            content = message.content or ""
            if not content.strip() and not calls:
                outcome = "bad_answer"
                raise LLMBadAnswer(f"{model} gave an empty answer")
            outcome = "ok"
        except (ConnectionError, httpx.TransportError) as exc:
            raise LLMUnreachable(f"Ollama at {self.host} did not answer: {exc}") from exc
        except ollama.ResponseError as exc:
            if exc.status_code in UNAVAILABLE:  # a proxy without its upstream, a server going away: not an answer
                raise LLMUnreachable(f"Ollama at {self.host} answered HTTP {exc.status_code}: {exc.error}") from exc
            outcome = "bad_answer"
            raise LLMBadAnswer(f"Ollama answered HTTP {exc.status_code} for {model}: {exc.error}") from exc
        finally:
            duration_s = time.perf_counter() - started
            LLM_CALL_SECONDS.labels(metric_model_label(model), current_persona(), outcome).observe(duration_s)
        return ChatReply(model=model, content=content, tool_calls=calls, duration_s=duration_s)

    async def chat_structured(self, model: str, messages: list[dict[str, Any]], schema: type[M]) -> M:
        """Ask for JSON matching ``schema`` (sent as ``format=``) and validate the answer."""
        reply = await self.chat(model, messages, format=schema.model_json_schema())
        return parse_structured(reply.content, schema)

    async def embed(self, model: str, inputs: str | Sequence[str]) -> list[list[float]]:
        """One embedding vector per input (``/api/embed``), in the order given."""
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        response = await self._request(f"embed with {model}", self._client.embed(model=model, input=texts))
        vectors = [[float(x) for x in vector] for vector in response.embeddings]
        if len(vectors) != len(texts):
            raise LLMBadAnswer(f"{model} gave {len(vectors)} embeddings for {len(texts)} inputs")
        return vectors

    # --- the server and its models -----------------------------------------------------------
    async def ping(self) -> list[str]:
        """The models the server has loaded now (``/api/ps``); ``LLMUnreachable`` when it does not answer."""
        try:
            running = await self._client.ps()
        except (ConnectionError, httpx.TransportError) as exc:
            raise LLMUnreachable(f"Ollama at {self.host} did not answer: {exc}") from exc
        except ollama.ResponseError as exc:
            raise LLMUnreachable(f"Ollama at {self.host} answered HTTP {exc.status_code}: {exc.error}") from exc
        return [m.model or "" for m in running.models]

    async def list_models(self) -> list[str]:
        """The names of the models the server has (``/api/tags``), as it spells them (``name:tag``)."""
        listed = await self._request("list models", self._client.list())
        return [m.model for m in listed.models if m.model]

    async def pull_model(self, name: str) -> AsyncIterator[PullProgress]:
        """Pull ``name`` from the server's registry (``/api/pull``), yielding its progress as it comes.

        The server's stream ends with ``success``; an error (an unknown name, no registry), whether
        refused with an HTTP status or reported mid-stream, an unreadable line or a stream that ends
        without ``success`` is ``LLMBadAnswer``; no answer at all, or a stream cut off, is ``LLMUnreachable``.
        """
        what = f"pull {name}"
        last: PullProgress | None = None
        try:
            async for part in await self._client.pull(name, stream=True):
                last = PullProgress(status=part.status or "", digest=part.digest or None, total=part.total,
                                    completed=part.completed)
                yield last
        except (ConnectionError, httpx.TransportError, ollama.ResponseError) as exc:
            raise self._failure(what, exc) from exc
        except ValueError as exc:  # a line that is not JSON, or not a progress report
            raise LLMBadAnswer(f"Ollama gave an unreadable answer to {what}: {exc}") from exc
        if last is None or last.status != "success":
            raise LLMBadAnswer(f"{what} ended with status {last.status if last else None!r}")

    async def create_model(self, name: str, base: str, adapters: Sequence[Path] = ()) -> dict[str, str]:
        """Create ``name`` from ``base`` plus the adapter files; returns the adapters sent ({file name: digest}).

        Each file is uploaded as a blob (sha256-addressed, so a re-run sends nothing twice), then the
        model is created from them; without adapters, ``name`` is a new tag of ``base`` as it is.
        Success is the server's ``success`` status; verifying the model (``show_model``) is the
        caller's to do.
        """
        digests = {path.name: await self._request(f"upload {path.name}", self._client.create_blob(path))
                   for path in adapters}
        done = await self._request(f"create {name}", self._client.create(
            model=name, from_=base, adapters=digests or None, stream=False))
        status = getattr(done, "status", None)
        if status != "success":
            raise LLMBadAnswer(f"create {name} ended with status {status!r}")
        return digests

    async def show_model(self, name: str) -> ModelInfo:
        """What the server says about ``name`` (``LLMBadAnswer`` with HTTP 404 when it has no such model)."""
        shown = await self._request(f"show {name}", self._client.show(name))
        details = shown.details
        return ModelInfo(
            name=name,
            family=details.family if details else None,
            parent_model=(details.parent_model or None) if details else None,
            parameter_size=details.parameter_size if details else None,
            quantization_level=details.quantization_level if details else None,
            modelfile=shown.modelfile or "",
        )

    async def delete_model(self, name: str) -> None:
        """Remove ``name`` from the server (``LLMBadAnswer`` with HTTP 404 when it has no such model)."""
        await self._request(f"delete {name}", self._client.delete(name))

    async def aclose(self) -> None:
        await self._client._client.aclose()

    async def _request(self, what: str, call: Awaitable[T]) -> T:
        """Await one request; a failure becomes ``LLMUnreachable`` or ``LLMBadAnswer`` naming ``what``."""
        try:
            return await call
        except (ConnectionError, httpx.TransportError, ollama.ResponseError) as exc:
            raise self._failure(what, exc) from exc

    @staticmethod
    def _failure(what: str, exc: Exception) -> LLMError:
        """The ``shared.errors`` error for a failed request: an HTTP error status, or an error the
        server reported mid-stream (no status), is ``LLMBadAnswer``; anything else (502, 503 and 504
        included) ``LLMUnreachable``."""
        if isinstance(exc, ollama.ResponseError) and exc.status_code not in UNAVAILABLE:
            status = f"HTTP {exc.status_code} " if exc.status_code > 0 else ""
            return LLMBadAnswer(f"Ollama refused to {what}: {status}{exc.error}")
        return LLMUnreachable(f"Ollama unreachable during {what}: {exc}")
