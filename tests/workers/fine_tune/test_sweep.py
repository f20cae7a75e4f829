"""Fine-tunes whose job arq dropped (the worker died on every try) are failed, not left training."""

from __future__ import annotations

from arq.constants import in_progress_key_prefix, job_key_prefix

from shared.events import EventBus
from shared.keys import event_journal
from shared.stores.fine_tunes import FineTuneRecord, FineTuneState, FineTuneStore
from workers.fine_tune.sweep import ABANDONED, fail_abandoned_fine_tunes


async def record(store: FineTuneStore, name: str, state: FineTuneState, job_id: str | None) -> FineTuneRecord:
    stored, _ = await store.create(FineTuneRecord(id=f"ft-{name}", persona="BRICK", dataset_version=name,
                                                  state=state, job_id=job_id))
    return stored


async def test_only_an_unfinished_fine_tune_without_its_job_is_failed(redis) -> None:
    store, bus = FineTuneStore(redis), EventBus(redis, source="test")
    abandoned = await record(store, "v1", FineTuneState.TRAINING, "fine_tune:v1")
    await record(store, "v2", FineTuneState.EVALUATING, "fine_tune:v2")
    await redis.set(in_progress_key_prefix + "fine_tune:v2", b"1")  # a worker is on it
    await record(store, "v3", FineTuneState.QUEUED, "fine_tune:v3")
    await redis.set(job_key_prefix + "fine_tune:v3", b"{}")  # queued for another try
    await record(store, "v4", FineTuneState.SWAPPED, "fine_tune:v4")  # finished
    await record(store, "v5", FineTuneState.QUEUED, None)  # not picked up by any worker yet

    assert await fail_abandoned_fine_tunes(redis, store, bus) == 1
    failed = await store.get(abandoned.id)
    assert failed.state == FineTuneState.FAILED and failed.reason == ABANDONED
    states = {r.id: r.state for r in await store.list()}
    assert states == {"ft-v1": "failed", "ft-v2": "evaluating", "ft-v3": "queued", "ft-v4": "swapped",
                      "ft-v5": "queued"}
    journal = await redis.xrange(event_journal("fine_tune_failed"))
    assert len(journal) == 1 and b"ft-v1" in journal[0][1][b"envelope"]
    assert await fail_abandoned_fine_tunes(redis, store, bus) == 0
