"""The persona vote: was BRICK's logic or ROBIN's synthesis more critical to a golden answer?

LLM judges favour whichever option they read first. ALFRED is asked twice, concurrently, with
the two contributions in swapped order; only an answer that survives the swap counts. An
inconsistent pair, or an unusable answer, is a tie, and the vote's reason says why.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.curator.answers import ask
from services.curator.judge import clip
from shared.datasets.contract import Vote
from shared.llm.client import ChatBackend, system_and_user
from shared.personas import SYSTEM_PROMPTS
from shared.stores.interactions import Contribution, Interaction

QUESTION = """Two personas contributed to the answer below: BRICK (logic) and ROBIN (synthesis).
Which contribution was more critical to the quality of the final answer? Judge the content,
not the order in which the contributions are shown.
Answer only with a JSON object: {"persona": "BRICK" or "ROBIN", "reason": "<one sentence>"}."""


class VoteAnswer(BaseModel):
    model_config = ConfigDict(strict=True)

    persona: Literal["BRICK", "ROBIN"]
    reason: str = Field(default="", max_length=300)


@dataclass(frozen=True)
class VoteResult:
    vote: Vote
    reason: str
    answers: tuple[str | None, str | None]  # (BRICK shown first, ROBIN shown first)


def _contribution(interaction: Interaction, persona: str) -> Contribution | None:
    return next((c for c in reversed(interaction.contributions) if c.persona.upper() == persona), None)


def _prompt(interaction: Interaction, first: Contribution, second: Contribution, limit: int) -> str:
    return (f"Task:\n{clip(interaction.task, limit)}\n\n"
            f"{first.persona.upper()}'s contribution:\n{clip(first.content, limit)}\n\n"
            f"{second.persona.upper()}'s contribution:\n{clip(second.content, limit)}\n\n"
            f"Final answer:\n{clip(interaction.response, limit)}")


async def vote(llm: ChatBackend, model: str, interaction: Interaction, *, attempts: int = 2,
               max_chars: int = 6_000) -> VoteResult:
    """Ask in both orders; a consistent answer wins, anything else is a tie."""
    brick, robin = _contribution(interaction, "BRICK"), _contribution(interaction, "ROBIN")
    if brick is None or robin is None:
        return VoteResult("tie", "the interaction lacks BRICK's or ROBIN's contribution", (None, None))
    system = f"{SYSTEM_PROMPTS['ALFRED']}\n\n{QUESTION}"
    asks = [ask(llm, model, system_and_user(system, _prompt(interaction, a, b, max_chars)), VoteAnswer,
                attempts) for a, b in ((brick, robin), (robin, brick))]
    first, second = await asyncio.gather(*asks)
    answers = tuple(a.persona if isinstance(a, VoteAnswer) else None for a in (first, second))
    if isinstance(first, str) or isinstance(second, str):
        bad = first if isinstance(first, str) else second
        return VoteResult("tie", f"unusable vote answer: {bad}", answers)  # type: ignore[arg-type]
    if first.persona != second.persona:
        return VoteResult("tie", f"position-dependent: {first.persona} when BRICK came first, "
                                 f"{second.persona} when ROBIN came first", answers)  # type: ignore[arg-type]
    return VoteResult(first.persona, first.reason or second.reason, answers)  # type: ignore[arg-type]
