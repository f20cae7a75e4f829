"""Every event published is counted by type, one by one or many at once."""

from __future__ import annotations

from shared.events import EventBus
from tests.support.metrics import sample


async def test_published_events_are_counted_per_type(redis) -> None:
    bus = EventBus(redis, source="test")
    before = sample("batos_events_published_total", type="metrics_test_a")
    other = sample("batos_events_published_total", type="metrics_test_b")
    await bus.publish("metrics_test_a", {"n": 1})
    await bus.publish_many("metrics_test_a", [{"n": 2}, {"n": 3}])
    await bus.publish("metrics_test_b")
    assert sample("batos_events_published_total", type="metrics_test_a") - before == 3
    assert sample("batos_events_published_total", type="metrics_test_b") - other == 1
