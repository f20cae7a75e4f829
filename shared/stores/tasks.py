"""Task records: what was asked, by whom, its status, result or error, and when.

A record is one JSON string at ``task_key(id)``; ``TASKS_BY_TIME`` and one zset per status index it.
Creation is one Lua call that also claims the idempotency key, so two replicas handling the
same event create one task. The job that works on the task is enqueued after the record
exists, in the same Lua call (``shared.queues.enqueue``'s ``ENQUEUE_LUA``), with an arq job id
derived from the task id (``shared.keys.answer_job_id``), so enqueueing again is harmless.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from shared.errors import NotFound
from shared.keys import TASKS_BY_TIME, idempotency_key, task_key, tasks_by_status
from shared.queues.enqueue import ENQUEUE_LUA, QueuedJob, job_slots
from shared.redis_values import as_text
from shared.stores.status import RunStatus


class TaskRecord(BaseModel):
    """One task as stored and as served by the API."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "0f3c9a1e8b7d4c2a9e6f5b4a3c2d1e0f", "text": "What is 2 + 2?", "source": "api",
        "status": "succeeded", "caused_by": None, "is_philosophical_inquiry": False, "depth": 0,
        "result": {"response": "2 + 2 = 4.", "dissonance": 0.1, "dissonance_reason": None,
                   "models": {"BRICK": "llama3.2:3b", "ROBIN": "llama3.2:3b"},
                   "timings_s": {"brick": 1.8, "robin": 1.2, "total": 3.1},
                   "contributions": [{"persona": "BRICK", "model": "llama3.2:3b", "content": "2 + 2 = 4.",
                                      "duration_s": 1.8}],
                   "degraded": [], "proposal_id": None, "proposal_merged": False},
        "error": None, "created_at": 1767225600.0, "started_at": 1767225600.2, "finished_at": 1767225603.3,
        "attempts": 1,
    }]})

    id: str = Field(default_factory=lambda: os.urandom(16).hex(), description="32 hex digits")
    text: str = Field(description="what was asked")
    source: str = Field(default="api", description="who submitted it: api, motivator, ...")
    status: RunStatus = Field(default=RunStatus.QUEUED, description="queued, running, succeeded or failed")
    caused_by: str | None = Field(default=None, description="id of the event that created it")
    is_philosophical_inquiry: bool = Field(default=False, description="answered with the codex in the prompt")
    depth: int = Field(default=0, description="how many inquiries led to this one (0: not an inquiry)")
    result: dict[str, Any] | None = Field(default=None, description=(
        "once succeeded: the answer (response), the dissonance between the personas, the models used, "
        "timings, each persona's contribution, and a codex proposal drafted from it, if any"))
    error: str | None = Field(default=None, description=(
        "why it failed, once failed; while it waits for a retry (queued again, or running its next attempt), "
        "the last attempt's error, ``retrying: ...``; cleared when it succeeds"))
    created_at: float = Field(default_factory=time.time, description="Unix time (s) it was submitted")
    started_at: float | None = Field(default=None, description="Unix time (s) a worker started it")
    finished_at: float | None = Field(default=None, description="Unix time (s) it succeeded or failed")
    attempts: int = Field(default=0, description=(
        "how many times a worker has started it (a task retried while the LLM server was away shows each try)"))


# KEYS: record, by_time, by_status(queued), idem ('' = none), job, result, queue ('' = no job)
# ARGV: id, created_at, idem ttl, job id, job payload, score ms, expires ms, wake channel, record JSON
_CREATE = ENQUEUE_LUA + """
if KEYS[4] ~= '' then
  local existing = redis.call('GET', KEYS[4])
  if existing then return existing end
  redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[9])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
enqueue_given(5, 4)
return ARGV[1]
"""


class TaskStore:
    """Create, read, list and move task records through their statuses."""

    def __init__(self, redis: Redis, idempotency_ttl_s: int = 7 * 24 * 3600):
        self._redis = redis
        self._ttl = idempotency_ttl_s
        self._create = redis.register_script(_CREATE)

    async def create(
        self,
        record: TaskRecord,
        *,
        idempotency: tuple[str, str] | None = None,
        job: QueuedJob | None = None,
    ) -> tuple[TaskRecord, bool]:
        """Store ``record`` (and enqueue ``job``) in one atomic step.

        With ``idempotency=(scope, key)`` a repeat returns the first task and enqueues nothing.
        Returns the stored record and whether it was created by this call.
        """
        idem = idempotency_key(*idempotency) if idempotency else ""
        job_keys, job_args = job_slots(job)
        keys = [task_key(record.id), TASKS_BY_TIME, tasks_by_status(RunStatus.QUEUED), idem, *job_keys]
        args = [record.id, record.created_at, self._ttl, *job_args, record.model_dump_json()]
        got = await self._create(keys=keys, args=args)
        task_id = as_text(got)
        if task_id == record.id:
            return record, True
        return await self.get(task_id), False

    async def get(self, task_id: str) -> TaskRecord:
        raw = await self._redis.get(task_key(task_id))
        if raw is None:
            raise NotFound(f"task {task_id} not found")
        return TaskRecord.model_validate_json(raw)

    async def update(self, task_id: str, *, atomically_with: Callable[[Pipeline], object] | None = None,
                     **fields: Any) -> TaskRecord:
        """Set fields; a new ``status`` moves the task between status indexes atomically.

        ``atomically_with(pipe)`` adds commands that happen in the same transaction (all or none:
        e.g. the interaction logged with the task's success, so a re-run never logs it twice).
        The record is read under ``WATCH`` and written only if no one changed it meanwhile (else read
        again): a task is in exactly one status index even if two runs of its job ever overlap.
        """
        key = task_key(task_id)
        retried = False
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        raise NotFound(f"task {task_id} not found")
                    current = TaskRecord.model_validate_json(raw)
                    record = TaskRecord.model_validate({**current.model_dump(), **fields})  # validate new values
                    pipe.multi()
                    # a retry that finds the status it meant to set: the last EXEC may have been applied
                    # with its reply lost (redis-py reports that as WatchError too); its extras are not repeated
                    if atomically_with is not None and not (retried and "status" in fields
                                                            and current.status == record.status):
                        atomically_with(pipe)
                    pipe.set(key, record.model_dump_json())
                    if record.status != current.status:
                        pipe.zrem(tasks_by_status(current.status), task_id)
                        pipe.zadd(tasks_by_status(record.status), {task_id: record.created_at})
                    await pipe.execute()
                    return record
                except WatchError:
                    retried = True  # changed between our read and write: read it again

    async def list(self, status: RunStatus | None = None, limit: int = 50, offset: int = 0) -> list[TaskRecord]:
        """Newest first."""
        index = tasks_by_status(status) if status else TASKS_BY_TIME
        ids = await self._redis.zrevrange(index, offset, offset + limit - 1)
        if not ids:
            return []
        raws = await self._redis.mget([task_key(i.decode()) for i in ids])
        return [TaskRecord.model_validate_json(raw) for raw in raws if raw is not None]

    async def count(self, status: RunStatus | None = None) -> int:
        return int(await self._redis.zcard(tasks_by_status(status) if status else TASKS_BY_TIME))
