"""Reading an LLM's structured (JSON-schema) answer: the one parser of the JSON in a reply.

The schema goes to the server as ``format=``, but a model (or a proxy, or a truncated stream) can
still send prose, an empty string, ``0.8/1.0``, a bare number, NaN, a score out of range or a
field of the wrong type. ``read_structured`` turns each into an :class:`Unusable` with a short,
specific reason, never an exception and never a default value that could pass for an answer.
A JSON object inside a Markdown code fence is accepted (a common habit of chat models); nothing
else is guessed at. ``parse_structured`` is the same parse for callers that want ``LLMBadAnswer``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import LLMBadAnswer

M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"^```(?:json)?\s*\n?(.*?)\n?```$", re.DOTALL)


@dataclass(frozen=True)
class Unusable:
    """Why a structured answer cannot be used.

    ``reason`` is short and names the fault (``empty answer``, ``not JSON (...)``, ``golden_score:
    missing`` ...); ``message`` is the text of the ``LLMBadAnswer`` that ``parse_structured`` raises.
    """

    reason: str
    message: str


def read_structured(text: str, schema: type[M]) -> M | Unusable:
    """The answer validated against ``schema``, or why it cannot be used."""
    stripped = text.strip()
    if not stripped:
        return Unusable("empty answer", _not_json("Expecting value", text))
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1).strip()
    try:
        data = json.loads(stripped)
    except RecursionError:
        return Unusable(f"not JSON (nested too deeply): {_snippet(stripped)}", _not_json("nested too deeply", text))
    except ValueError as exc:
        why = getattr(exc, "msg", exc)
        return Unusable(f"not JSON ({why}): {_snippet(stripped)}", _not_json(str(why), text))
    if not isinstance(data, dict):
        reason = f"expected a JSON object, got {type(data).__name__}: {_snippet(stripped)}"
        return Unusable(reason, f"answer does not match {schema.__name__}: {reason}")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        return Unusable("; ".join(_describe(e) for e in exc.errors()[:4]),
                        f"answer does not match {schema.__name__}: {exc.errors()[:3]}")


def parse_structured(text: str, schema: type[M]) -> M:
    """The answer validated against ``schema``; ``LLMBadAnswer`` names what was wrong with it."""
    parsed = read_structured(text, schema)
    if isinstance(parsed, Unusable):
        raise LLMBadAnswer(parsed.message)
    return parsed


def _not_json(why: str, text: str) -> str:
    return f"answer is not JSON ({why}): {text[:200]!r}"


def _snippet(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error.get("loc", ())) or "answer"
    got = error.get("input")
    return f"{where}: {error.get('msg', 'invalid')} (got {_snippet(json.dumps(got, default=str), 40)})" \
        if error.get("type") != "missing" else f"{where}: missing"
