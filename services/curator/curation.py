"""Curating one interaction: judge, vote, append, record, acknowledge, in an order that survives a crash.

1. A verdict saved earlier (a re-delivery) is reused: nothing is judged twice.
2. Otherwise ALFRED scores it; golden ones (score >= threshold) get the persona vote.
3. The verdict is saved, then the sample appended (a duplicate is refused by content hash),
   then the verdict logged and the entry acknowledged. A full version seals on that append.
``LLMUnreachable`` and Redis errors propagate: the entry stays pending and is retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from services.curator.judge import Unjudged, judge
from services.curator.verdicts import Verdict, VerdictLog
from services.curator.vote import vote
from shared.datasets import DatasetManifest, DatasetStore, Message, Provenance, Sample, content_hash
from shared.events.consumer_group import GroupMember
from shared.llm import ChatBackend, persona_context
from shared.metrics import CURATED, CURATED_SAMPLES
from shared.personas import SYSTEM_PROMPTS
from shared.stores.interactions import Interaction


@dataclass(frozen=True)
class CurationConfig:
    threshold: float
    attempts: int
    max_chars: int
    max_deliveries: int


def build_sample(interaction: Interaction, verdict: Verdict) -> Sample:
    """The dataset line for a golden interaction (TRL conversational form plus provenance)."""
    persona = verdict.vote if verdict.vote in ("BRICK", "ROBIN") else None
    author = next((c for c in interaction.contributions if c.content == interaction.response), None)
    model = author.model if author else interaction.models.get(persona or "ROBIN")
    return Sample(
        messages=[Message(role="system", content=SYSTEM_PROMPTS[persona or "ROBIN"]),
                  Message(role="user", content=interaction.task),
                  Message(role="assistant", content=interaction.response)],
        provenance=Provenance(interaction_id=interaction.id, task_id=interaction.task_id,
                              golden_score=verdict.golden_score or 0.0, scores=verdict.scores,
                              persona=persona, vote=verdict.vote or "tie", model=model,
                              content_hash=content_hash(interaction.task, interaction.response)),
    )


class Curation:
    def __init__(self, reader: GroupMember, verdicts: VerdictLog, store: DatasetStore, llm: ChatBackend,
                 judge_model: Callable[[], Awaitable[str]], config: CurationConfig,
                 on_sealed: Callable[[DatasetManifest], Awaitable[None]]):
        self._reader = reader
        self._verdicts = verdicts
        self._store = store
        self._llm = llm
        self._judge_model = judge_model
        self._config = config
        self._on_sealed = on_sealed

    async def process(self, entry_id: str, fields: dict[bytes | str, bytes | str], claimed: bool) -> Verdict:
        base: dict[str, Any] = {"consumer": self._reader.consumer, "entry_id": entry_id}
        raw = fields.get(b"interaction", fields.get("interaction"))
        try:
            interaction = Interaction.model_validate_json(raw or b"")
        except ValidationError as exc:
            malformed = Verdict(interaction_id=f"entry:{entry_id}", status="malformed",
                                reason=f"not an interaction: {exc.errors()[:2]}", **base)
            return await self._finish(malformed, entry_id)
        verdict = await self._verdicts.get(interaction.id)
        if verdict is None and claimed:
            deliveries = await self._reader.deliveries(entry_id)
            if deliveries > self._config.max_deliveries:
                verdict = Verdict(interaction_id=interaction.id, task_id=interaction.task_id, status="failed",
                                  reason=f"gave up after {deliveries - 1} deliveries", **base)
                return await self._finish(verdict, entry_id)
        if verdict is None:
            verdict = await self._decide(interaction, base)
            await self._verdicts.save(verdict)
        else:  # judged before a crash: finish it under this consumer's name
            verdict = verdict.model_copy(update=base)
        if verdict.status == "golden":
            result = await self._store.append(build_sample(interaction, verdict))
            verdict = verdict.model_copy(update={"dataset_version": result.version,
                                                 "duplicate": not result.added})
            await self._finish(verdict, entry_id)
            if result.sealed is not None:
                await self._on_sealed(result.sealed)
            return verdict
        return await self._finish(verdict, entry_id)

    async def _decide(self, interaction: Interaction, base: dict[str, Any]) -> Verdict:
        model = await self._judge_model()
        cfg = self._config
        with persona_context("ALFRED"):
            judged = await judge(self._llm, model, interaction, attempts=cfg.attempts, max_chars=cfg.max_chars)
        common: dict[str, Any] = {"interaction_id": interaction.id, "task_id": interaction.task_id,
                                  "judge_model": model, "judged_by": base["consumer"], **base}
        if isinstance(judged, Unjudged):
            return Verdict(status="unjudged", reason=judged.reason, **common)
        scored: dict[str, Any] = {"golden_score": judged.golden_score, "scores": judged.scores, **common}
        if judged.golden_score < cfg.threshold:
            return Verdict(status="rejected", reason=judged.reasons, **scored)
        with persona_context("ALFRED"):
            voted = await vote(self._llm, model, interaction, attempts=cfg.attempts, max_chars=cfg.max_chars)
        return Verdict(status="golden", reason=judged.reasons, vote=voted.vote, vote_reason=voted.reason,
                       **scored)

    async def _finish(self, verdict: Verdict, entry_id: str) -> Verdict:
        await self._verdicts.finish(verdict, self._reader.stream, self._reader.group, entry_id)
        CURATED.labels(verdict.status).inc()
        if verdict.status == "golden":
            CURATED_SAMPLES.labels("duplicate" if verdict.duplicate else "added").inc()
        return verdict
