"""Every arq worker process beats as the kind of its queue (``hostname:pid``) while it runs."""

from __future__ import annotations

import asyncio
import os
import socket

from shared.heartbeat import alive_counts, alive_instances
from shared.keys import QUEUE_COGNITION, heartbeat_key
from shared.queues import WakeableWorker, worker_options
from shared.queues.worker import worker_kind
from shared.settings import BaseServiceSettings
from tests.support.eventually import eventually


async def idle(ctx: dict[str, object]) -> None:
    return None


def test_the_kind_is_the_queue_names_last_part() -> None:
    assert worker_kind(QUEUE_COGNITION) == "cognition"


async def test_a_running_worker_beats_as_its_kind_and_a_closed_one_stops(redis, settings: BaseServiceSettings) -> None:
    worker = WakeableWorker(**{**worker_options(settings, "batos:queue:beats"), "functions": [idle],
                               "handle_signals": False, "poll_delay": 0.05})  # type: ignore[arg-type]
    instance = f"{socket.gethostname()}:{os.getpid()}"
    running = asyncio.create_task(worker.main())
    try:
        await eventually(lambda: redis.exists(heartbeat_key("beats", instance)), within_s=10)
        assert 0 < await redis.ttl(heartbeat_key("beats", instance)) <= 30
        assert await alive_instances(redis, "beats") == [instance]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
    assert await alive_counts(redis, ["beats"]) == {"beats": 0}
    assert not await redis.exists(heartbeat_key("beats", instance))
