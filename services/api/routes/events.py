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
from shared.keys import EVENT_CHANNEL_PATTERN, event_channel

router = APIRouter(prefix="/v1/events", tags=["events"])
SSE = {"description": "server-sent events", "content": {"text/event-stream": TEXT["text/plain"]}}


@router.get("", response_class=EventSourceResponse, responses={200: SSE})
async def stream_events(
    state: State,
    type_: Annotated[list[str] | None, Query(alias="type", max_length=50)] = None,
) -> EventSourceResponse:
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
