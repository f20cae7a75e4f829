"""The one JSON envelope every event travels in: id, type, time, source, version, data."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.events.payloads import validate_payload

ENVELOPE_VERSION = 1


class Envelope(BaseModel):
    """An event as it is published, journaled and delivered."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    type: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    source: str
    version: int = ENVELOPE_VERSION
    data: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def new(cls, event_type: str, data: BaseModel | dict[str, Any], source: str) -> Envelope:
        """Build an envelope, validating ``data`` against the type's payload model if it has one.

        Every field is made here, so the model is constructed without a second validation
        (publishing is a hot path: see bench/bench_bus.py).
        """
        return cls.model_construct(id=new_event_id(), type=str(event_type), time=datetime.now(UTC),
                                   source=source, version=ENVELOPE_VERSION,
                                   data=validate_payload(event_type, data))

    def to_json(self) -> str:
        """The wire form (``data`` is already JSON-ready: ``validate_payload`` made it so)."""
        return _wire(self.id, self.type, self.time.isoformat(), self.source, self.version, self.data)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Envelope:
        """Parse the wire form; raises ``pydantic.ValidationError`` on a malformed envelope."""
        return cls.model_validate_json(raw)


def new_event_id() -> str:
    return os.urandom(16).hex()


def encode_envelope(event_type: str, data: BaseModel | dict[str, Any], source: str, time_iso: str) -> tuple[str, str]:
    """(id, wire JSON) of a new event without building an ``Envelope`` (the batch publish path)."""
    event_id = new_event_id()
    return event_id, _wire(event_id, event_type, time_iso, source, ENVELOPE_VERSION,
                           validate_payload(event_type, data))


def _wire(event_id: str, event_type: str, time_iso: str, source: str, version: int, data: dict[str, Any]) -> str:
    return json.dumps({"id": event_id, "type": event_type, "time": time_iso, "source": source, "version": version,
                       "data": data}, separators=(",", ":"))
