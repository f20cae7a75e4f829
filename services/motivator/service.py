"""The motivator: events and idleness in, tasks out.

    python -m services.motivator

Subscribes durably (consumer group ``MOTIVATOR_GROUP``, so replicas split events and a
restarted one catches up) to ``high_cognitive_dissonance`` (-> an inquiry task) and
``tool_created`` (-> a curiosity task), and runs the idle trigger on a timer, which also
submits a tool idea to the forge now and then (``motivator_forge_every_s``).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from arq.connections import ArqRedis

from services.motivator import goals
from services.motivator.budget import HourlyBudget
from services.motivator.idle import IdleTrigger
from services.motivator.settings import MotivatorSettings
from services.motivator.submit import GoalSubmitter
from services.motivator.tool_ideas import ToolIdeas
from shared.events import Envelope, EventBus
from shared.events.payloads import HighCognitiveDissonance, ToolCreated
from shared.keys import MOTIVATOR_GROUP, EventType
from shared.redis import connect
from shared.stores.tasks import TaskStore

log = structlog.get_logger(__name__)


class Motivator:
    """The handlers and the trigger, over one Redis connection and one bus."""

    def __init__(self, redis: ArqRedis, bus: EventBus, settings: MotivatorSettings):
        budget = HourlyBudget(redis, settings.motivator_hourly_cap)
        self.submitter = GoalSubmitter(redis, TaskStore(redis), bus, budget,
                                       settings.motivator_max_inquiry_depth)
        self.idle = IdleTrigger(redis, self.submitter, settings.motivator_idle_after_s)
        self.tool_ideas = ToolIdeas(redis, settings.motivator_forge_every_s)
        self.bus = bus
        self.settings = settings

    def subscribe(self) -> None:
        self.bus.subscribe(EventType.HIGH_COGNITIVE_DISSONANCE, self.on_dissonance, group=MOTIVATOR_GROUP)
        self.bus.subscribe(EventType.TOOL_CREATED, self.on_tool_created, group=MOTIVATOR_GROUP)

    async def on_dissonance(self, envelope: Envelope) -> None:
        payload = HighCognitiveDissonance.model_validate(envelope.data)
        await self.submitter.submit(goals.inquiry(envelope.id, payload))

    async def on_tool_created(self, envelope: Envelope) -> None:
        payload = ToolCreated.model_validate(envelope.data)
        await self.submitter.submit(goals.curiosity(envelope.id, payload))

    async def run_idle_trigger(self, stop: asyncio.Event) -> None:
        await self.idle.prime()
        while not stop.is_set():
            try:
                await self.idle.check()
                await self.tool_ideas.maybe_submit()
            except Exception:  # Redis away, a bad value: log, keep the timer going
                log.exception("idle check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.motivator_idle_check_s)


async def serve(settings: MotivatorSettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set."""
    redis = await connect(settings.redis_url, retries=30)
    bus = EventBus(redis, source=settings.service_name, journal_maxlen=settings.event_journal_maxlen,
                   consumer_name=settings.motivator_consumer_name,
                   claim_idle_ms=settings.motivator_claim_idle_ms,
                   presence_ttl_s=settings.motivator_presence_ttl_s)
    motivator = Motivator(redis, bus, settings)
    motivator.subscribe()
    try:
        await bus.start()
        log.info("motivator ready", idle_after_s=settings.motivator_idle_after_s,
                 hourly_cap=settings.motivator_hourly_cap, max_depth=settings.motivator_max_inquiry_depth)
        await motivator.run_idle_trigger(stop)
    finally:
        await bus.stop()
        await redis.aclose()
