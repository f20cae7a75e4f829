"""Every failure ends the same way: the persona keeps its model, the dataset stays intact and
re-runnable, the record says why and ``fine_tune_failed`` is published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis as sync_redis

from shared.datasets import load_training_set
from shared.keys import JOB_FINE_TUNE, QUEUE_FINE_TUNE, EventType, persona_key
from shared.personas import PersonaRegistry
from shared.queues import enqueue
from shared.stores.fine_tunes import FineTuneRecord, FineTuneStore
from tests.support.fake_ollama import Answer, Failure, FakeOllama
from tests.workers.fine_tune.fixtures import (
    BASE,
    JUDGE,
    VERSION,
    journal,
    judge_prefers,
    place_adapter,
    run_worker_burst,
    settings_from_env,
)
from workers.fine_tune.settings import FineTuneSettings

FT_ID = "ft-manual-1"


async def run_one(redis, settings: FineTuneSettings, version: str = VERSION) -> FineTuneRecord:
    await enqueue(redis, QUEUE_FINE_TUNE, JOB_FINE_TUNE, "BRICK", version, idempotency_key=FT_ID,
                  fine_tune_id=FT_ID)
    await run_worker_burst(settings)
    return await FineTuneStore(redis).get(FT_ID)


async def assert_failed_cleanly(redis, settings: FineTuneSettings, record: FineTuneRecord, reason: str) -> None:
    assert record.state == "failed"
    assert record.reason is not None and record.reason.startswith(reason), record.reason
    [failed] = await journal(redis, EventType.FINE_TUNE_FAILED)
    assert failed.data == {"persona": "BRICK", "fine_tune_id": FT_ID, "dataset_version": record.dataset_version,
                           "reason": record.reason}
    assert await journal(redis, EventType.MODEL_TUNED) == []
    assert await PersonaRegistry.from_settings(redis, settings).current_model("BRICK") == BASE


async def test_training_that_raises_fails_the_job_and_leaves_the_dataset_rerunnable(
    redis, fake_ollama: FakeOllama, ft_env: dict[str, str], sealed: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "not-a-model"
    broken.mkdir()
    settings = settings_from_env(ft_env, brick_hf_base=str(broken))
    before = load_training_set(settings.data_dir, VERSION)

    record = await run_one(redis, settings)  # a real train_cli child that cannot load its base

    await assert_failed_cleanly(redis, settings, record, "training: TrainingFailed: BaseModelError: cannot load")
    assert [r for r in fake_ollama.requests if r["path"] in ("/api/blobs", "/api/create")] == []
    assert not (Path(settings.fine_tune_output_dir) / "BRICK" / FT_ID).exists()
    assert load_training_set(settings.data_dir, VERSION) == before  # same files, same hashes


async def test_a_failed_create_fails_the_job(
    redis, fake_ollama: FakeOllama, ft_settings: FineTuneSettings, sealed: Path, trained_adapter: Path
) -> None:
    place_adapter(ft_settings, FT_ID, trained_adapter)
    fake_ollama.fail_create = Failure(500, "no space left on device")
    record = await run_one(redis, ft_settings)
    await assert_failed_cleanly(redis, ft_settings, record,
                                "create: ModelCreationError: Ollama refused to create batos-brick:")
    assert "HTTP 500 no space left on device" in (record.reason or "")
    assert record.model_tag not in fake_ollama.models
    assert fake_ollama.chats() == []  # nothing evaluated without a model


async def test_a_judge_that_never_answers_usably_fails_the_job_and_the_new_tag_is_deleted(
    redis, fake_ollama: FakeOllama, ft_settings: FineTuneSettings, sealed: Path, trained_adapter: Path
) -> None:
    place_adapter(ft_settings, FT_ID, trained_adapter)
    fake_ollama.on_chat(lambda body: "not json" if body["model"] == JUDGE else "an answer")
    record = await run_one(redis, ft_settings)
    await assert_failed_cleanly(redis, ft_settings, record,
                                "evaluation: EvaluationError: the judge judge:1b gave no usable verdict")
    assert record.model_tag not in fake_ollama.models


async def test_a_swap_made_by_someone_else_during_evaluation_is_not_overwritten(
    redis, fake_ollama: FakeOllama, ft_settings: FineTuneSettings, sealed: Path, trained_adapter: Path
) -> None:
    place_adapter(ft_settings, FT_ID, trained_adapter)
    judge = judge_prefers("NEW")
    meanwhile = sync_redis.Redis.from_url(ft_settings.redis_url)

    def script(body: dict[str, Any]) -> Answer:
        if body["model"] == JUDGE:  # e.g. an operator rolled BRICK forward by hand
            meanwhile.hset(persona_key("BRICK"), mapping={"model": "hand-made:1", "previous": BASE})
        return judge(body)

    fake_ollama.on_chat(script)
    record = await run_one(redis, ft_settings)
    meanwhile.close()
    assert record.state == "failed"
    assert f"BRICK is on hand-made:1, not {BASE}; swap refused" in (record.reason or "")
    assert await PersonaRegistry.from_settings(redis, ft_settings).current_model("BRICK") == "hand-made:1"


async def test_an_unknown_dataset_version_fails_without_training(
    redis, fake_ollama: FakeOllama, ft_settings: FineTuneSettings
) -> None:
    record = await run_one(redis, ft_settings, version="v000042")
    await assert_failed_cleanly(redis, ft_settings, record, "job: NotFound: no sealed dataset version 'v000042'")
    assert record.attempts == 0 and fake_ollama.requests == []
