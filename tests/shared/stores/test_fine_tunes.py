from __future__ import annotations

import asyncio

from shared.errors import NotFound
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
