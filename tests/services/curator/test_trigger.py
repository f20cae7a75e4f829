"""The fine-tune trigger: one job per sealed version, for the voted persona, never twice."""

from __future__ import annotations

from arq.jobs import Job

from shared.datasets import TrainingSet, load_training_set
from shared.keys import QUEUE_FINE_TUNE, EventType, event_journal, fine_tune_queue_job_id
from shared.queues import json_deserializer
from tests.services.curator.helpers import (
    ScriptedAlfred,
    append_all,
    curator_settings,
    dataset_lines,
    interaction,
    running_curator,
    verdicts,
    wait_until,
)


async def queued_jobs(redis) -> dict[str, list]:
    out = {}
    for raw in await redis.zrange(QUEUE_FINE_TUNE, 0, -1):
        job_id = raw.decode()
        info = await Job(job_id, redis, _queue_name=QUEUE_FINE_TUNE, _deserializer=json_deserializer).info()
        out[job_id] = list(info.args)
    return out


async def sealed_events(redis) -> list[dict]:
    from shared.events import Envelope

    entries = await redis.xrange(event_journal(EventType.DATASET_SEALED))
    return [Envelope.from_json(fields[b"envelope"]).data for _id, fields in entries]


async def test_each_sealed_version_triggers_one_job_for_its_voted_persona(redis, settings, fake_ollama,
                                                                        tmp_path) -> None:
    votes = ["BRICK", "BRICK", "ROBIN", "BRICK", "first",  # v000001: BRICK 3, ROBIN 1, tie 1
             "ROBIN", "ROBIN", "BRICK", "ROBIN", "ROBIN",  # v000002: ROBIN 4, BRICK 1
             "BRICK"]  # stays in the open v000003
    fake_ollama.on_chat(ScriptedAlfred(score=lambda n: 0.9, vote=lambda n: votes[n]))
    cs = curator_settings(settings, tmp_path, curator_trigger_size=5, curator_concurrency=1,
                          curator_heldout_fraction=0.2)
    await append_all(redis, [interaction(n) for n in range(11)])
    async with running_curator(cs, redis):
        await wait_until(lambda: _count(redis, 11), what="11 verdicts")
        await wait_until(lambda: _jobs(redis, 2), what="2 fine-tune jobs")
    expected = {fine_tune_queue_job_id("v000001"): ["BRICK", "v000001"],
                fine_tune_queue_job_id("v000002"): ["ROBIN", "v000002"]}
    assert await queued_jobs(redis) == expected
    events = await sealed_events(redis)
    assert [(e["version"], e["persona"], e["sample_count"]) for e in events] == [
        ("v000001", "BRICK", 5), ("v000002", "ROBIN", 5)]
    assert events[0]["votes"] == {"BRICK": 3, "ROBIN": 1, "tie": 1}
    job = load_training_set(tmp_path, "v000002", persona="ROBIN")
    assert isinstance(job, TrainingSet) and (job.train_count, job.heldout_count) == (4, 1)
    assert job.sha256 == events[1]["sha256"]

    # The worker took both jobs (gone from the queue); curators restart, Redis even loses everything,
    # and the same interaction comes again: no version triggers twice, no sample lands twice.
    await redis.delete(QUEUE_FINE_TUNE, *[f"arq:job:{job_id}" for job_id in expected])
    async with running_curator(cs, redis, consumer="c-again"):
        pass
    await redis.flushall()
    await append_all(redis, [interaction(0)])
    async with running_curator(cs, redis, consumer="c-after-flush"):
        await wait_until(lambda: _count(redis, 1), what="the re-sent interaction's verdict")
    (again,) = await verdicts(redis)
    assert again.status == "golden" and again.duplicate
    assert await queued_jobs(redis) == {}
    assert await sealed_events(redis) == []
    assert len(dataset_lines(tmp_path)) == 11


async def _count(redis, n: int) -> bool:
    return len(await verdicts(redis)) >= n


async def _jobs(redis, n: int) -> bool:
    return await redis.zcard(QUEUE_FINE_TUNE) >= n
