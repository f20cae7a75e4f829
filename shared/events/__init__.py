"""The event bus: Redis pub/sub for live notifications plus a bounded journal for catch-up."""

from shared.events.bus import EventBus, Handler
from shared.events.envelope import Envelope

__all__ = ["Envelope", "EventBus", "Handler"]
