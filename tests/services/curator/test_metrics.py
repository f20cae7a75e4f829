"""The curator's metrics: verdicts and samples counted, the backlog gauged, ALFRED's calls timed."""

from __future__ import annotations

import asyncio

import httpx

from shared.keys import CURATION_RUN_CHANNEL, CURATION_RUN_REQUESTED
from tests.services.curator.helpers import (
    JUDGE,
    ScriptedAlfred,
    append_all,
    curator_settings,
    interaction,
    process_env,
    rubric,
    running_curator,
    verdicts,
    wait_until,
)
from tests.support.eventually import eventually
from tests.support.metrics import sample
from tests.support.processes import ServiceProcess
from tests.support.redis_server import free_port

VERDICTS = ("golden", "rejected", "unjudged")


def judged(n: int) -> str:
    return {0: rubric(0.9), 1: rubric(0.2)}.get(n, "I would rather not say.")  # 2: prose, unjudged


async def test_verdicts_samples_and_backlog_are_measured(redis, settings, fake_ollama, tmp_path) -> None:
    fake_ollama.on_chat(ScriptedAlfred(score=lambda n: 0.0, rubric_answer=judged))
    before = {v: sample("batos_curated_total", verdict=v) for v in VERDICTS}
    added = sample("batos_curated_samples_total", result="added")
    alfred = sample("batos_llm_call_seconds_count", model=JUDGE, persona="ALFRED", outcome="ok")
    cs = curator_settings(settings, tmp_path, curator_mode="cycles", curator_cycle_interval_s=3600,
                          curator_judge_attempts=1)
    await append_all(redis, [interaction(n) for n in range(3)])
    async with running_curator(cs, redis):
        async def waiting(lag: int) -> bool:
            return sample("batos_curation_backlog", state="lag") == lag

        await wait_until(lambda: waiting(3), what="3 undelivered interactions in the backlog gauge")
        await redis.incr(CURATION_RUN_REQUESTED)  # what POST /v1/curation/run does
        await redis.publish(CURATION_RUN_CHANNEL, "1")

        async def curated() -> bool:
            return len(await verdicts(redis)) >= 3

        await wait_until(curated, what="3 verdicts")

        async def empty() -> bool:
            return sample("batos_curation_backlog", state="pending") == 0 and await waiting(0)

        await wait_until(empty, what="an empty backlog (nothing pending, nothing undelivered)")
    assert {v: sample("batos_curated_total", verdict=v) - before[v] for v in VERDICTS} == {
        "golden": 1, "rejected": 1, "unjudged": 1}
    assert sample("batos_curated_samples_total", result="added") - added == 1
    # a rubric each (3) and the golden one's two votes, all on ALFRED's behalf
    assert sample("batos_llm_call_seconds_count", model=JUDGE, persona="ALFRED", outcome="ok") - alfred == 5


async def test_a_curator_process_serves_its_metrics_on_the_metrics_port(redis, settings, fake_ollama,
                                                                        tmp_path) -> None:
    fake_ollama.on_chat(ScriptedAlfred(score=lambda n: 0.9))
    port = free_port()
    env = {**process_env(curator_settings(settings, tmp_path)), "BATOS_METRICS_PORT": str(port)}
    curator = ServiceProcess("services.curator", env, name="curator-metrics").start()
    try:
        await asyncio.to_thread(curator.wait_for_output, "curator ready")
        await append_all(redis, [interaction(1)])

        async def scraped() -> str | None:
            text = (await asyncio.to_thread(httpx.get, f"http://127.0.0.1:{port}/metrics", timeout=5)).text
            return text if 'batos_curated_total{verdict="golden"} 1.0' in text else None

        text = await eventually(scraped, every=0.2)
    finally:
        assert curator.stop() == 0, curator.output()[-2000:]
    assert 'batos_curated_samples_total{result="added"} 1.0' in text
    assert 'batos_llm_call_seconds_count{model="judge:1b",outcome="ok",persona="ALFRED"} 3.0' in text
