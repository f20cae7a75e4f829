"""What decides whether a fine-tune runs at all: enough held-out samples, and no newer version."""

from __future__ import annotations

from shared.keys import EventType
from tests.support.fake_ollama import FakeOllama
from tests.workers.fine_tune.fixtures import VERSION, journal, seal_dataset
from tests.workers.fine_tune.test_failures import run_one
from workers.fine_tune.settings import FineTuneSettings


async def test_too_few_heldout_samples_is_a_rejection_before_any_training(
    redis, fake_ollama: FakeOllama, ft_settings: FineTuneSettings
) -> None:
    seal_dataset(ft_settings.data_dir, samples=8)  # 2 held out: one tie could decide a gate of 2
    record = await run_one(redis, ft_settings)
    assert record.state == "rejected" and record.training is None and record.curve == []
    assert "holds out 2 samples; the gate needs at least 5" in (record.reason or "")
    assert [e.data["fine_tune_id"] for e in await journal(redis, EventType.MODEL_REJECTED)] == [record.id]
    assert fake_ollama.chats() == [] and not any(r["path"] == "/api/create" for r in fake_ollama.requests)


async def test_a_waiting_fine_tune_is_superseded_by_a_newer_version_for_its_persona(
    redis, fake_ollama: FakeOllama, ft_settings: FineTuneSettings
) -> None:
    seal_dataset(ft_settings.data_dir)
    seal_dataset(ft_settings.data_dir, version="v000002")
    record = await run_one(redis, ft_settings)
    assert record.state == "superseded" and record.training is None
    assert record.reason is not None and "superseded by dataset v000002" in record.reason
    [event] = await journal(redis, EventType.FINE_TUNE_SUPERSEDED)
    assert event.data["newer_version"] == "v000002" and event.data["dataset_version"] == VERSION
    assert fake_ollama.chats() == []


async def test_a_newer_version_for_another_persona_supersedes_nothing(
    redis, fake_ollama: FakeOllama, ft_settings: FineTuneSettings
) -> None:
    seal_dataset(ft_settings.data_dir, samples=8)
    seal_dataset(ft_settings.data_dir, version="v000002", persona="ROBIN")
    record = await run_one(redis, ft_settings)
    assert record.state == "rejected"  # it ran as far as the held-out rule, not superseded
