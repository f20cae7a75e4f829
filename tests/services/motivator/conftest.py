"""Motivator settings on the test Redis, a journal reader, and motivator processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.exceptions import ResponseError

from services.motivator.settings import MotivatorSettings
from shared.events import Envelope
from shared.keys import MOTIVATOR_GROUP, event_journal
from shared.stores.tasks import TaskRecord, TaskStore
from tests.support.processes import ServiceProcess
from tests.support.redis_server import RedisServer


@pytest.fixture
def motivator_settings(live_redis: RedisServer) -> MotivatorSettings:
    return MotivatorSettings(redis_url=live_redis.url, environment="test", motivator_idle_after_s=3600,
                             motivator_idle_check_s=0.05, motivator_hourly_cap=100,
                             motivator_max_inquiry_depth=2)


async def journal(redis, event_type: str) -> list[Envelope]:
    entries = await redis.xrange(event_journal(event_type))
    return [Envelope.from_json(fields[b"envelope"]) for _id, fields in entries]


async def group_ready(redis, event_type: str) -> bool:
    """Whether the motivator's consumer group on ``event_type`` exists (it then sees new events)."""
    try:
        groups = await redis.xinfo_groups(event_journal(event_type))
    except ResponseError:  # no journal stream yet
        return False
    return any(g["name"] == MOTIVATOR_GROUP.encode() for g in groups)


async def motivator_tasks(redis) -> list[TaskRecord]:
    return [t for t in await TaskStore(redis).list(limit=500) if t.source == "motivator"]


@pytest.fixture
def motivators(live_redis: RedisServer) -> Iterator[list[ServiceProcess]]:
    """Processes the test started (``motivator_process(...).start()``); all are stopped afterwards."""
    started: list[ServiceProcess] = []
    yield started
    for process in started:
        process.stop()


def motivator_process(redis_url: str, name: str, **env: str) -> ServiceProcess:
    base = {"BATOS_REDIS_URL": redis_url, "BATOS_ENVIRONMENT": "test", "BATOS_MOTIVATOR_IDLE_AFTER_S": "3600",
            "BATOS_MOTIVATOR_IDLE_CHECK_S": "0.05", "BATOS_MOTIVATOR_CLAIM_IDLE_MS": "1000"}
    return ServiceProcess("services.motivator", {**base, **env}, name=name)
