"""Forge jobs whose arq job was dropped (the worker died on every try) are failed, not left running."""

from __future__ import annotations

from arq.constants import in_progress_key_prefix

from shared.events import EventBus
from shared.keys import event_journal
from shared.llm import LLMClient
from shared.personas import PersonaRegistry
from shared.sandbox import Sandbox
from shared.stores.status import RunStatus
from shared.tools import ForgeJob, ForgeJobStore, ToolRegistry, ToolSpec
from workers.tool_forge.forge import ToolForge
from workers.tool_forge.settings import ToolForgeSettings
from workers.tool_forge.sweep import ABANDONED, fail_abandoned_forge_jobs


async def test_only_a_running_forge_job_without_its_arq_job_is_failed(redis, forge_settings: ToolForgeSettings) -> None:
    jobs = ForgeJobStore(redis)
    forge = ToolForge(settings=forge_settings, llm=LLMClient(forge_settings.ollama_host),
                      personas=PersonaRegistry.from_settings(redis, forge_settings), sandbox=Sandbox(forge_settings),
                      registry=ToolRegistry(redis), jobs=jobs, bus=EventBus(redis, source="test"))
    spec = ToolSpec(description="add two numbers")
    for job_id in ("abandoned", "in-progress", "queued", "done"):
        await jobs.create(ForgeJob(id=job_id, spec=spec))
    await jobs.update("abandoned", status=RunStatus.RUNNING, queue_job_id="arq-abandoned")
    await jobs.update("in-progress", status=RunStatus.RUNNING, queue_job_id="arq-in-progress")
    await redis.set(in_progress_key_prefix + "arq-in-progress", b"1")
    await jobs.update("done", status=RunStatus.RUNNING, queue_job_id="arq-done")
    await jobs.update("done", status=RunStatus.SUCCEEDED)  # leaves the running index
    assert sorted(await jobs.running()) == ["abandoned", "in-progress"]

    assert await fail_abandoned_forge_jobs(redis, forge) == 1
    failed = await jobs.get("abandoned")
    assert failed.status is RunStatus.FAILED and failed.error == ABANDONED and failed.finished_at
    assert (await jobs.get("in-progress")).status is RunStatus.RUNNING
    assert (await jobs.get("queued")).status is RunStatus.QUEUED
    assert await jobs.running() == ["in-progress"]
    journal = await redis.xrange(event_journal("tool_forge_failed"))
    assert len(journal) == 1 and b"abandoned" in journal[0][1][b"envelope"]
    assert await fail_abandoned_forge_jobs(redis, forge) == 0  # nothing left to sweep
