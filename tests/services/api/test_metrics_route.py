"""``/metrics`` refreshes the queue gauges from Redis before it renders, and renders without Redis."""

from __future__ import annotations

import httpx

from shared.keys import QUEUE_COGNITION, QUEUE_FINE_TUNE
from shared.queues import enqueue
from tests.support.redis_server import RedisServer

DEPTH = 'batos_queue_depth{queue="%s"}'


def gauge(text: str, series: str) -> float:
    [value] = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(series + " ")]
    return value


async def test_metrics_show_each_queue_depth_read_from_redis(api: httpx.AsyncClient, redis) -> None:
    await enqueue(redis, QUEUE_COGNITION, "cognition", "one", idempotency_key="metrics-1")
    await enqueue(redis, QUEUE_COGNITION, "cognition", "two", idempotency_key="metrics-2")
    metrics = await api.get("/metrics")
    assert metrics.status_code == 200
    assert gauge(metrics.text, DEPTH % QUEUE_COGNITION) == 2.0
    assert gauge(metrics.text, DEPTH % QUEUE_FINE_TUNE) == 0.0
    assert gauge(metrics.text, f'batos_queue_oldest_age_seconds{{queue="{QUEUE_COGNITION}"}}') >= 0.0


async def test_metrics_render_while_redis_is_down(api: httpx.AsyncClient, live_redis: RedisServer, redis) -> None:
    await enqueue(redis, QUEUE_COGNITION, "cognition", "one", idempotency_key="metrics-down")
    assert gauge((await api.get("/metrics")).text, DEPTH % QUEUE_COGNITION) == 1.0
    live_redis.stop(kill=True)
    metrics = await api.get("/metrics")
    assert metrics.status_code == 200 and "batos_api_requests_total" in metrics.text
    assert gauge(metrics.text, DEPTH % QUEUE_COGNITION) == 1.0  # the last value read, kept
