"""Asking ALFRED for structured output and reading the answer defensively.

The schema goes to Ollama as ``format=``, but a model (or a proxy, or a truncated stream) can
still send prose, an empty string, ``0.8/1.0``, a bare number, NaN, a score out of range or a
field of the wrong type. Each is turned into a short, specific reason, never an exception and
never a default value that could pass for a judgement. A JSON object inside a Markdown code
fence is accepted (a common habit of chat models); nothing else is guessed at.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import LLMBadAnswer
from shared.llm.client import ChatBackend

M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"^```(?:json)?\s*\n?(.*?)\n?```$", re.DOTALL)


def _snippet(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error.get("loc", ())) or "answer"
    got = error.get("input")
    return f"{where}: {error.get('msg', 'invalid')} (got {_snippet(json.dumps(got, default=str), 40)})" \
        if error.get("type") != "missing" else f"{where}: missing"


def parse_answer(text: str, schema: type[M]) -> M | str:
    """The validated answer, or the reason it cannot be used."""
    stripped = text.strip()
    if not stripped:
        return "empty answer"
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1).strip()
    try:
        data = json.loads(stripped)
    except RecursionError:
        return f"not JSON (nested too deeply): {_snippet(stripped)}"
    except ValueError as exc:
        return f"not JSON ({getattr(exc, 'msg', exc)}): {_snippet(stripped)}"
    if not isinstance(data, dict):
        return f"expected a JSON object, got {type(data).__name__}: {_snippet(stripped)}"
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        return "; ".join(_describe(e) for e in exc.errors()[:4])


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
