"""Tool ideas: the motivator asks the forge for a new tool now and then, so the tool loop turns
without a human (``tool_created`` then comes back as a curiosity task).

At most one idea per ``motivator_forge_every_s`` across all replicas: the replica whose
``SET NX EX`` on ``MOTIVATOR_FORGE_TIMER`` succeeds submits the next idea of a fixed list,
picked by a shared counter; the forge job's idempotency key is that counter, so a replica that
dies between the two writes loses nothing but one turn. 0 turns it off.
"""

from __future__ import annotations

import structlog
from redis.asyncio import Redis

from shared.keys import MOTIVATOR_FORGE_COUNTER, MOTIVATOR_FORGE_TIMER
from shared.tools import ToolSpec, submit_tool_spec

log = structlog.get_logger(__name__)

# Small, testable functions: within reach of a small model, useful to the personas.
TOOL_IDEAS: tuple[ToolSpec, ...] = (
    ToolSpec(name="word_count", description="Count the words in a text (split on whitespace) and return the count."),
    ToolSpec(name="reverse_text", description="Return the given text reversed, character by character."),
    ToolSpec(name="celsius_to_fahrenheit", description="Convert a temperature in Celsius to Fahrenheit."),
    ToolSpec(name="is_palindrome", description="Return True if a string reads the same backwards, ignoring case."),
    ToolSpec(name="mean_of_numbers", description="Return the arithmetic mean of a list of numbers."),
    ToolSpec(name="count_vowels", description="Count the vowels (a, e, i, o, u) in a string, ignoring case."),
)


class ToolIdeas:
    def __init__(self, redis: Redis, every_s: float):
        self._redis = redis
        self._every_s = every_s

    async def maybe_submit(self) -> ToolSpec | None:
        """Submit the next idea if this replica wins this period; returns the spec submitted."""
        if self._every_s <= 0:
            return None
        if not await self._redis.set(MOTIVATOR_FORGE_TIMER, "1", nx=True, px=int(self._every_s * 1000)):
            return None
        number = int(await self._redis.incr(MOTIVATOR_FORGE_COUNTER))
        spec = TOOL_IDEAS[(number - 1) % len(TOOL_IDEAS)]
        job, created = await submit_tool_spec(self._redis, spec, idempotency_key=f"motivator-tool:{number}")
        log.info("tool idea submitted", tool=spec.name, forge_job=job.id, created=created)
        return spec
