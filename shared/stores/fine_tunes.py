"""Fine-tune records: which persona, which dataset version, how far, and how it ended.

One Redis hash per fine-tune (``fine_tune_key(id)``), each field a JSON value, so a progress
tick rewrites a few fields and never the whole record; ``FINE_TUNES_INDEX`` (zset id ->
created_at) lists them. The worker writes, the API reads: it lives in ``shared`` because a
service never imports a worker.

States::

    queued -> training -> creating -> evaluating -> swapped | rejected
         \\________\\___________\\____________\\-> failed

``swapped``, ``rejected`` and ``failed`` are terminal: a re-delivered job finds one and does
nothing. Anything else found by a new run means the last one was killed, and it starts over.
"""

from __future__ import annotations

import json
import secrets
import time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from shared.errors import NotFound
from shared.keys import FINE_TUNES_INDEX, fine_tune_key

CURVE_POINTS = 2_000  # loss points kept for the dashboard; older ones are thinned out


class FineTuneState(StrEnum):
    QUEUED = "queued"
    TRAINING = "training"
    CREATING = "creating"
    EVALUATING = "evaluating"
    SWAPPED = "swapped"
    REJECTED = "rejected"
    FAILED = "failed"
    SUPERSEDED = "superseded"  # a newer version was sealed for the persona while this one waited


TERMINAL_STATES = frozenset({FineTuneState.SWAPPED, FineTuneState.REJECTED, FineTuneState.FAILED,
                             FineTuneState.SUPERSEDED})


class Progress(BaseModel):
    step: int = 0
    max_steps: int = 0
    loss: float | None = None
    learning_rate: float | None = None
    eta_s: float | None = None


class FineTuneRecord(BaseModel):
    """One fine-tune as stored and as served by the API."""

    id: str
    persona: str
    dataset_version: str
    state: FineTuneState = FineTuneState.QUEUED
    source: str = "curator"
    job_id: str | None = Field(default=None, description="the arq job that works on it (set when it runs)")
    attempts: int = 0
    progress: Progress = Field(default_factory=Progress)
    curve: list[tuple[int, float]] = Field(default_factory=list, description="(step, loss) pairs")
    backend: str | None = None
    model_tag: str | None = Field(default=None, description="the Ollama tag this fine-tune creates")
    previous_model: str | None = Field(default=None, description="the tag it was evaluated against")
    training: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    reason: str | None = None
    created_at: float = Field(default_factory=time.time)
    updated_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES


def new_fine_tune_id(dataset_version: str) -> str:
    """Sortable and telling: ``ft-<version>-<UTC time>-<random>``."""
    return f"ft-{dataset_version}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(2)}"


class FineTuneStore:
    """Create, read, update and list fine-tune records."""

    def __init__(self, redis: Redis):
        self._redis = redis

    async def create(self, record: FineTuneRecord) -> tuple[FineTuneRecord, bool]:
        """Store ``record`` unless its id exists; returns the stored one and whether it is new."""
        key = fine_tune_key(record.id)
        fields = _encode(record.model_dump(mode="json"))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "id", fields["id"])
            pipe.zadd(FINE_TUNES_INDEX, {record.id: record.created_at}, nx=True)
            created, _ = await pipe.execute()
        if not created:
            return await self.get(record.id), False
        await self._redis.hset(key, mapping=fields)
        return record, True

    async def get(self, fine_tune_id: str) -> FineTuneRecord:
        raw = await self._redis.hgetall(fine_tune_key(fine_tune_id))
        if not raw:
            raise NotFound(f"fine-tune {fine_tune_id} not found")
        return FineTuneRecord.model_validate({k.decode(): json.loads(v) for k, v in raw.items()})

    async def update(self, fine_tune_id: str, **fields: Any) -> None:
        """Set fields (validated by name); ``updated_at`` follows."""
        unknown = set(fields) - set(FineTuneRecord.model_fields)
        if unknown:
            raise ValueError(f"no such fine-tune fields: {sorted(unknown)}")
        values = {k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v for k, v in fields.items()}
        await self._redis.hset(fine_tune_key(fine_tune_id), mapping=_encode({**values, "updated_at": time.time()}))

    async def list(self, limit: int = 50, offset: int = 0, persona: str | None = None) -> list[FineTuneRecord]:
        """Newest first; ``persona`` filters."""
        window = (offset, offset + limit - 1) if persona is None else (0, -1)
        ids = await self._redis.zrevrange(FINE_TUNES_INDEX, *window)
        out: list[FineTuneRecord] = []
        for raw_id in ids:
            try:
                record = await self.get(raw_id.decode())
            except NotFound:
                continue
            if persona is None or record.persona == persona.upper():
                out.append(record)
        return out if persona is None else out[offset:offset + limit]


def thin_curve(curve: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Keep the curve under ``CURVE_POINTS`` by dropping every other old point."""
    if len(curve) <= CURVE_POINTS:
        return curve
    half = len(curve) // 2
    return curve[:half:2] + curve[half:]


def _encode(fields: dict[str, Any]) -> dict[str, str]:
    return {k: json.dumps(v) for k, v in fields.items()}
