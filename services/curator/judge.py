"""ALFRED as judge: the seed's rubric (logical rigor, creative synthesis, task efficacy), with reasons.

The seed asked for a bare number and turned anything unparseable into 0.0, which looked like a
judgement. Here the judge answers a JSON schema; an unusable answer yields :class:`Unjudged`
with its reason, recorded as such and never counted as a score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from services.curator.answers import ask
from shared.llm.client import ChatBackend, system_and_user
from shared.personas import SYSTEM_PROMPTS
from shared.stores.interactions import Interaction

_Score = Field(ge=0.0, le=1.0, allow_inf_nan=False)

RUBRIC = """Evaluate the conversation below on three criteria, each from 0.0 to 1.0:
- logical_rigor: is the reasoning correct, explicit and free of unsupported leaps?
- creative_synthesis: does the answer combine the ideas into something clear and useful?
- task_efficacy: does the final answer actually accomplish the task?
Then give golden_score from 0.0 to 1.0: how suitable the final answer is as a training example
of excellent work (not an average of the three). Give short reasons.
Answer only with a JSON object with the keys logical_rigor, creative_synthesis, task_efficacy,
golden_score and reasons."""


class Rubric(BaseModel):
    """The judge's structured answer."""

    model_config = ConfigDict(strict=True)

    logical_rigor: float = _Score
    creative_synthesis: float = _Score
    task_efficacy: float = _Score
    golden_score: float = _Score
    reasons: str = Field(min_length=1, max_length=400, pattern=r"\S")


@dataclass(frozen=True)
class Judgement:
    golden_score: float
    scores: dict[str, float]
    reasons: str
    model: str


@dataclass(frozen=True)
class Unjudged:
    """The judge gave no usable answer; ``reason`` says what was wrong with it."""

    reason: str
    model: str
    scores: dict[str, float] = field(default_factory=dict)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} characters cut]"


def transcript(interaction: Interaction, limit: int) -> str:
    parts = [f"Task:\n{clip(interaction.task, limit)}"]
    parts += [f"{c.persona}'s contribution:\n{clip(c.content, limit)}" for c in interaction.contributions]
    parts.append(f"Final answer:\n{clip(interaction.response, limit)}")
    return "\n\n".join(parts)


async def judge(llm: ChatBackend, model: str, interaction: Interaction, *, attempts: int = 2,
                max_chars: int = 6_000) -> Judgement | Unjudged:
    """Score one interaction. ``LLMUnreachable`` propagates (try again later)."""
    messages = system_and_user(f"{SYSTEM_PROMPTS['ALFRED']}\n\n{RUBRIC}",
                               f"Conversation to evaluate:\n\n{transcript(interaction, max_chars)}")
    answer = await ask(llm, model, messages, Rubric, attempts)
    if isinstance(answer, str):
        return Unjudged(reason=answer, model=model)
    scores = {"logical_rigor": answer.logical_rigor, "creative_synthesis": answer.creative_synthesis,
              "task_efficacy": answer.task_efficacy}
    return Judgement(golden_score=answer.golden_score, scores=scores, reasons=answer.reasons.strip(),
                     model=model)
