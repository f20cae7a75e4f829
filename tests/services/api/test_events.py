"""``/v1/events``: the bus as server-sent events over real HTTP."""

from __future__ import annotations

import asyncio
import json

import httpx

from shared.events import EventBus
from shared.keys import EventType


async def _read_events(api: httpx.AsyncClient, params: dict[str, object], want: int) -> list[dict[str, object]]:
    got: list[dict[str, object]] = []
    async with api.stream("GET", "/v1/events", params=params) as response:
        assert response.status_code == 200
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event not in (None, "ready"):
                got.append(json.loads(line.removeprefix("data: ")))
                if len(got) >= want:
                    return got
            elif line.startswith("data: ") and event == "ready":
                ready.set()
    return got


ready = asyncio.Event()


async def test_sse_streams_bus_events_filtered_by_type(api: httpx.AsyncClient, redis) -> None:
    ready.clear()
    reader = asyncio.create_task(_read_events(api, {"type": "model_tuned"}, want=1))
    await asyncio.wait_for(ready.wait(), 20)
    bus = EventBus(redis, source="test")
    await bus.publish(EventType.TOOL_CREATED, {"tool_name": "ignored", "version": 1})
    sent = await bus.publish(EventType.MODEL_TUNED, {"persona": "BRICK", "new_model_tag": "b2"})
    got = await asyncio.wait_for(reader, 20)
    assert [e["id"] for e in got] == [sent.id]
    assert got[0]["data"]["new_model_tag"] == "b2"
