"""Asking ALFRED for structured output, with retries, and keeping why an answer was unusable.

The schema goes to Ollama as ``format=``; the reply is read by the one parser of LLM JSON answers,
``shared.llm.read_structured``: prose, an empty string, ``0.8/1.0``, a bare number, NaN, a score
out of range or a field of the wrong type each become a short, specific reason, never an exception
and never a default value that could pass for a judgement.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from shared.errors import LLMBadAnswer
from shared.llm import ChatBackend, Unusable, read_structured

M = TypeVar("M", bound=BaseModel)


def parse_answer(text: str, schema: type[M]) -> M | str:
    """The validated answer, or the reason it cannot be used."""
    parsed = read_structured(text, schema)
    return parsed.reason if isinstance(parsed, Unusable) else parsed


async def ask(llm: ChatBackend, model: str, messages: list[dict[str, Any]], schema: type[M],
              attempts: int) -> M | str:
    """Ask up to ``attempts`` times; the answer, or the last reason it was unusable.

    ``LLMUnreachable`` is not caught: no answer is not a bad answer, and the caller retries later.
    """
    reason = "not asked"
    for _ in range(attempts):
        try:
            reply = await llm.chat(model, messages, format=schema.model_json_schema())
        except LLMBadAnswer as exc:
            reason = str(exc)
            continue
        parsed = parse_answer(reply.content, schema)
        if isinstance(parsed, str):
            reason = parsed
            continue
        return parsed
    return reason if attempts == 1 else f"{reason} (after {attempts} attempts)"
