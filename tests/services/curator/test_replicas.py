"""Curators as real processes against one Redis: three replicas split the stream, a SIGKILLed
one's pending interactions are claimed and finished by another."""

from __future__ import annotations

from collections import Counter

import pytest

from shared.datasets import list_versions, load_training_set, sample_page
from shared.datasets.seal import winner
from tests.services.curator.helpers import (
    JUDGE,
    ScriptedAlfred,
    append_all,
    backlog,
    curator_settings,
    dataset_lines,
    interaction,
    is_vote,
    marker,
    probe,
    process_env,
    verdicts,
    wait_until,
)
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.slow


async def client_ids(redis) -> set[int]:
    return {int(c["id"]) for c in await redis.client_list()}


def start_curators(cs, names: list[str]) -> list[ServiceProcess]:
    procs = [ServiceProcess("services.curator", {**process_env(cs), "BATOS_CURATOR_CONSUMER_NAME": name},
                            name=f"curator-{name}").start() for name in names]
    for proc in procs:
        proc.wait_for_output("curator ready")
    return procs


async def test_three_curators_score_each_interaction_once(redis, settings, fake_ollama, tmp_path) -> None:
    golden = {n for n in range(300) if n % 3 == 0}
    fake_ollama.chat_delay_s = 0.005
    fake_ollama.on_chat(ScriptedAlfred(score=lambda n: 0.9 if n in golden else 0.5,
                                       vote=lambda n: "BRICK" if n % 9 == 0 else "ROBIN" if n % 2 else "first"))
    cs = curator_settings(settings, tmp_path, curator_trigger_size=40, curator_concurrency=8)
    procs = start_curators(cs, ["c1", "c2", "c3"])
    try:
        await append_all(redis, [interaction(n) for n in range(300)])

        async def all_done() -> bool:
            return len(await verdicts(redis)) >= 300 and await backlog(redis) == {"pending": 0, "lag": 0}

        await wait_until(all_done, within=60, what="300 verdicts")
    finally:
        for proc in procs:
            proc.stop()
    got = await verdicts(redis)
    assert len(got) == 300 and len({v.interaction_id for v in got}) == 300
    assert all(count > 0 for count in Counter(v.consumer for v in got).values())
    assert set(Counter(v.consumer for v in got)) == {"c1", "c2", "c3"}
    rubric_asks = Counter(marker(b) for b in fake_ollama.chats(JUDGE) if not is_vote(b))
    assert rubric_asks == Counter(range(300))  # every interaction scored exactly once
    vote_asks = Counter(marker(b) for b in fake_ollama.chats(JUDGE) if is_vote(b))
    assert vote_asks == Counter({n: 2 for n in golden})
    ids = [line["provenance"]["interaction_id"] for line in dataset_lines(tmp_path)]
    assert len(ids) == len(set(ids)) and set(ids) == {f"int-{n:04d}" for n in golden}
    versions = {v.version: v for v in await list_versions(redis, tmp_path)}
    assert [(v, s.state, s.sample_count) for v, s in sorted(versions.items())] == [
        ("v000001", "sealed", 40), ("v000002", "sealed", 40), ("v000003", "open", 20)]
    for version in ("v000001", "v000002"):
        job = load_training_set(tmp_path, version)
        records = [r for split in ("train", "heldout") for r in sample_page(tmp_path, version, 0, 1000, split)]
        assert job.persona == winner(records) and versions[version].fine_tune_enqueued
        assert (job.train_count, job.heldout_count) == (36, 4)


async def test_a_killed_curators_pending_work_is_finished_by_another(redis, settings, fake_ollama,
                                                                       tmp_path) -> None:
    fake_ollama.chat_delay_s = 0.25
    fake_ollama.on_chat(ScriptedAlfred(score=lambda n: 0.9 if n % 2 else 0.3, vote=lambda n: "ROBIN"))
    cs = curator_settings(settings, tmp_path, curator_concurrency=8, curator_claim_idle_ms=1_500)
    await append_all(redis, [interaction(n) for n in range(40)])
    ours = await client_ids(redis)
    (victim,) = start_curators(cs, ["victim"])
    reader = probe(redis)

    async def mid_batch() -> bool:
        return len(await verdicts(redis)) >= 6 and await backlog(redis) != {"pending": 0, "lag": 0}

    await wait_until(mid_batch, what="the victim to be mid-batch")
    victims = await client_ids(redis) - ours
    victim.kill()

    async def victim_disconnected() -> bool:  # Redis has run all the victim had sent
        return not (await client_ids(redis)) & victims

    await wait_until(victim_disconnected, what="Redis to drop the victim's connections")
    held = await redis.xpending_range(reader.stream, reader.group, min="-", max="+", count=100, consumername="victim")
    held_ids = {row["message_id"].decode() for row in held}
    assert held_ids, "the victim held nothing when killed"
    (rescuer,) = start_curators(cs, ["rescuer"])
    try:
        async def all_done() -> bool:
            return len(await verdicts(redis)) >= 40 and await backlog(redis) == {"pending": 0, "lag": 0}

        await wait_until(all_done, within=30, what="every interaction to be curated")
    finally:
        rescuer.stop()
    got = await verdicts(redis)
    assert len(got) == 40 and len({v.interaction_id for v in got}) == 40  # nothing lost, nothing doubled
    by_entry = {v.entry_id: v for v in got}
    assert {by_entry[i].consumer for i in held_ids} == {"rescuer"}
    ids = [line["provenance"]["interaction_id"] for line in dataset_lines(tmp_path)]
    assert sorted(ids) == [f"int-{n:04d}" for n in range(40) if n % 2]
    held_numbers = {int(by_entry[i].interaction_id[-4:]) for i in held_ids}
    scored = Counter(marker(b) for b in fake_ollama.chats(JUDGE) if not is_vote(b))
    assert all(scored[n] == 1 for n in range(40) if n not in held_numbers)  # only in-flight work is redone
    assert all(1 <= scored[n] <= 2 for n in held_numbers)
