"""A task is answered by BRICK, ROBIN and ALFRED through a real arq worker and the fake Ollama."""

from __future__ import annotations

import httpx

from shared.events import Envelope, EventBus
from shared.keys import LAST_ACTIVITY, QUEUE_COGNITION, EventType, event_journal
from shared.personas import PersonaRegistry
from shared.stores.interactions import InteractionLog
from shared.stores.tasks import TaskRecord, TaskStore
from shared.task_intake import submit_task
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama
from tests.workers.cognition.helpers import CLASH, personas, run_cognition, who
from workers.cognition.settings import CognitionSettings


async def journal(redis, event_type: str) -> list[Envelope]:
    entries = await redis.xrange(event_journal(event_type))
    return [Envelope.from_json(fields[b"envelope"]) for _id, fields in entries]


async def test_task_posted_over_http_is_answered_and_recorded(
    api: httpx.AsyncClient, redis, fake_ollama: FakeOllama, cognition_settings: CognitionSettings
) -> None:
    fake_ollama.on_chat(personas(verdict={"dissonance": 0.25, "reason": "tone only"}))
    task_id = (await api.post("/v1/tasks", json={"text": "What is 2 + 2?"})).json()["id"]
    await run_cognition(cognition_settings)

    record = (await api.get(f"/v1/tasks/{task_id}")).json()
    assert record["status"] == "succeeded" and record["error"] is None and record["attempts"] == 1
    result = record["result"]
    assert result["response"] == "ROBIN: it is 4, warmly"
    assert result["dissonance"] == 0.25 and result["dissonance_reason"] == "tone only"
    assert result["models"] == {"BRICK": "llama3.2:3b", "ROBIN": "llama3.2:3b", "ALFRED": "judge:1b"}
    assert set(result["timings_s"]) == {"BRICK", "ROBIN", "ALFRED", "total"}
    assert result["timings_s"]["total"] >= result["timings_s"]["BRICK"] > 0
    assert result["degraded"] == []
    assert record["started_at"] <= record["finished_at"]

    [interaction] = await InteractionLog(redis).recent()
    assert interaction.task_id == task_id and interaction.response == result["response"]
    assert [(c.persona, c.content) for c in interaction.contributions] == [
        ("BRICK", "BRICK: 2 + 2 = 4"), ("ROBIN", "ROBIN: it is 4, warmly")]
    assert interaction.dissonance == 0.25 and interaction.models["ALFRED"] == "judge:1b"
    assert float(await redis.get(LAST_ACTIVITY)) >= record["finished_at"]
    assert await redis.zcard(QUEUE_COGNITION) == 0
    [completed] = await journal(redis, EventType.TASK_COMPLETED)
    assert completed.data["task_id"] == task_id and completed.data["dissonance"] == 0.25
    assert await journal(redis, EventType.HIGH_COGNITIVE_DISSONANCE) == []


async def test_robin_synthesises_from_brick_and_alfred_judges_both(
    redis, fake_ollama: FakeOllama, cognition_settings: CognitionSettings
) -> None:
    fake_ollama.on_chat(personas())
    await submit_task(redis, TaskStore(redis), TaskRecord(text="What is 2 + 2?"))
    await run_cognition(cognition_settings)
    order = [who(body) for body in fake_ollama.chats()]
    assert order == ["BRICK", "ROBIN", "ALFRED-DissonanceVerdict"]
    robin, alfred = fake_ollama.chats()[1], fake_ollama.chats()[2]
    assert "BRICK: 2 + 2 = 4" in robin["messages"][-1]["content"]
    assert "BRICK: 2 + 2 = 4" in alfred["messages"][-1]["content"]
    assert "ROBIN: it is 4, warmly" in alfred["messages"][-1]["content"]
    assert alfred["format"]["properties"]["dissonance"]["maximum"] == 1.0  # a JSON schema, not a plea


async def test_high_dissonance_publishes_the_event_with_task_score_and_depth(
    redis, fake_ollama: FakeOllama, cognition_settings: CognitionSettings
) -> None:
    fake_ollama.on_chat(personas(verdict=CLASH))
    task, _ = await submit_task(redis, TaskStore(redis), TaskRecord(text="Is 2 + 2 five?", depth=1))
    await run_cognition(cognition_settings)
    [event] = await journal(redis, EventType.HIGH_COGNITIVE_DISSONANCE)
    assert event.data == {"task_id": task.id, "task": "Is 2 + 2 five?", "score": 0.9, "depth": 1}


async def test_each_task_uses_the_model_the_registry_names_now(
    redis, fake_ollama: FakeOllama, cognition_settings: CognitionSettings
) -> None:
    fake_ollama.on_chat(personas())
    store = TaskStore(redis)
    first, _ = await submit_task(redis, store, TaskRecord(text="one"))
    await run_cognition(cognition_settings)
    await PersonaRegistry.from_settings(redis, cognition_settings).swap("BRICK", "judge:1b")
    second, _ = await submit_task(redis, store, TaskRecord(text="two"))
    await run_cognition(cognition_settings)
    assert (await store.get(first.id)).result["models"]["BRICK"] == "llama3.2:3b"
    assert (await store.get(second.id)).result["models"]["BRICK"] == "judge:1b"


async def test_a_job_for_a_finished_task_does_not_answer_it_again(
    redis, fake_ollama: FakeOllama, cognition_settings: CognitionSettings
) -> None:
    fake_ollama.on_chat(personas(verdict=CLASH))
    store = TaskStore(redis)
    task, _ = await submit_task(redis, store, TaskRecord(text="once"))
    await run_cognition(cognition_settings)
    calls = len(fake_ollama.chats())
    await redis.enqueue_job("answer_task", task.id, _queue_name=QUEUE_COGNITION, _job_id="redelivered")
    await run_cognition(cognition_settings)
    assert len(fake_ollama.chats()) == calls
    assert (await store.get(task.id)).attempts == 1
    # ... but it announces again, in case the first run died before publishing
    assert len(await journal(redis, EventType.HIGH_COGNITIVE_DISSONANCE)) == 2


async def test_each_persona_is_announced_as_it_answers_before_the_task_completes(
    redis, fake_ollama: FakeOllama, cognition_settings: CognitionSettings
) -> None:
    """``persona_answered``: BRICK, ROBIN, then ALFRED's verdict, live, before ``task_completed``."""
    fake_ollama.on_chat(personas(verdict=CLASH))
    seen: list[Envelope] = []

    async def hear(envelope: Envelope) -> None:
        seen.append(envelope)

    bus = EventBus(redis, source="test")
    bus.subscribe(EventType.PERSONA_ANSWERED, hear)
    bus.subscribe(EventType.TASK_COMPLETED, hear)
    async with bus:
        task, _ = await submit_task(redis, TaskStore(redis), TaskRecord(text="Is 2 + 2 five?"))
        await run_cognition(cognition_settings)
        await eventually(lambda: _heard(seen, 4), within_s=30)
    said = [(e.type, e.data.get("persona"), e.data.get("content"), e.data.get("dissonance")) for e in seen]
    assert said == [("persona_answered", "BRICK", "BRICK: 2 + 2 = 4", None),
                    ("persona_answered", "ROBIN", "ROBIN: it is 4, warmly", None),
                    ("persona_answered", "ALFRED", "BRICK says 4, ROBIN says 5", 0.9),
                    ("task_completed", None, None, 0.9)]
    assert {e.data["task_id"] for e in seen} == {task.id}
    assert [e.data["model"] for e in seen[:3]] == ["llama3.2:3b", "llama3.2:3b", "judge:1b"]
    assert all(e.data["attempt"] == 1 and e.data["duration_s"] >= 0 for e in seen[:3])
    assert await redis.exists(event_journal(EventType.PERSONA_ANSWERED)) == 0  # live only


async def _heard(seen: list[Envelope], count: int) -> bool:
    return len(seen) >= count
