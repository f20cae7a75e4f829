"""``/v1/fine-tunes`` (list, read, manual trigger) and ``/v1/personas/{name}/rollback`` over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from services.api.settings import ApiSettings
from shared.events import Envelope
from shared.keys import QUEUE_FINE_TUNE, EventType, event_journal, fine_tune_queue_job_id
from shared.personas import PersonaRegistry
from shared.queues.jobs import job_in_flight
from shared.settings import BaseServiceSettings
from shared.stores.fine_tunes import FineTuneStore
from tests.workers.fine_tune.fixtures import seal_dataset


async def test_a_manual_fine_tune_is_queued_and_readable(
    api: httpx.AsyncClient, redis, api_settings: ApiSettings
) -> None:
    seal_dataset(api_settings.data_dir, "v000003", persona="ROBIN")

    created = await api.post("/v1/fine-tunes", json={"persona": "robin", "dataset_version": "v000003"})

    assert created.status_code == 202, created.text
    record = created.json()
    assert record["id"].startswith("ft-v000003-")
    assert (record["persona"], record["dataset_version"], record["state"], record["source"]) == (
        "ROBIN", "v000003", "queued", "api")
    assert record["job_id"] == fine_tune_queue_job_id(record["id"])  # queued with it: the sweep watches it
    assert await redis.zrange(QUEUE_FINE_TUNE, 0, -1) == [record["job_id"].encode()]
    assert await job_in_flight(redis, record["job_id"])
    assert (await api.get(f"/v1/fine-tunes/{record['id']}")).json() == record
    await FineTuneStore(redis).update(record["id"], state="training", progress={"step": 3, "max_steps": 60,
                                                                               "loss": 1.5})
    [listed] = (await api.get("/v1/fine-tunes", params={"persona": "ROBIN"})).json()["items"]
    assert listed["state"] == "training" and listed["progress"]["step"] == 3
    assert (await api.get("/v1/fine-tunes", params={"persona": "BRICK"})).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"persona": "BRICK", "dataset_version": "v000099"}, 404),  # no such sealed version
        ({"persona": "JOKER", "dataset_version": "v000001"}, 422),  # no such persona
        ({"persona": "ROBIN", "dataset_version": "v000001"}, 409),  # sealed for BRICK
        ({"persona": "BRICK", "dataset_version": "../etc"}, 422),
    ],
)
async def test_a_bad_trigger_is_refused_and_queues_nothing(
    api: httpx.AsyncClient, redis, api_settings: ApiSettings, body: dict[str, str], status: int
) -> None:
    seal_dataset(api_settings.data_dir, "v000001", persona="BRICK")
    response = await api.post("/v1/fine-tunes", json=body)
    assert response.status_code == status, response.text
    assert await redis.zcard(QUEUE_FINE_TUNE) == 0
    assert (await api.get("/v1/fine-tunes")).json() == {"items": []}


async def test_an_unknown_fine_tune_is_404(api: httpx.AsyncClient) -> None:
    assert (await api.get("/v1/fine-tunes/ft-nope")).status_code == 404


async def test_rollback_restores_the_previous_tag_and_publishes(
    api: httpx.AsyncClient, redis, settings: BaseServiceSettings
) -> None:
    registry = PersonaRegistry.from_settings(redis, settings)
    await registry.swap("BRICK", "batos-brick:20260101T000000-v000001")

    response = await api.post("/v1/personas/brick/rollback")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["model"], body["previous_model"]) == (settings.brick_ollama_model,
                                                       "batos-brick:20260101T000000-v000001")
    assert await registry.current_model("BRICK") == settings.brick_ollama_model
    [(_id, fields)] = await redis.xrange(event_journal(EventType.MODEL_ROLLED_BACK))
    assert Envelope.from_json(fields[b"envelope"]).data == {
        "persona": "BRICK", "restored_model_tag": settings.brick_ollama_model,
        "replaced_model_tag": "batos-brick:20260101T000000-v000001"}


async def test_rollback_without_a_previous_model_or_persona_is_refused(api: httpx.AsyncClient, redis) -> None:
    assert (await api.post("/v1/personas/ROBIN/rollback")).status_code == 409
    assert (await api.post("/v1/personas/JOKER/rollback")).status_code == 404
    assert await redis.xlen(event_journal(EventType.MODEL_ROLLED_BACK)) == 0
