"""Live delivery over Redis pub/sub, with reconnect and resubscribe after a Redis restart.

At most once: what is published while this subscriber is disconnected is not seen here (the
journal, ``shared.events.durable``, is the path for events whose loss would lose work).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.events.envelope import Envelope
from shared.keys import event_channel
from shared.redis_values import as_text

log = structlog.get_logger(__name__)

Handler = Callable[[Envelope], Awaitable[None]]
RECONNECT_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


async def call_handler(handler: Handler, envelope: Envelope) -> bool:
    """Run one handler; a raising handler is logged and reported, never propagated."""
    try:
        await handler(envelope)
    except Exception:
        log.exception("event handler failed", event_type=envelope.type, event_id=envelope.id,
                      handler=getattr(handler, "__qualname__", repr(handler)))
        return False
    return True


class LiveSubscriber:
    """Delivers every event of the subscribed types to their handlers, in publish order."""

    def __init__(self, redis: Redis, handlers: dict[str, list[Handler]], max_backoff_s: float = 2.0):
        self._redis = redis
        self._handlers = handlers
        self._max_backoff_s = max_backoff_s
        self.connected = asyncio.Event()
        self.reconnects = 0

    async def run(self) -> None:
        """Listen until cancelled; reconnect with capped exponential back-off."""
        backoff = 0.05
        channels = {event_channel(t): t for t in self._handlers}
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*channels)
                self.connected.set()
                backoff = 0.05
                async for message in pubsub.listen():
                    await self._dispatch(channels, message)
            except RECONNECT_ERRORS as exc:
                self.connected.clear()
                self.reconnects += 1
                log.warning("event subscriber lost Redis; reconnecting", error=str(exc), in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
            finally:
                self.connected.clear()
                await _close_quietly(pubsub)

    async def _dispatch(self, channels: dict[str, str], message: dict[str, object]) -> None:
        channel = message.get("channel")
        name = as_text(channel)
        event_type = channels.get(name)
        if event_type is None or message.get("type") != "message":
            return
        try:
            envelope = Envelope.from_json(message["data"])  # type: ignore[arg-type]
        except ValidationError as exc:
            log.error("dropping malformed event", channel=name, error=str(exc))
            return
        for handler in self._handlers[event_type]:
            await call_handler(handler, envelope)


async def _close_quietly(pubsub: object) -> None:
    try:
        await pubsub.aclose()  # type: ignore[attr-defined]
    except Exception:  # closing a connection that Redis already dropped
        log.debug("pubsub close failed", exc_info=True)
