"""Events become tasks once, with their cause; the runaway guards refuse loudly."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from services.motivator.service import Motivator, serve
from services.motivator.settings import MotivatorSettings
from shared.events import Envelope, EventBus
from shared.keys import LAST_ACTIVITY, QUEUE_COGNITION, EventType
from tests.services.motivator.conftest import group_ready, journal, motivator_tasks
from tests.support.eventually import eventually


def dissonance(task_id: str = "t1", depth: int = 0, score: float = 0.9) -> Envelope:
    return Envelope.new(EventType.HIGH_COGNITIVE_DISSONANCE,
                        {"task_id": task_id, "task": "Is 2 + 2 five?", "score": score, "depth": depth},
                        "test")


def tool(name: str, version: int = 1) -> Envelope:
    return Envelope.new(EventType.TOOL_CREATED, {"tool_name": name, "version": version}, "test")


async def test_dissonance_becomes_one_inquiry_task_with_its_cause(redis, motivator_settings) -> None:
    motivator = Motivator(redis, EventBus(redis, "motivator"), motivator_settings)
    event = dissonance(depth=1)
    await motivator.on_dissonance(event)
    await motivator.on_dissonance(event)  # redelivered (at-least-once)
    await motivator.on_dissonance(dissonance())  # re-published for the same task
    [task] = await motivator_tasks(redis)
    assert task.source == "motivator" and task.caused_by == event.id
    assert task.is_philosophical_inquiry and task.depth == 2
    assert "High dissonance (0.90)" in task.text and "'Is 2 + 2 five?'" in task.text
    assert await redis.zcard(QUEUE_COGNITION) == 1  # its job is queued for the cognition worker


async def test_tool_created_becomes_a_curiosity_task(redis, motivator_settings) -> None:
    motivator = Motivator(redis, EventBus(redis, "motivator"), motivator_settings)
    event = tool("word_count", 2)
    await motivator.on_tool_created(event)
    [task] = await motivator_tasks(redis)
    assert "'word_count' (version 2)" in task.text and "combining it with existing tools" in task.text
    assert task.caused_by == event.id and not task.is_philosophical_inquiry and task.depth == 0


async def test_inquiry_deeper_than_the_limit_is_refused_and_reported(redis, motivator_settings) -> None:
    motivator = Motivator(redis, EventBus(redis, "motivator"), motivator_settings)
    event = dissonance(depth=2)  # its inquiry would be depth 3 > 2
    with capture_logs() as logs:
        await motivator.on_dissonance(event)
    assert await motivator_tasks(redis) == []
    [report] = await journal(redis, EventType.MOTIVATOR_CAP_REACHED)
    assert report.data == {"reason": "max_inquiry_depth", "kind": "inquiry", "depth": 3, "max_depth": 2,
                           "caused_by": event.id}
    warnings = [e["event"] for e in logs if e["log_level"] == "warning"]
    assert warnings == ["motivator cap reached: inquiry too deep"]


async def test_hourly_cap_stops_a_flood_and_says_so(redis, motivator_settings: MotivatorSettings) -> None:
    settings = motivator_settings.model_copy(update={"motivator_hourly_cap": 5})
    stop = asyncio.Event()
    with capture_logs() as logs:
        service = asyncio.create_task(serve(settings, stop))
        await eventually(lambda: redis.exists(LAST_ACTIVITY))  # primed: the service is up
        await eventually(lambda: group_ready(redis, EventType.TOOL_CREATED))
        publisher = EventBus(redis, "tool_forge")
        for i in range(12):
            await publisher.publish(EventType.TOOL_CREATED, {"tool_name": f"t{i}", "version": 1})
        await eventually(lambda: _refusals(logs, 7))
        stop.set()
        await asyncio.wait_for(service, 10)
    assert len(await motivator_tasks(redis)) == 5
    [report] = await journal(redis, EventType.MOTIVATOR_CAP_REACHED)
    assert report.data["reason"] == "hourly_cap" and report.data["cap"] == 5
    refusals = [e for e in logs if e["event"] == "motivator cap reached: hourly cap"]
    assert [e["refused_this_hour"] for e in refusals] == [1, 2, 3, 4, 5, 6, 7]


async def _refusals(logs: list[dict[str, object]], n: int) -> bool:
    return sum(e["event"] == "motivator cap reached: hourly cap" for e in logs) >= n
