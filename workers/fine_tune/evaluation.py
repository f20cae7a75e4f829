"""The gate before a swap: is the new model at least as good as the current one?

For each held-out sample (the sealed version's ``heldout.jsonl``, never trained on) both models
answer the conversation without its last assistant turn, through Ollama. ALFRED judges the two
answers pairwise, in both orders (A = new then A = current), with structured output; a verdict
that flips with the order, or an unusable one, counts as a tie. The new model passes when
``(current wins - new wins) / samples <= threshold``. ``LLMUnreachable`` and a new model that
cannot answer propagate: an evaluation that did not happen is a failure, not a rejection.
A gate with fewer than ``min_samples`` held-out samples does not pass, whatever their outcome
(one tied sample decides nothing). Each judged example is kept in the result, so the record
shows what the decision rests on.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.errors import EvaluationError, LLMBadAnswer
from shared.llm import LLMClient, persona_context

Outcome = Literal["new", "current", "tie"]


class PairwiseVerdict(BaseModel):
    """ALFRED's structured answer."""

    better: Literal["A", "B", "tie"] = Field(description="the better answer, or tie")
    reason: str = Field(default="", max_length=300, description="one sentence")


@dataclass
class GateResult:
    samples: int
    new_wins: int
    current_wins: int
    ties: int
    inconsistent: int
    regression: float  # (current wins - new wins) / samples
    threshold: float
    accepted: bool
    new_model: str
    current_model: str
    judge_model: str
    min_samples: int = 1
    outcomes: list[Outcome] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def why_rejected(self) -> str:
        if self.samples < self.min_samples:
            return f"only {self.samples} held-out samples judged; the gate needs at least {self.min_samples}"
        return (f"worse than {self.current_model} on the held-out slice: {self.current_wins} losses, "
                f"{self.new_wins} wins, {self.ties} ties (regression {self.regression} > threshold "
                f"{self.threshold})")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Judge:
    """Who judges, and how."""

    model: str
    system_prompt: str


def heldout_conversations(path: Path, limit: int) -> list[tuple[list[dict[str, str]], str]]:
    """(prompt messages, reference answer) of the first ``limit`` held-out samples."""
    try:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise EvaluationError(f"cannot read held-out samples at {path}: {exc}") from exc
    out = []
    for line in lines[:limit]:
        messages = [{"role": m["role"], "content": m["content"]} for m in line["messages"]]
        if messages and messages[-1]["role"] == "assistant":
            out.append((messages[:-1], messages[-1]["content"]))
    if not out:
        raise EvaluationError(f"no held-out samples to evaluate in {path}")
    return out


async def evaluate(
    llm: LLMClient,
    heldout: Path,
    new_model: str,
    current_model: str,
    judge: Judge,
    *,
    threshold: float,
    max_samples: int = 20,
    min_samples: int = 1,
    concurrency: int = 4,
) -> GateResult:
    """Run the gate; ``accepted`` says whether the swap may happen."""
    samples = heldout_conversations(heldout, max_samples)
    limit = asyncio.Semaphore(concurrency)

    usable: list[bool] = []
    examples: list[dict[str, Any]] = []

    async def one(prompt: list[dict[str, str]], reference: str) -> tuple[Outcome, bool]:
        async with limit:
            new, current = await asyncio.gather(llm.chat(new_model, prompt), llm.chat(current_model, prompt))
            first, second = await asyncio.gather(
                _verdict(llm, judge, prompt, reference, new.content, current.content),
                _verdict(llm, judge, prompt, reference, current.content, new.content),
            )
        usable.extend((first is not None, second is not None))
        as_new = {"A": "new", "B": "current"}.get(first or "", "tie")
        as_current = {"A": "current", "B": "new"}.get(second or "", "tie")
        inconsistent = first is None or second is None or as_new != as_current
        outcome: Outcome = "tie" if inconsistent else as_new  # type: ignore[assignment]
        examples.append({"prompt": _clip(prompt[-1]["content"]), "new_answer": _clip(new.content),
                         "current_answer": _clip(current.content), "verdict_new_first": first,
                         "verdict_current_first": second, "outcome": outcome})
        return outcome, inconsistent

    results = await asyncio.gather(*(one(prompt, reference) for prompt, reference in samples))
    if not any(usable):
        raise EvaluationError(f"the judge {judge.model} gave no usable verdict on {len(samples)} samples")
    outcomes = [outcome for outcome, _ in results]
    new_wins, current_wins = outcomes.count("new"), outcomes.count("current")
    regression = (current_wins - new_wins) / len(outcomes)
    enough = len(outcomes) >= min_samples
    return GateResult(
        samples=len(outcomes), new_wins=new_wins, current_wins=current_wins, ties=outcomes.count("tie"),
        inconsistent=sum(flag for _, flag in results), regression=round(regression, 4), threshold=threshold,
        accepted=enough and regression <= threshold + 1e-9, new_model=new_model, current_model=current_model,
        judge_model=judge.model, min_samples=min_samples, outcomes=outcomes, examples=examples,
    )


def _clip(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


async def _verdict(
    llm: LLMClient, judge: Judge, prompt: list[dict[str, str]], reference: str, a: str, b: str
) -> Literal["A", "B", "tie"] | None:
    """ALFRED's pick between A and B; None when it answered nothing usable."""
    task = "\n".join(f"{m['role']}: {m['content']}" for m in prompt if m["role"] != "system")
    question = (
        "Two assistants answered the same conversation. Judge which answer is better: correct, "
        "helpful and in the assistant's intended voice. A curated reference answer is given as a guide.\n\n"
        f"Conversation:\n{task}\n\nReference answer:\n{reference}\n\n"
        f"Answer A:\n{a}\n\nAnswer B:\n{b}\n\n"
        'Reply with JSON: {"better": "A" | "B" | "tie", "reason": "<one sentence>"}.'
    )
    messages = [{"role": "system", "content": judge.system_prompt}, {"role": "user", "content": question}]
    try:
        with persona_context("ALFRED"):
            verdict = await llm.chat_structured(judge.model, messages, PairwiseVerdict)
    except LLMBadAnswer:
        return None
    return verdict.better
