"""``system_status``: the system as Redis and the LLM server show it, with the verdict and reasons."""

from __future__ import annotations

import time

from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis

from shared.heartbeat import beat
from shared.keys import JOB_ANSWER_TASK, QUEUE_COGNITION, QUEUE_FINE_TUNE, QUEUE_TOOL_FORGE, SANDBOX_PROBE
from shared.llm import LLMClient
from shared.personas import PersonaRegistry
from shared.queues import enqueue
from shared.settings import BaseServiceSettings
from shared.status import (
    SANDBOX_PROBE_TTL_S,
    Overall,
    SandboxProbe,
    SystemStatus,
    publish_sandbox_probe,
    queue_statuses,
    read_sandbox_probe,
    system_status,
)
from tests.support.fake_ollama import FakeOllama
from tests.support.redis_server import free_port

KINDS = ("cognition", "tool_forge", "fine_tune")


async def status_of(redis, host: str, personas: PersonaRegistry | None = None) -> SystemStatus:
    llm = LLMClient(host, timeout_s=2)
    try:
        return await system_status(redis, llm, personas)
    finally:
        await llm.aclose()


async def all_alive(redis) -> None:
    for kind in (*KINDS, "motivator", "curator"):
        await beat(redis, kind, "host-a:1", ttl_s=30)


async def test_nothing_running_is_degraded_with_a_reason_per_queue_without_workers(
    redis, fake_ollama: FakeOllama
) -> None:
    report = await status_of(redis, fake_ollama.host)
    assert report.status == Overall.DEGRADED and report.redis == "ok"
    assert report.reasons == [f"no {kind} worker alive (0 jobs in batos:queue:{kind})" for kind in KINDS]
    assert report.llm.reachable and report.llm.error is None
    assert report.sandbox.reachable is None and report.sandbox.error.startswith("unknown: no tool-forge worker")
    assert [(q.kind, q.queue, q.depth, q.running, q.oldest_age_s, q.workers_alive) for q in report.queues] == [
        ("cognition", QUEUE_COGNITION, 0, 0, None, 0), ("tool_forge", QUEUE_TOOL_FORGE, 0, 0, None, 0),
        ("fine_tune", QUEUE_FINE_TUNE, 0, 0, None, 0)]
    assert [(s.name, s.alive) for s in report.services] == [("motivator", 0), ("curator", 0)]
    assert report.personas == []  # not asked for


async def test_everything_up_is_ok_and_lists_the_personas_models(
    redis, fake_ollama: FakeOllama, settings: BaseServiceSettings
) -> None:
    await all_alive(redis)
    await beat(redis, "cognition", "host-b:7", ttl_s=30)  # a second replica
    await publish_sandbox_probe(redis, None)
    registry = PersonaRegistry.from_settings(redis, settings)
    await registry.swap("BRICK", "batos-brick:v2")
    report = await status_of(redis, fake_ollama.host, registry)
    assert (report.status, report.reasons) == (Overall.OK, [])
    assert [q.workers_alive for q in report.queues] == [2, 1, 1]
    assert [(s.name, s.alive) for s in report.services] == [("motivator", 1), ("curator", 1)]
    assert report.sandbox.reachable is True and report.sandbox.error is None
    assert time.time() - report.sandbox.checked_at < 5
    brick = {p.name: p for p in report.personas}["BRICK"]
    assert (brick.model, brick.previous_model, brick.default_model) == ("batos-brick:v2", "llama3.2:3b", "llama3.2:3b")
    assert {p.name for p in report.personas} == {"BRICK", "ROBIN", "ALFRED"}


async def test_llm_server_away_and_sandbox_missing_are_reasons(redis) -> None:
    await all_alive(redis)
    await publish_sandbox_probe(redis, "the Docker engine has no 'runsc' runtime")
    report = await status_of(redis, f"http://127.0.0.1:{free_port()}")
    assert report.status == Overall.DEGRADED
    [llm_reason, sandbox_reason] = report.reasons
    assert llm_reason.startswith("llm unreachable: Ollama at http://127.0.0.1:")
    assert sandbox_reason == "sandbox unreachable: the Docker engine has no 'runsc' runtime"
    assert not report.llm.reachable and report.llm.error in llm_reason
    assert report.sandbox.reachable is False


async def test_redis_away_is_down_and_still_says_about_the_llm(fake_ollama: FakeOllama) -> None:
    nobody = Redis.from_url(f"redis://127.0.0.1:{free_port()}")
    try:
        report = await status_of(nobody, fake_ollama.host)
    finally:
        await nobody.aclose()
    assert report.status == Overall.DOWN and report.redis.startswith("unreachable: ")
    assert report.reasons == [f"redis {report.redis}"]
    assert report.llm.reachable and report.queues == [] and report.sandbox.reachable is None


async def test_queue_depth_running_jobs_and_the_oldest_waiting_job(redis) -> None:
    for n in range(4):
        await enqueue(redis, QUEUE_COGNITION, JOB_ANSWER_TASK, f"t{n}", idempotency_key=f"task:t{n}")
    now_ms = time.time() * 1000
    # t0 has waited longest but a worker holds it (running); t1 waits 30 s; t3 is deferred (a retry)
    await redis.zadd(QUEUE_COGNITION, {"task:t0": now_ms - 60_000, "task:t1": now_ms - 30_000,
                                       "task:t2": now_ms - 5_000, "task:t3": now_ms + 60_000})
    await redis.set(in_progress_key_prefix + "task:t0", b"1", px=60_000)
    [cognition, tool_forge, _fine_tune] = await queue_statuses(redis)
    assert (cognition.depth, cognition.running) == (4, 1)
    assert cognition.oldest_age_s is not None and 29 < cognition.oldest_age_s < 40
    assert (tool_forge.depth, tool_forge.running, tool_forge.oldest_age_s) == (0, 0, None)


async def test_the_sandbox_probe_lives_for_its_ttl(redis) -> None:
    probe = await publish_sandbox_probe(redis, "Docker engine unreachable: refused", instance="h:1")
    assert 0 < await redis.ttl(SANDBOX_PROBE) <= SANDBOX_PROBE_TTL_S
    assert await read_sandbox_probe(redis) == probe and probe.instance == "h:1" and not probe.reachable
    await redis.delete(SANDBOX_PROBE)
    await redis.hset(SANDBOX_PROBE, "h:9", b"not json")
    assert await read_sandbox_probe(redis) is None and not await redis.hexists(SANDBOX_PROBE, "h:9")


async def test_one_forge_replica_on_a_broken_engine_is_not_hidden_by_a_healthy_one(
        redis, fake_ollama: FakeOllama) -> None:
    broken = await publish_sandbox_probe(redis, "Docker engine unreachable: refused", instance="host-a:1")
    healthy = await publish_sandbox_probe(redis, None, instance="host-b:2")  # the later one
    assert await read_sandbox_probe(redis) == broken  # any recent failure speaks for the sandbox
    report = await status_of(redis, fake_ollama.host)
    assert report.sandbox.reachable is False and any("sandbox unreachable" in r for r in report.reasons)
    await publish_sandbox_probe(redis, None, instance="host-a:1")  # repaired
    assert (await read_sandbox_probe(redis)).reachable and healthy.reachable
    stale = SandboxProbe(reachable=False, error="old", checked_at=time.time() - 2 * SANDBOX_PROBE_TTL_S,
                         instance="host-c:3")
    await redis.hset(SANDBOX_PROBE, stale.instance, stale.model_dump_json())  # a replica gone long ago
    assert (await read_sandbox_probe(redis)).reachable
    assert not await redis.hexists(SANDBOX_PROBE, "host-c:3")
