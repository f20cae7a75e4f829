"""Tool-forge job records: a spec, its status, and every attempt with its reason.

``forge_job_key(job_id)`` is a hash whose fields hold JSON values: ``status``, ``spec``,
``attempts`` (a list), ``tool_name``, ``version``, ``error`` and times. The record is created
once (a Lua check-and-set, so a repeated idempotency key finds the first record) by whoever
submits the spec; only the forge worker running the job changes it afterwards.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from shared.errors import NotFound
from shared.keys import FORGE_JOBS_RUNNING, forge_job_key
from shared.queues.enqueue import ENQUEUE_LUA, QueuedJob, job_slots
from shared.redis_values import as_text
from shared.stores.status import RunStatus

# KEYS: record hash, then the job's (job, result, queue; '' = no job); ARGV: the job's arguments
# (ENQUEUE_LUA's order), then field/value pairs. The record and its job appear together.
_CREATE = ENQUEUE_LUA + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
enqueue_given(2, 1)
return 1
"""
# KEYS: record hash, running index; ARGV: index change ('add', 'remove' or ''), job id, now, then
# field/value pairs. A record gone (a flush, lost data) is never brought back as a partial hash.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
if ARGV[1] == 'add' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
elseif ARGV[1] == 'remove' then redis.call('ZREM', KEYS[2], ARGV[2]) end
return 1
"""


class ToolSpec(BaseModel):
    """What the tool should do, and optionally the function name it must have."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"description": "adds two integers and returns their sum", "name": "add"}]})

    description: str = Field(min_length=1, max_length=4_000, description="what the tool should do, in words",
                             examples=["adds two integers and returns their sum"])
    name: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["add"],
                             description="the function name it must have (default: BRICK chooses)")


ATTEMPT_EXAMPLE: dict[str, Any] = {
    "number": 1, "outcome": "passed", "reason": "", "model": "llama3.2:3b",
    "code": "def add(a: int, b: int) -> int:\n    \"\"\"Add two integers.\"\"\"\n    return a + b\n\n"
            "def test_add():\n    assert add(2, 2) == 4\n",
    "test_output": "1 passed in 0.01s", "duration_s": 4.2, "at": 1767225605.0,
}


class Attempt(BaseModel):
    """One answer of BRICK and what became of it."""

    model_config = ConfigDict(json_schema_extra={"examples": [ATTEMPT_EXAMPLE]})

    number: int = Field(description="1 for the first attempt")
    outcome: str = Field(description="passed, refused (the code checks said no), tests_failed or llm_error")
    reason: str = Field(default="", description="why it did not pass")
    model: str = Field(default="", description="the Ollama tag that wrote it")
    code: str = Field(default="", description="the function and its tests, as BRICK wrote them")
    test_output: str = Field(default="", description="the tests' output in the sandbox")
    duration_s: float = Field(default=0.0, description="seconds the attempt took")
    at: float = Field(default_factory=time.time, description="Unix time (s) it finished")


class ForgeJob(BaseModel):
    """A tool spec on its way through the forge: BRICK writes the tool, the sandbox tests it, up to a
    few attempts; once succeeded the tool is registered as ``tool_name`` version ``version``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "6f1d2c3b4a5e4f60a7b8c9d0e1f2a3b4", "status": "succeeded",
        "spec": {"description": "adds two integers and returns their sum", "name": "add"},
        "attempts": [ATTEMPT_EXAMPLE], "tool_name": "add", "version": 1, "error": None,
        "queue_job_id": "forge:6f1d2c3b4a5e4f60a7b8c9d0e1f2a3b4", "created_at": 1767225600.0,
        "updated_at": 1767225605.0, "finished_at": 1767225605.0}]})

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, description="32 hex digits")
    status: RunStatus = Field(default=RunStatus.QUEUED, description="queued, running, succeeded or failed")
    spec: ToolSpec = Field(description="what was asked for")
    attempts: list[Attempt] = Field(default_factory=list, description="every attempt, oldest first")
    tool_name: str | None = Field(default=None, description="the registered tool, once succeeded")
    version: int | None = Field(default=None, description="the registered tool's version, once succeeded")
    error: str | None = Field(default=None, description="why it failed, once failed")
    # the arq job running it (set when it starts; the sweep checks it)
    queue_job_id: str | None = Field(default=None, description="the queue job that runs it (set when it starts)")
    created_at: float = Field(default_factory=time.time, description="Unix time (s) it was submitted")
    updated_at: float = Field(default_factory=time.time, description="Unix time (s) of the last change")
    finished_at: float | None = Field(default=None, description="Unix time (s) it succeeded or failed")

    def to_hash(self) -> dict[str, str]:
        return {k: json.dumps(v) for k, v in self.model_dump(mode="json").items()}

    @classmethod
    def from_hash(cls, raw: dict[Any, Any]) -> ForgeJob:
        return cls.model_validate({(k.decode() if isinstance(k, bytes) else k): json.loads(v)
                                   for k, v in raw.items()})


class ForgeJobStore:
    """Create, read and update forge job records."""

    def __init__(self, redis: Redis):
        self._redis = redis
        self._create = redis.register_script(_CREATE)
        self._update = redis.register_script(_UPDATE)

    async def create(self, job: ForgeJob, queued: QueuedJob | None = None) -> tuple[ForgeJob, bool]:
        """Store ``job`` (and enqueue ``queued``, in the same step) unless its id exists; returns the
        stored record and whether it is new."""
        flat = [item for pair in job.to_hash().items() for item in pair]
        job_keys, job_args = job_slots(queued)
        created = await self._create(keys=[forge_job_key(job.id), *job_keys], args=[*job_args, *flat])
        return (job, True) if created else (await self.get(job.id), False)

    async def get(self, job_id: str) -> ForgeJob:
        raw = await self._redis.hgetall(forge_job_key(job_id))
        if not raw:
            raise NotFound(f"no tool-forge job {job_id!r}")
        return ForgeJob.from_hash(raw)

    async def update(self, job_id: str, **fields: Any) -> None:
        """Set top-level fields (JSON-encoded) and ``updated_at``; a ``status`` also moves the job
        in or out of the running index, in the same script. NotFound when the record is gone."""
        now = fields["updated_at"] = time.time()
        flat = [item for k, v in fields.items()
                for item in (k, json.dumps(v.model_dump(mode="json") if isinstance(v, BaseModel) else v))]
        index = "" if "status" not in fields else "add" if fields["status"] == RunStatus.RUNNING else "remove"
        if not await self._update(keys=[forge_job_key(job_id), FORGE_JOBS_RUNNING], args=[index, job_id, now, *flat]):
            raise NotFound(f"no tool-forge job {job_id!r}")

    async def forget_running(self, job_id: str) -> None:
        """Drop a stale id from the running index (the sweep, for records no longer running)."""
        await self._redis.zrem(FORGE_JOBS_RUNNING, job_id)

    async def running(self, limit: int = 500) -> list[str]:
        """Ids of jobs whose record says ``running``, longest first."""
        return [as_text(i)
                for i in await self._redis.zrange(FORGE_JOBS_RUNNING, 0, limit - 1)]

    async def add_attempt(self, job_id: str, attempt: Attempt) -> list[Attempt]:
        """Append one attempt (one writer per job: the worker running it)."""
        job = await self.get(job_id)
        attempts = [*job.attempts, attempt]
        await self.update(job_id, attempts=[a.model_dump(mode="json") for a in attempts])
        return attempts
