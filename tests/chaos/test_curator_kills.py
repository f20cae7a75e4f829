"""Curators killed with SIGKILL mid-batch, again and again: one verdict each, finished work never
judged again, what the dead held taken over within the presence TTL, dead members leave the group."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest

from shared.keys import CURATOR_GROUP, INTERACTIONS_STREAM
from tests.chaos.conftest import SCALE
from tests.chaos.replicas import Replicas
from tests.services.curator.helpers import (
    JUDGE,
    ScriptedAlfred,
    append_all,
    backlog,
    interaction,
    is_vote,
    marker,
    verdicts,
)
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama

pytestmark = [pytest.mark.chaos, pytest.mark.slow, pytest.mark.timeout(400 * SCALE)]

INTERACTIONS = 240 * SCALE
KILLS = 8 * SCALE
KILL_EVERY_S = 1.5
CONCURRENCY = 4
CLAIM_INTERVAL_S = 1.0  # presence TTL: 3 intervals


async def _members(redis) -> list[str]:
    return sorted(m["name"].decode() for m in await redis.xinfo_consumers(INTERACTIONS_STREAM, CURATOR_GROUP))


async def test_killed_curators_judge_finished_work_once_and_leave_the_group(
        redis, fake_ollama: FakeOllama, chaos_env: dict[str, str], tmp_path: Path) -> None:
    fake_ollama.chat_delay_s = 0.2
    fake_ollama.on_chat(ScriptedAlfred(score=lambda n: 0.9 if n % 2 else 0.3, vote=lambda n: "ROBIN"))
    env = {**chaos_env, "BATOS_CURATOR_JUDGE_MODEL": JUDGE, "BATOS_CURATOR_FSYNC": "false",
           "BATOS_CURATOR_CONCURRENCY": str(CONCURRENCY), "BATOS_CURATOR_CLAIM_INTERVAL_S": str(CLAIM_INTERVAL_S),
           "BATOS_CURATOR_BLOCK_MS": "200", "BATOS_CURATOR_TRIGGER_SIZE": "1000"}  # the idle claim stays 60 s
    curators = Replicas("services.curator", env, count=2, name="curator")
    await curators.start()
    try:
        await append_all(redis, [interaction(n) for n in range(INTERACTIONS)])
        for _ in range(KILLS):
            await asyncio.sleep(KILL_EVERY_S)
            await curators.kill_one()
        last_kill = time.time()
        await asyncio.gather(*(curators.ready(p) for p in curators.processes))

        async def all_curated() -> bool:
            return len(await verdicts(redis)) >= INTERACTIONS and await backlog(redis) == {"pending": 0, "lag": 0}

        await eventually(all_curated, within_s=180 * SCALE, every=0.2)
        curated_in = time.time() - last_kill
        members = await eventually(lambda: _only_live(redis, curators), within_s=60, every=0.5)
        assert curators.all_alive(), curators.output()
    finally:
        codes = curators.stop()
    assert codes == [0, 0], curators.output()
    assert await _members(redis) == []  # the survivors left on their clean stop

    got = await verdicts(redis)
    assert len(got) == INTERACTIONS and len({v.interaction_id for v in got}) == INTERACTIONS
    scored = Counter(marker(b) for b in fake_ollama.chats(JUDGE) if not is_vote(b))
    redone = sum(c - 1 for c in scored.values())
    assert set(scored) == set(range(INTERACTIONS))
    # only what was in flight at a kill is judged again (twice if the one that took it over died too)
    assert redone <= KILLS * CONCURRENCY
    print(f"\n{KILLS} curator kills over {INTERACTIONS} interactions: {redone} judged twice (in flight at a "
          f"kill; at most {KILLS * CONCURRENCY}); all curated {curated_in:.1f} s after the last kill "
          f"(idle claim 60 s, presence TTL {3 * CLAIM_INTERVAL_S:.0f} s); group members at the end: {members}")
    assert curated_in < 45  # taken over through presence, not the 60 s idle claim


async def _only_live(redis, curators: Replicas) -> list[str] | None:
    members = await _members(redis)
    pids = {str(p.process.pid) for p in curators.processes if p.process is not None}
    return members if len(members) == 2 and {m.rsplit("-", 1)[-1] for m in members} == pids else None
