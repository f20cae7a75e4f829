"""``DatasetStore`` on real Redis and a real directory: dedup, sealing, flushes, interrupted writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.datasets import DatasetStore, list_versions, load_training_set, sample_page
from shared.datasets.jsonl import append_line, read_records
from shared.datasets.layout import datasets_root
from shared.errors import Conflict, InvalidInput, NotFound
from shared.keys import dataset_key
from shared.personas import SYSTEM_PROMPTS
from tests.shared.datasets.helpers import sample


def read_jsonl(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def store(redis, tmp_path, trigger_size: int = 100, **kw) -> DatasetStore:
    return DatasetStore(redis, tmp_path, trigger_size=trigger_size, fsync=False, **kw)


async def test_same_content_is_added_once(redis, tmp_path) -> None:
    s = store(redis, tmp_path)
    assert (await s.append(sample(1))).added
    again = await s.append(sample(2, task="question 1").model_copy(
        update={"provenance": sample(1).provenance.model_copy(update={"interaction_id": "other"})}))
    assert not again.added and again.sample_count == 1
    assert (await s.append(sample(2))).sample_count == 2


async def test_seal_at_trigger_size_writes_the_contract(redis, tmp_path) -> None:
    s = store(redis, tmp_path, trigger_size=10, heldout_fraction=0.2)
    votes = ["ROBIN"] * 6 + ["BRICK"] * 3 + ["tie"]
    results = [await s.append(sample(n, vote=v)) for n, v in enumerate(votes)]
    assert [r.sealed is None for r in results] == [True] * 9 + [False]
    manifest = results[-1].sealed
    assert manifest.version == "v000001" and manifest.persona == "ROBIN"
    assert (manifest.sample_count, manifest.train_count, manifest.heldout_count) == (10, 8, 2)
    assert manifest.votes == {"BRICK": 3, "ROBIN": 6, "tie": 1}
    job = load_training_set(tmp_path, "v000001", persona="robin")
    assert (job.persona, job.sample_count, job.train_count, job.sha256) == ("ROBIN", 10, 8, manifest.sha256)
    train, held = read_jsonl(job.train_path), read_jsonl(job.heldout_path)
    assert len(train) == 8 and len(held) == 2
    assert {line["messages"][0]["content"] for line in train + held} == {SYSTEM_PROMPTS["ROBIN"]}
    ids = sorted(line["provenance"]["interaction_id"] for line in train + held)
    assert ids == sorted(f"int-{n}" for n in range(10))
    nxt = await s.append(sample(99))
    assert nxt.version == "v000002" and nxt.sample_count == 1
    assert [v.version for v in await list_versions(redis, tmp_path)] == ["v000002", "v000001"]


async def test_a_sealed_version_is_verified_and_checked_for_its_persona(redis, tmp_path) -> None:
    s = store(redis, tmp_path, trigger_size=2)
    await s.append(sample(1, vote="BRICK"))
    await s.append(sample(2, vote="tie"))
    with pytest.raises(Conflict, match="sealed for BRICK"):
        load_training_set(tmp_path, "v000001", persona="ROBIN")
    with pytest.raises(NotFound):
        load_training_set(tmp_path, "v000002")
    train = datasets_root(tmp_path) / "v000001" / "train.jsonl"
    train.write_text(train.read_text().replace("answer", "ANSWER"))
    with pytest.raises(Conflict, match="sha256"):
        load_training_set(tmp_path, "v000001")


async def test_equal_tallies_go_to_the_higher_total_score(redis, tmp_path) -> None:
    s = store(redis, tmp_path, trigger_size=4)
    for n, (vote, score) in enumerate([("BRICK", 0.8), ("ROBIN", 0.95), ("BRICK", 0.8), ("ROBIN", 0.9)]):
        result = await s.append(sample(n, vote=vote, score=score))
    assert result.sealed.persona == "ROBIN"


async def test_a_redis_flush_loses_nothing(redis, tmp_path) -> None:
    s = store(redis, tmp_path, trigger_size=3)
    for n in range(4):
        await s.append(sample(n))
    await redis.flushall()
    listed = await list_versions(redis, tmp_path)  # served from the files meanwhile
    assert [(v.version, v.state, v.sample_count) for v in listed] == [("v000002", "open", 1), ("v000001", "sealed", 3)]
    fresh = store(redis, tmp_path, trigger_size=3)
    assert not (await fresh.append(sample(0))).added  # in the sealed version: the index was rebuilt
    assert not (await fresh.append(sample(3))).added  # in the open one
    added = await fresh.append(sample(4))
    assert added.added and (added.version, added.sample_count) == ("v000002", 2)
    got = {v.version: v for v in await list_versions(redis, tmp_path)}
    assert got["v000001"].state == "sealed" and got["v000001"].votes["BRICK"] == 3
    assert got["v000002"].sample_count == 2


async def test_a_line_written_by_a_writer_that_died_before_indexing_is_indexed(redis, tmp_path) -> None:
    s = store(redis, tmp_path)
    await s.append(sample(1))
    path = datasets_root(tmp_path) / "v000001" / "samples.jsonl"
    append_line(path, sample(2).model_dump(mode="json"))  # on disk, never indexed
    assert not (await s.append(sample(2))).added
    assert (await s.append(sample(3))).sample_count == 3


async def test_a_torn_line_is_cut_and_the_dataset_stays_readable(redis, tmp_path) -> None:
    s = store(redis, tmp_path)
    await s.append(sample(1))
    path = datasets_root(tmp_path) / "v000001" / "samples.jsonl"
    with path.open("ab") as f:
        f.write(sample(2).model_dump_json().encode()[:50])
    assert [r["provenance"]["interaction_id"] for r in sample_page(tmp_path, "v000001")] == ["int-1"]
    assert (await s.append(sample(3))).sample_count == 2
    assert [r["provenance"]["interaction_id"] for _e, r in read_records(path)] == ["int-1", "int-3"]
    assert all(line.endswith("}") for line in path.read_text().splitlines())


async def test_a_seal_interrupted_by_a_crash_is_finished_by_the_next_writer(redis, tmp_path) -> None:
    await store(redis, tmp_path, trigger_size=100).append(sample(1))
    await store(redis, tmp_path, trigger_size=100).append(sample(2))
    # as if the process died after the append that reached the trigger size, before sealing
    result = await store(redis, tmp_path, trigger_size=2).append(sample(3))
    assert (result.version, result.sample_count) == ("v000002", 1)
    assert (await list_versions(redis, tmp_path))[1].state == "sealed"


async def test_fire_pending_fires_once_per_version_even_after_a_flush(redis, tmp_path) -> None:
    s = store(redis, tmp_path, trigger_size=1)
    fired: list[str] = []

    async def fire(manifest) -> None:
        fired.append(manifest.version)

    await s.append(sample(1))
    await s.append(sample(2))
    assert [m.version for m in await s.fire_pending(fire)] == ["v000001", "v000002"]
    assert await s.fire_pending(fire) == []
    await redis.flushall()
    await s.recover()
    assert await s.fire_pending(fire) == []
    assert fired == ["v000001", "v000002"]
    assert all(v.fine_tune_enqueued for v in await list_versions(redis, tmp_path))


async def test_a_trigger_whose_flag_was_never_written_is_flagged_on_recovery(redis, tmp_path) -> None:
    """A curator killed between the trigger's marker file and the index flag: the next start-up
    flags the version from its file instead of reporting it unqueued for ever."""
    s = store(redis, tmp_path, trigger_size=1)
    await s.append(sample(1))

    async def fire(manifest) -> None:
        pass

    await s.fire_pending(fire)
    await redis.hdel(dataset_key("v000001"), "fine_tune_enqueued", "fine_tune_enqueued_at")  # the lost write
    assert not (await list_versions(redis, tmp_path))[0].fine_tune_enqueued
    await store(redis, tmp_path, trigger_size=1).recover()
    assert (await list_versions(redis, tmp_path))[0].fine_tune_enqueued


async def test_sample_page_and_unknown_versions(redis, tmp_path) -> None:
    s = store(redis, tmp_path)
    for n in range(5):
        await s.append(sample(n))
    page = sample_page(tmp_path, "v000001", offset=1, limit=2)
    assert [r["provenance"]["interaction_id"] for r in page] == ["int-1", "int-2"]
    for bad in ("v000009", "../etc", "latest"):
        with pytest.raises(NotFound):
            sample_page(tmp_path, bad)
    with pytest.raises(InvalidInput):
        sample_page(tmp_path, "v000001", split="everything")
