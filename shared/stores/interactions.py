"""The interaction log: every answered task as one entry of a Redis stream.

The cognition worker appends; curators read it through a consumer group (step 4), so each
interaction is curated once however many curators run. The stream is bounded (approximately)
so it cannot grow without limit; the golden dataset, not the stream, is the durable record.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from shared.keys import INTERACTIONS_STREAM
from shared.redis_values import as_text


class Contribution(BaseModel):
    """What one persona said in an interaction, and with which model."""

    persona: str
    model: str
    content: str
    duration_s: float | None = None


class Interaction(BaseModel):
    """One answered task, as the curator needs it."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    task_id: str
    task: str
    response: str
    contributions: list[Contribution] = Field(default_factory=list)
    models: dict[str, str] = Field(default_factory=dict)
    dissonance: float | None = None
    source: str = "api"
    created_at: float = Field(default_factory=time.time)


class InteractionLog:
    """Append to, and read back, the interaction stream."""

    def __init__(self, redis: Redis, maxlen: int = 100_000):
        self._redis = redis
        self._maxlen = maxlen

    async def append(self, interaction: Interaction) -> str:
        """Append one interaction; returns its stream entry id."""
        entry_id = await self._redis.xadd(INTERACTIONS_STREAM, {"interaction": interaction.model_dump_json()},
                                          maxlen=self._maxlen, approximate=True)
        return as_text(entry_id)

    def append_in(self, interaction: Interaction) -> Callable[[Pipeline], object]:
        """The append as a command for someone else's transaction (``TaskStore.update``)."""
        def queue(pipe: Pipeline) -> object:
            return pipe.xadd(INTERACTIONS_STREAM, {"interaction": interaction.model_dump_json()},
                             maxlen=self._maxlen, approximate=True)
        return queue

    async def recent(self, count: int = 20) -> list[Interaction]:
        """Newest first, for inspection and tests."""
        entries = await self._redis.xrevrange(INTERACTIONS_STREAM, count=count)
        return [Interaction.model_validate_json(fields[b"interaction"]) for _id, fields in entries]
