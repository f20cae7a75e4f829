"""The fine-tune job end to end through a real arq worker: train, create, gate, swap (or not)."""

from __future__ import annotations

from pathlib import Path

import httpx

from shared.datasets import load_training_set
from shared.events import Envelope, EventBus
from shared.keys import JOB_FINE_TUNE, QUEUE_FINE_TUNE, EventType, fine_tune_queue_job_id
from shared.personas import PersonaRegistry
from shared.queues import enqueue
from shared.stores.fine_tunes import FineTuneStore
from shared.stores.tasks import TaskRecord, TaskStore
from shared.task_intake import submit_task
from tests.support.fake_ollama import FakeOllama
from tests.workers.cognition.helpers import personas as cognition_script
from tests.workers.cognition.helpers import run_cognition
from tests.workers.fine_tune.fixtures import (
    BASE,
    VERSION,
    journal,
    judge_prefers,
    place_adapter,
    run_worker_burst,
)
from workers.cognition.settings import CognitionSettings
from workers.fine_tune.settings import FineTuneSettings

FT_ID = "ft-" + VERSION  # the record id of the curator's job


async def enqueue_like_the_curator(redis) -> None:
    await enqueue(redis, QUEUE_FINE_TUNE, JOB_FINE_TUNE, "BRICK", VERSION,
                  idempotency_key=fine_tune_queue_job_id(VERSION))


async def test_a_better_model_is_trained_swapped_in_and_used_from_the_next_call(
    redis, fake_ollama: FakeOllama, ft_settings: FineTuneSettings, sealed: Path, api: httpx.AsyncClient
) -> None:
    fake_ollama.on_chat(judge_prefers("NEW"))
    progress: list[Envelope] = []

    async def on_progress(envelope: Envelope) -> None:
        progress.append(envelope)

    bus = EventBus(redis, source="test")
    bus.subscribe(EventType.FINE_TUNE_PROGRESS, on_progress)
    await enqueue_like_the_curator(redis)
    async with bus:
        await run_worker_burst(ft_settings)  # real training in a train_cli child process

    record = await FineTuneStore(redis).get(FT_ID)
    assert record.state == "swapped", record.reason
    assert (record.persona, record.dataset_version, record.attempts, record.backend) == ("BRICK", VERSION, 1, "hf")
    tag = record.model_tag
    assert tag is not None and tag.startswith("batos-brick:") and tag.endswith(f"-{VERSION}")
    assert record.progress.step == record.progress.max_steps == 4 and record.progress.eta_s == 0
    assert [step for step, _loss in record.curve] == [1, 2, 3, 4]
    assert record.training is not None and record.training["steps"] == 4
    assert record.evaluation is not None and record.evaluation["new_wins"] == record.evaluation["samples"] == 5
    assert len(record.evaluation["examples"]) == 5 and {e["outcome"] for e in record.evaluation["examples"]} == {"new"}
    assert record.previous_model == BASE and record.finished_at is not None
    assert [e.data["step"] for e in progress] == [1, 2, 3, 4]
    assert all(e.data["fine_tune_id"] == FT_ID and e.data["loss"] > 0 for e in progress)

    registry = PersonaRegistry.from_settings(redis, ft_settings)
    state = await registry.state("BRICK")
    assert (state.model, state.previous_model) == (tag, BASE)
    [tuned] = await journal(redis, EventType.MODEL_TUNED)
    assert tuned.data == {"persona": "BRICK", "new_model_tag": tag, "previous_model_tag": BASE,
                          "fine_tune_id": FT_ID, "dataset_version": VERSION}
    assert load_training_set(ft_settings.data_dir, VERSION).sha256  # the dataset is intact

    # The cognition worker's next call speaks through the new tag, with no restart of anything.
    fake_ollama.reset()
    fake_ollama.on_chat(cognition_script())
    await submit_task(redis, TaskStore(redis), TaskRecord(text="What is 2 + 2?"))
    cognition = CognitionSettings(redis_url=ft_settings.redis_url, ollama_host=fake_ollama.host,
                                  environment="test", alfred_ollama_model="judge:1b")
    await run_cognition(cognition)
    by_persona = {body["messages"][0]["content"].split(",")[0]: body["model"] for body in fake_ollama.chats()}
    assert by_persona["You are BRICK"] == tag and by_persona["You are ROBIN"] == BASE

    # And an operator can take it back over HTTP.
    rolled_back = (await api.post("/v1/personas/BRICK/rollback")).json()
    assert (rolled_back["model"], rolled_back["previous_model"]) == (BASE, tag)
    assert await registry.current_model("BRICK") == BASE


async def test_a_worse_model_is_rejected_deleted_and_the_persona_keeps_its_model(
    redis, fake_ollama: FakeOllama, ft_settings: FineTuneSettings, sealed: Path, trained_adapter: Path
) -> None:
    place_adapter(ft_settings, FT_ID, trained_adapter)  # trained already: this test is about the gate
    fake_ollama.on_chat(judge_prefers("OLD"))
    await enqueue_like_the_curator(redis)
    await run_worker_burst(ft_settings)

    record = await FineTuneStore(redis).get(FT_ID)
    assert record.state == "rejected"
    assert record.reason is not None and record.reason.startswith(f"worse than {BASE} on the held-out slice: 5 losses")
    assert record.evaluation is not None and record.evaluation["current_wins"] == 5
    assert await PersonaRegistry.from_settings(redis, ft_settings).current_model("BRICK") == BASE
    [rejected] = await journal(redis, EventType.MODEL_REJECTED)
    assert rejected.data["model_tag"] == record.model_tag and rejected.data["fine_tune_id"] == FT_ID
    assert await journal(redis, EventType.MODEL_TUNED) == []
    assert record.model_tag not in fake_ollama.models  # the unused tag was deleted
    # Both orders were asked for every held-out sample.
    assert len(fake_ollama.chats("judge:1b")) == 2 * record.evaluation["samples"]

    # The same fine-tune delivered again (arq retry, duplicate enqueue) does nothing.
    fake_ollama.reset()
    await enqueue(redis, QUEUE_FINE_TUNE, JOB_FINE_TUNE, "BRICK", VERSION, idempotency_key="again",
                  fine_tune_id=FT_ID)
    await run_worker_burst(ft_settings)
    assert fake_ollama.requests == []
    assert (await FineTuneStore(redis).get(FT_ID)).state == "rejected"


async def test_an_order_dependent_judge_counts_as_ties_which_are_not_worse(
    redis, fake_ollama: FakeOllama, ft_settings: FineTuneSettings, sealed: Path, trained_adapter: Path
) -> None:
    place_adapter(ft_settings, FT_ID, trained_adapter)
    fake_ollama.on_chat(judge_prefers("NEW", flip_with_order=True))
    await enqueue_like_the_curator(redis)
    await run_worker_burst(ft_settings)

    record = await FineTuneStore(redis).get(FT_ID)
    assert record.state == "swapped"
    assert record.evaluation is not None
    assert (record.evaluation["ties"], record.evaluation["inconsistent"], record.evaluation["new_wins"]) == (5, 5, 0)
