from __future__ import annotations

import pytest

from shared.errors import InvalidInput
from shared.events import Envelope
from shared.events.payloads import HighCognitiveDissonance
from shared.keys import EventType


def test_envelope_round_trips_through_json() -> None:
    sent = Envelope.new(EventType.HIGH_COGNITIVE_DISSONANCE,
                        HighCognitiveDissonance(task_id="t1", task="why?", score=0.9), source="cognition")
    got = Envelope.from_json(sent.to_json())
    assert got == sent
    assert got.version == 1 and got.source == "cognition" and got.type == "high_cognitive_dissonance"
    assert got.data == {"task_id": "t1", "task": "why?", "score": 0.9, "depth": 0}


def test_typed_payload_is_enforced() -> None:
    with pytest.raises(InvalidInput, match="score"):
        Envelope.new(EventType.HIGH_COGNITIVE_DISSONANCE, {"task_id": "t1", "task": "x", "score": 1.5}, "t")
    with pytest.raises(InvalidInput, match="tool_name"):
        Envelope.new(EventType.TOOL_CREATED, {"version": 1}, "t")


def test_untyped_event_carries_any_dict() -> None:
    env = Envelope.new("something_new", {"a": [1, 2]}, "t")
    assert Envelope.from_json(env.to_json()).data == {"a": [1, 2]}


def test_every_event_type_has_a_payload_model() -> None:
    from shared.events.payloads import PAYLOAD_MODELS

    assert set(EventType) == set(PAYLOAD_MODELS)
