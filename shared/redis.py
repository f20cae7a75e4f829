"""One Redis connection pool per process: arq's ``ArqRedis`` (a ``redis.asyncio.Redis``) with
JSON job serialisation, used for state, events and enqueueing alike."""

from __future__ import annotations

from arq.connections import ArqRedis, create_pool

from shared.queues.serializer import json_deserializer, json_serializer
from shared.queues.worker import redis_settings


async def connect(redis_url: str, *, retries: int = 5) -> ArqRedis:
    """Connect, retrying while Redis starts; raises ``redis.ConnectionError`` after that."""
    settings = redis_settings(redis_url)
    settings.conn_retries = retries
    return await create_pool(settings, job_serializer=json_serializer, job_deserializer=json_deserializer)
