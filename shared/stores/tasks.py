"""Task records: what was asked, by whom, its status, result or error, and when.

A record is a hash at ``task_key(id)``; ``TASKS_BY_TIME`` and one zset per status index it.
Creation is one Lua call that also claims the idempotency key, so two replicas handling the
same event create one task. The job that works on the task is enqueued after the record
exists (state first), with the task id as arq job id, so enqueueing again is harmless.
"""

from __future__ import annotations

import json
import time
import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from shared.errors import NotFound
from shared.keys import TASKS_BY_TIME, idempotency_key, task_key, tasks_by_status


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class TaskRecord(BaseModel):
    """One task as stored and as served by the API."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    text: str
    source: str = "api"
    status: TaskStatus = TaskStatus.QUEUED
    caused_by: str | None = Field(default=None, description="id of the event that created it")
    is_philosophical_inquiry: bool = False
    depth: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0

    def to_hash(self) -> dict[str, str]:
        return {k: json.dumps(v) for k, v in self.model_dump(mode="json").items()}

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> TaskRecord:
        return cls.model_validate({k.decode(): json.loads(v) for k, v in raw.items()})


# KEYS: record, by_time, by_status(queued), idem (or "" for none)
# ARGV: id, created_at, ttl, then field/value pairs
_CREATE = """
if KEYS[4] ~= '' then
  local existing = redis.call('GET', KEYS[4])
  if existing then return existing end
  redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[3])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return ARGV[1]
"""


class TaskStore:
    """Create, read, list and move task records through their statuses."""

    def __init__(self, redis: Redis, idempotency_ttl_s: int = 7 * 24 * 3600):
        self._redis = redis
        self._ttl = idempotency_ttl_s
        self._create = redis.register_script(_CREATE)

    async def create(self, record: TaskRecord, *, idempotency: tuple[str, str] | None = None) -> tuple[TaskRecord, bool]:
        """Store ``record``; with ``idempotency=(scope, key)`` a repeat returns the first task.

        Returns the stored record and whether it was created by this call.
        """
        idem = idempotency_key(*idempotency) if idempotency else ""
        flat = [part for pair in record.to_hash().items() for part in pair]
        keys = [task_key(record.id), TASKS_BY_TIME, tasks_by_status(TaskStatus.QUEUED), idem]
        got = await self._create(keys=keys, args=[record.id, record.created_at, self._ttl, *flat])
        task_id = got.decode() if isinstance(got, bytes) else str(got)
        if task_id == record.id:
            return record, True
        return await self.get(task_id), False

    async def get(self, task_id: str) -> TaskRecord:
        raw = await self._redis.hgetall(task_key(task_id))
        if not raw:
            raise NotFound(f"task {task_id} not found")
        return TaskRecord.from_hash(raw)

    async def update(self, task_id: str, **fields: Any) -> TaskRecord:
        """Set fields; a new ``status`` moves the task between status indexes atomically."""
        current = await self.get(task_id)
        updated = current.model_copy(update=fields)
        record = TaskRecord.model_validate(updated.model_dump())  # validate the new values
        changed = {k: json.dumps(v) for k, v in record.model_dump(mode="json").items() if k in fields}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(task_key(task_id), mapping=changed)
            if "status" in fields and record.status != current.status:
                pipe.zrem(tasks_by_status(current.status), task_id)
                pipe.zadd(tasks_by_status(record.status), {task_id: record.created_at})
            await pipe.execute()
        return record

    async def list(self, status: TaskStatus | None = None, limit: int = 50, offset: int = 0) -> list[TaskRecord]:
        """Newest first."""
        index = tasks_by_status(status) if status else TASKS_BY_TIME
        ids = await self._redis.zrevrange(index, offset, offset + limit - 1)
        records = []
        for task_id in ids:
            try:
                records.append(await self.get(task_id.decode()))
            except NotFound:  # removed between the two reads
                continue
        return records

    async def count(self, status: TaskStatus | None = None) -> int:
        return int(await self._redis.zcard(tasks_by_status(status) if status else TASKS_BY_TIME))
