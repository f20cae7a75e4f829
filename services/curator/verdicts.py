"""Verdicts: what the curator decided about each interaction, and why.

A verdict is saved (``curation_verdict_key``, with a TTL) *before* its sample is appended, so an
interaction re-delivered after a crash is finished from its verdict instead of being judged
again. Once the sample is stored, the verdict is logged to a bounded stream and the stream
entry acknowledged in one transaction.
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from shared.datasets.contract import Vote
from shared.keys import CURATION_VERDICTS, curation_verdict_key

Status = Literal["golden", "rejected", "unjudged", "malformed", "failed"]


class Verdict(BaseModel):
    """One interaction's outcome. ``reason`` is always set: the judge's, or why there is no judgement."""

    interaction_id: str
    task_id: str | None = None
    status: Status
    reason: str
    golden_score: float | None = None
    scores: dict[str, float] = Field(default_factory=dict)
    judge_model: str | None = None
    vote: Vote | None = None
    vote_reason: str | None = None
    dataset_version: str | None = None
    duplicate: bool = False
    consumer: str = Field(description="the curator that finished it (acknowledged its entry)")
    judged_by: str | None = Field(default=None, description="the curator that asked the judge")
    entry_id: str
    judged_at: float = Field(default_factory=time.time)


class VerdictLog:
    def __init__(self, redis: Redis, ttl_s: int, stream_maxlen: int = 10_000):
        self._redis = redis
        self._ttl_s = ttl_s
        self._maxlen = stream_maxlen

    async def get(self, interaction_id: str) -> Verdict | None:
        raw = await self._redis.get(curation_verdict_key(interaction_id))
        return Verdict.model_validate_json(raw) if raw else None

    async def save(self, verdict: Verdict) -> None:
        key = curation_verdict_key(verdict.interaction_id)
        await self._redis.set(key, verdict.model_dump_json(), ex=self._ttl_s)

    async def finish(self, verdict: Verdict, stream: str, group: str, entry_id: str | bytes) -> None:
        """Save the final verdict, log it, and acknowledge its stream entry, atomically."""
        raw = verdict.model_dump_json()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(curation_verdict_key(verdict.interaction_id), raw, ex=self._ttl_s)
            pipe.xadd(CURATION_VERDICTS, {"verdict": raw}, maxlen=self._maxlen, approximate=True)
            pipe.xack(stream, group, entry_id)
            await pipe.execute()
