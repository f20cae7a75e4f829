"""Fine-tune records: which persona, which dataset version, how far, and how it ended.

One Redis hash per fine-tune (``fine_tune_key(id)``), each field a JSON value, so a progress
tick rewrites a few fields and never the whole record; ``FINE_TUNES_INDEX`` (zset id ->
created_at) lists them. The worker writes, the API reads: it lives in ``shared`` because a
service never imports a worker.

States::

    queued -> training -> creating -> evaluating -> swapped | rejected
         \\________\\___________\\____________\\-> failed

Within ``training``, ``phase`` tells ``loading_base`` (no step reported yet: the training
process loads the base model) from ``training`` (steps) and ``saving`` (after the last step).

``swapped``, ``rejected`` and ``failed`` are terminal: a re-delivered job finds one and does
nothing. Anything else found by a new run means the last one was killed, and it starts over.
"""

from __future__ import annotations

import json
import secrets
import time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from shared.errors import NotFound
from shared.keys import FINE_TUNES_INDEX, fine_tune_key
from shared.queues.enqueue import ENQUEUE_LUA, QueuedJob, job_slots

CURVE_POINTS = 2_000  # loss points kept for the dashboard; older ones are thinned out

# KEYS: record hash, index zset, then the job's (job, result, queue; '' = no job); ARGV: id,
# created_at, the job's arguments (ENQUEUE_LUA's order), then field/value pairs. The record, its
# index entry and its job appear together, whole: a reader never sees a hash holding only some of
# its fields, and a record never waits for a job that was not queued.
_CREATE = ENQUEUE_LUA + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
enqueue_given(3, 3)
return 1
"""
# KEYS: record hash; ARGV: field/value pairs. Only an existing record is changed: a record gone (a
# flush, lost data) is never brought back as a hash of a few fields that no reader can validate.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


class FineTuneState(StrEnum):
    """queued, training, creating (the Ollama model), evaluating (the gate), then swapped, rejected,
    failed or superseded."""

    QUEUED = "queued"
    TRAINING = "training"
    CREATING = "creating"
    EVALUATING = "evaluating"
    SWAPPED = "swapped"
    REJECTED = "rejected"
    FAILED = "failed"
    SUPERSEDED = "superseded"  # a newer version was sealed for the persona while this one waited


class FineTunePhase(StrEnum):
    """What a fine-tune in ``training`` is doing now (the steps alone say 0 of 0 while the base loads)."""

    LOADING_BASE = "loading_base"  # the training process loads the base model and tokenises the dataset
    TRAINING = "training"  # optimiser steps are being reported
    SAVING = "saving"  # the last step is done: the adapter is being written


TERMINAL_STATES = frozenset({FineTuneState.SWAPPED, FineTuneState.REJECTED, FineTuneState.FAILED,
                             FineTuneState.SUPERSEDED})


class Progress(BaseModel):
    """The training's last reported step."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"step": 6, "max_steps": 10, "loss": 1.42, "learning_rate": 0.0002, "eta_s": 9.2}]})

    step: int = Field(default=0, description="optimiser steps done")
    max_steps: int = Field(default=0, description="steps the training will take")
    loss: float | None = Field(default=None, description="training loss at this step")
    learning_rate: float | None = Field(default=None, description="the scheduler's learning rate at this step")
    eta_s: float | None = Field(default=None, description="seconds left, estimated")


FINE_TUNE_EXAMPLE: dict[str, Any] = {
    "id": "ft-v000003-20260101T120000-a1b2", "persona": "BRICK", "dataset_version": "v000003", "state": "swapped",
    "source": "curator", "job_id": "fine_tune:ft-v000003-20260101T120000-a1b2", "attempts": 1, "phase": None,
    "progress": {"step": 10, "max_steps": 10, "loss": 1.21, "learning_rate": 0.0, "eta_s": 0.0},
    "curve": [[1, 2.31], [5, 1.74], [10, 1.21]], "backend": "hf", "model_tag": "batos-brick:20260101T120145-v000003",
    "previous_model": "llama3.2:3b",
    "training": {"backend": "hf", "steps": 10, "final_loss": 1.21, "train_tokens": 5120, "duration_s": 41.0,
                 "train_s": 23.0, "tokens_per_s": 222.6,
                 "adapter_dir": "var/fine_tunes/BRICK/ft-v000003-20260101T120000-a1b2"},
    "evaluation": {"samples": 5, "new_wins": 3, "current_wins": 1, "ties": 1, "inconsistent": 0,
                   "regression": -0.4, "threshold": 0.1, "accepted": True,
                   "new_model": "batos-brick:20260101T120145-v000003", "current_model": "llama3.2:3b",
                   "judge_model": "llama3.2:3b"},
    "reason": None, "created_at": 1767268800.0, "updated_at": 1767268900.0, "started_at": 1767268801.0,
    "finished_at": 1767268900.0,
}


class FineTuneRecord(BaseModel):
    """One fine-tune as stored and as served by the API."""

    model_config = ConfigDict(json_schema_extra={"examples": [FINE_TUNE_EXAMPLE]})

    id: str = Field(description="``ft-<dataset version>-<UTC time>-<random>``")
    persona: str = Field(description="the persona it tunes: BRICK, ROBIN or ALFRED")
    dataset_version: str = Field(description="the sealed golden dataset version it trains on")
    state: FineTuneState = Field(default=FineTuneState.QUEUED, description="where it stands")
    source: str = Field(default="curator", description="who started it: curator (on sealing) or api")
    job_id: str | None = Field(default=None, description="the arq job that works on it (set when it runs)")
    attempts: int = Field(default=0, description="how many times training has started")
    phase: FineTunePhase | None = Field(default=None, description=(
        "within training: loading_base (the base model loads; no step yet), training (steps reported), "
        "saving (the adapter is written); null before training and from creating on (a record that failed in "
        "training keeps the phase it failed in)"))
    progress: Progress = Field(default_factory=Progress, description="the training's last reported step")
    curve: list[tuple[int, float]] = Field(default_factory=list, description="(step, loss) pairs")
    backend: str | None = Field(default=None, description="the trainer: hf (transformers + peft) or unsloth")
    model_tag: str | None = Field(default=None, description="the Ollama tag this fine-tune creates")
    previous_model: str | None = Field(default=None, description="the tag it was evaluated against")
    training: dict[str, Any] | None = Field(default=None, description=(
        "the training's result: steps, final loss, tokens, durations, where the adapter is"))
    evaluation: dict[str, Any] | None = Field(default=None, description=(
        "the gate's result: held-out samples judged, wins, losses, ties, regression against the threshold"))
    reason: str | None = Field(default=None, description="why it was rejected, failed or superseded")
    created_at: float = Field(default_factory=time.time, description="Unix time (s)")
    updated_at: float | None = Field(default=None, description="Unix time (s) of the last change")
    started_at: float | None = Field(default=None, description="Unix time (s) training started")
    finished_at: float | None = Field(default=None, description="Unix time (s) it reached a final state")

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
        self._create = redis.register_script(_CREATE)
        self._update = redis.register_script(_UPDATE)

    async def create(self, record: FineTuneRecord, job: QueuedJob | None = None) -> tuple[FineTuneRecord, bool]:
        """Store ``record`` (and enqueue ``job``, in the same step) unless its id exists; returns the
        stored one and whether it is new."""
        flat = [item for pair in _encode(record.model_dump(mode="json")).items() for item in pair]
        job_keys, job_args = job_slots(job)
        created = await self._create(keys=[fine_tune_key(record.id), FINE_TUNES_INDEX, *job_keys],
                                     args=[record.id, record.created_at, *job_args, *flat])
        return (record, True) if created else (await self.get(record.id), False)

    async def get(self, fine_tune_id: str) -> FineTuneRecord:
        raw = await self._redis.hgetall(fine_tune_key(fine_tune_id))
        if not raw:
            raise NotFound(f"fine-tune {fine_tune_id} not found")
        return FineTuneRecord.model_validate({k.decode(): json.loads(v) for k, v in raw.items()})

    async def update(self, fine_tune_id: str, **fields: Any) -> None:
        """Set fields (validated by name); ``updated_at`` follows. NotFound when the record is gone."""
        unknown = set(fields) - set(FineTuneRecord.model_fields)
        if unknown:
            raise ValueError(f"no such fine-tune fields: {sorted(unknown)}")
        values = {k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v for k, v in fields.items()}
        flat = [item for pair in _encode({**values, "updated_at": time.time()}).items() for item in pair]
        if not await self._update(keys=[fine_tune_key(fine_tune_id)], args=flat):
            raise NotFound(f"fine-tune {fine_tune_id} not found")

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
