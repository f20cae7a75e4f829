"""The event bus: Redis pub/sub for live notifications plus a bounded journal for catch-up.

``GroupMember`` (``shared.events.consumer_group``) is the one Redis-stream consumer-group
primitive: the bus's durable subscriptions and the curator both read their streams through it.
"""

from shared.events.bus import EventBus, Handler
from shared.events.consumer_group import GroupMember
from shared.events.envelope import Envelope

__all__ = ["Envelope", "EventBus", "GroupMember", "Handler"]
