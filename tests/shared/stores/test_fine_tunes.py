from __future__ import annotations

import asyncio

import pytest
from arq.constants import job_key_prefix

from shared.errors import NotFound
from shared.queues.enqueue import prepare_job
from shared.stores.fine_tunes import FineTuneRecord, FineTuneState, FineTuneStore


async def test_create_stores_the_whole_record_once(redis) -> None:
    store = FineTuneStore(redis)
    _, created = await store.create(FineTuneRecord(id="ft-a", persona="BRICK", dataset_version="v000001"))
    again, created_again = await store.create(FineTuneRecord(id="ft-a", persona="ROBIN", dataset_version="v000009"))
    assert created and not created_again
    assert again.persona == "BRICK" and again.dataset_version == "v000001"  # the first one stays
    await store.update("ft-a", state=FineTuneState.TRAINING)
    assert (await store.get("ft-a")).state == FineTuneState.TRAINING
    assert [r.id for r in await store.list()] == ["ft-a"]


async def test_a_reader_never_sees_a_record_half_created(redis) -> None:
    """The worker creates the record while a poller (the API, a test) reads it: the reader finds
    either nothing or every required field, never a hash holding only the id."""
    store = FineTuneStore(redis)
    ids = [f"ft-{n}" for n in range(200)]

    async def read_each_as_it_appears() -> int:
        found = 0
        for fine_tune_id in ids:  # poll the id being created next, so reads land mid-create
            while True:
                try:
                    record = await store.get(fine_tune_id)  # a partial hash fails validation here
                except NotFound:
                    await asyncio.sleep(0)
                    continue
                assert record.persona == "BRICK" and record.dataset_version == "v000001"
                found += 1
                break
        return found

    async def create_all() -> None:
        for fine_tune_id in ids:
            await store.create(FineTuneRecord(id=fine_tune_id, persona="BRICK", dataset_version="v000001"))

    found, _ = await asyncio.wait_for(asyncio.gather(read_each_as_it_appears(), create_all()), timeout=120)
    assert found == len(ids)


async def test_updating_a_record_that_is_gone_says_so_and_writes_nothing(redis) -> None:
    """A flush mid-run must not leave a hash of a few fields that every later read fails on."""
    store = FineTuneStore(redis)
    await store.create(FineTuneRecord(id="ft-b", persona="BRICK", dataset_version="v000001"))
    await redis.flushall()
    with pytest.raises(NotFound):
        await store.update("ft-b", state=FineTuneState.TRAINING)
    assert await redis.keys("*") == []
    record, created = await store.create(FineTuneRecord(id="ft-b", persona="BRICK", dataset_version="v000001"))
    assert created and record.state == FineTuneState.QUEUED  # a re-run starts it afresh


async def test_a_record_and_its_job_are_created_together_once(redis) -> None:
    store = FineTuneStore(redis)
    job = prepare_job("batos:queue:test", "fine_tune", ("BRICK", "v000001"), job_id="fine_tune:ft-c",
                      expires_ms=60_000)
    _, created = await store.create(
        FineTuneRecord(id="ft-c", persona="BRICK", dataset_version="v000001", job_id=job.job_id), job=job)
    assert created and (await store.get("ft-c")).job_id == "fine_tune:ft-c"
    assert await redis.zrange("batos:queue:test", 0, -1) == [b"fine_tune:ft-c"]
    assert await redis.exists(job_key_prefix + "fine_tune:ft-c")
    await redis.delete(job_key_prefix + "fine_tune:ft-c", "batos:queue:test")
    _, created = await store.create(FineTuneRecord(id="ft-c", persona="BRICK", dataset_version="v000001"), job=job)
    assert not created and await redis.zcard("batos:queue:test") == 0  # a repeat enqueues nothing
