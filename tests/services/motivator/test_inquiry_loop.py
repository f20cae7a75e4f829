"""The loop of step 2: disagreement -> event -> one inquiry task -> a pending amendment a human approves."""

from __future__ import annotations

import asyncio

import httpx

from services.motivator.service import serve
from services.motivator.settings import MotivatorSettings
from shared.keys import EventType
from tests.services.motivator.conftest import group_ready, journal, motivator_tasks
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama
from tests.workers.cognition.helpers import AGREE, AMENDMENT, CLASH, personas, run_cognition
from workers.cognition.settings import CognitionSettings


def verdict(body: dict) -> dict:
    return AGREE if "philosophical inquiry" in body["messages"][-1]["content"] else CLASH


async def test_dissonance_leads_to_one_inquiry_and_an_approvable_proposal(
    api: httpx.AsyncClient, redis, fake_ollama: FakeOllama, motivator_settings: MotivatorSettings,
    live_redis,
) -> None:
    fake_ollama.on_chat(personas(verdict=verdict, draft=AMENDMENT))
    cognition = CognitionSettings(redis_url=live_redis.url, ollama_host=fake_ollama.host, environment="test")
    stop = asyncio.Event()
    motivator = asyncio.create_task(serve(motivator_settings, stop))
    try:
        await eventually(lambda: group_ready(redis, EventType.HIGH_COGNITIVE_DISSONANCE))
        asked = (await api.post("/v1/tasks", json={"text": "Is it kind to tell a hard truth?"})).json()["id"]
        await run_cognition(cognition)
        [event] = await journal(redis, EventType.HIGH_COGNITIVE_DISSONANCE)
        assert event.data["task_id"] == asked and event.data["score"] == 0.9

        [inquiry] = await eventually(lambda: motivator_tasks(redis))
        assert inquiry.is_philosophical_inquiry and inquiry.caused_by == event.id and inquiry.depth == 1
        await run_cognition(cognition)
    finally:
        stop.set()
        await asyncio.wait_for(motivator, 10)

    answered = (await api.get(f"/v1/tasks/{inquiry.id}")).json()
    assert answered["status"] == "succeeded" and answered["result"]["degraded"] == []
    brick_prompt = fake_ollama.chats()[-4]["messages"][-1]["content"]
    assert "The BAT OS Codex" in brick_prompt  # the inquiry reasons with the codex in view
    [pending] = (await api.get("/v1/codex/proposals", params={"status": "pending"})).json()["items"]
    assert pending["id"] == answered["result"]["proposal_id"]
    assert pending["task_id"] == inquiry.id and pending["caused_by"] == event.id
    assert pending["title"] == AMENDMENT["title"] and pending["based_on_version"] == 1
    [created] = await journal(redis, EventType.CODEX_PROPOSAL_CREATED)
    assert created.data == {"proposal_id": pending["id"], "task_id": inquiry.id}
    assert (await api.get("/v1/codex")).json()["version"] == 1  # proposed, not applied

    approved = await api.post(f"/v1/codex/proposals/{pending['id']}/approve", json={"note": "agreed"})
    assert approved.status_code == 200 and approved.json()["applied_version"] == 2
    codex = (await api.get("/v1/codex")).json()
    assert codex["version"] == 2 and AMENDMENT["amendment"] in codex["text"]
    assert len(await motivator_tasks(redis)) == 1  # the calm inquiry started no further inquiry
