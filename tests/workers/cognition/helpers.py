"""Scripted personas for the fake Ollama, and a burst cognition worker."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from shared.queues import WakeableWorker
from tests.support.fake_ollama import Answer
from tests.support.workers import run_burst
from workers.cognition.settings import CognitionSettings
from workers.cognition.worker import WORKER

Reply = Answer | Callable[[dict[str, Any]], Answer]
AGREE = {"dissonance": 0.1, "reason": "they agree"}
CLASH = {"dissonance": 0.9, "reason": "BRICK says 4, ROBIN says 5"}
NO_AMENDMENT = {"amend": False}
AMENDMENT = {"amend": True, "title": "Name the disagreement",
             "amendment": "When the personas disagree, the answer says so.", "rationale": "the inquiry"}


def who(body: dict[str, Any]) -> str:
    """BRICK, ROBIN, ALFRED-verdict or ALFRED-draft, from the system prompt and the schema."""
    system = body["messages"][0]["content"]
    if system.startswith("You are BRICK"):
        return "BRICK"
    if system.startswith("You are ROBIN"):
        return "ROBIN"
    return "ALFRED-" + (body.get("format") or {}).get("title", "free")


def personas(brick: Reply = "BRICK: 2 + 2 = 4", robin: Reply = "ROBIN: it is 4, warmly",
             verdict: Reply | dict[str, Any] = AGREE,
             draft: Reply | dict[str, Any] = NO_AMENDMENT) -> Callable[[dict[str, Any]], Answer]:
    """An ``on_chat`` script; each reply is a fixed answer, a dict (sent as JSON) or a function."""
    replies = {"BRICK": brick, "ROBIN": robin,
               "ALFRED-DissonanceVerdict": verdict, "ALFRED-CodexDraft": draft}

    def script(body: dict[str, Any]) -> Answer:
        reply = replies[who(body)]
        if callable(reply):
            reply = reply(body)
        if isinstance(reply, dict) and "content" not in reply and "tool_calls" not in reply:
            return json.dumps(reply)
        return reply

    return script


async def run_cognition(settings: CognitionSettings, **ctx: Any) -> WakeableWorker:
    """Run a cognition worker until its queue is empty (burst), then close it."""
    return await run_burst(WORKER.worker_kwargs(settings, ctx))
