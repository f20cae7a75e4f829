"""``/v1/events``: the bus as server-sent events, optionally filtered by type.

Each client gets its own pub/sub subscription (live, at most once: a client that reconnects
sees events from then on). ``?type=model_tuned&type=fine_tune_progress`` narrows the stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sse_starlette import EventSourceResponse

from services.api.deps import State
from services.api.responses import TEXT
from shared.events import Envelope
from shared.keys import EVENT_CHANNEL_PATTERN, EventType, event_channel

router = APIRouter(prefix="/v1/events", tags=["events"])
SSE_EXAMPLE = (
    "event: ready\ndata: {}\n\n"
    "id: 7c1e4b2a9d8f4e6a8b3c2d1e0f9a8b7c\nevent: task_completed\n"
    'data: {"id":"7c1e4b2a9d8f4e6a8b3c2d1e0f9a8b7c","type":"task_completed","time":"2026-01-01T00:00:03+00:00",'
    '"source":"cognition","version":1,"data":{"task_id":"0f3c9a1e8b7d4c2a9e6f5b4a3c2d1e0f",'
    '"status":"succeeded","source":"api","dissonance":0.1}}\n\n'
)
SSE = {"description": (
    "server-sent events: first ``ready`` (subscribed), then each event as it is published: ``id`` "
    "the event's id, ``event`` its type, ``data`` its envelope as JSON (id, type, time, source, version, "
    "data); a comment line every BATOS_API_SSE_PING_S keeps the connection open"),
    "content": {"text/event-stream": {**TEXT["text/plain"], "example": SSE_EXAMPLE}}}


@router.get("", response_class=EventSourceResponse, responses={200: SSE}, summary="Stream events")
async def stream_events(
    state: State,
    type_: Annotated[list[str] | None, Query(alias="type", max_length=50, examples=[["fine_tune_progress"]],
                                              description="only these event types (repeat it for several): "
                                              + ", ".join(EventType))] = None,
) -> EventSourceResponse:
    """The event bus, live, as server-sent events (``curl -N``, or an ``EventSource``). Each client
    gets its own subscription from the moment it connects (no replay: a client that reconnects
    sees events from then on). ``?type=model_tuned&type=fine_tune_progress`` narrows the stream."""
    return EventSourceResponse(_events(state, type_ or []), ping=int(state.settings.api_sse_ping_s))


async def _events(state: State, types: list[str]) -> AsyncIterator[dict[str, Any]]:
    pubsub = state.redis.pubsub(ignore_subscribe_messages=True)
    try:
        if types:
            await pubsub.subscribe(*(event_channel(t) for t in types))
        else:
            await pubsub.psubscribe(EVENT_CHANNEL_PATTERN)
        yield {"event": "ready", "data": "{}"}
        async for message in pubsub.listen():
            if message["type"] not in ("message", "pmessage"):
                continue
            envelope = Envelope.from_json(message["data"])
            yield {"id": envelope.id, "event": envelope.type, "data": envelope.to_json()}
    finally:
        await pubsub.aclose()
