"""Helpers for curator tests: interactions, a scripted ALFRED, an in-process curator, polling."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from services.curator.service import Curator
from services.curator.settings import CuratorSettings
from shared.events.consumer_group import GroupMember
from shared.keys import CURATOR_GROUP, INTERACTIONS_STREAM
from shared.llm.client import LLMClient
from shared.stores.interactions import Contribution, Interaction, InteractionLog

JUDGE = "judge:1b"
_MARK = re.compile(r"task-(\d{4})")


def interaction(n: int, *, task: str | None = None, response: str | None = None) -> Interaction:
    """Interaction number ``n``; its task carries the marker ``task-NNNN`` the scripted judge reads."""
    task = task or f"task-{n:04d}: explain idea {n}"
    answer = response or f"ROBIN's synthesis for idea {n}."
    return Interaction(id=f"int-{n:04d}", task_id=f"t-{n:04d}", task=task, response=answer,
                       contributions=[Contribution(persona="BRICK", model="llama3.2:3b", content=f"Logic {n}."),
                                      Contribution(persona="ROBIN", model="llama3.2:3b", content=answer)],
                       models={"BRICK": "llama3.2:3b", "ROBIN": "llama3.2:3b"})


def rubric(score: float, reasons: str = "clear and correct") -> str:
    return json.dumps({"logical_rigor": 0.9, "creative_synthesis": 0.8, "task_efficacy": 0.9,
                       "golden_score": score, "reasons": reasons})


def marker(body: dict[str, Any]) -> int:
    found = _MARK.search(body["messages"][-1]["content"])
    assert found, "request without a task marker"
    return int(found.group(1))


def is_vote(body: dict[str, Any]) -> bool:
    return "Which contribution" in body["messages"][0]["content"]


def brick_first(body: dict[str, Any]) -> bool:
    text = body["messages"][-1]["content"]
    return text.index("BRICK's contribution") < text.index("ROBIN's contribution")


class ScriptedAlfred:
    """Answers rubric and vote requests from plans keyed by the task marker."""

    def __init__(self, score: Callable[[int], float], vote: Callable[[int], str] | None = None,
                 rubric_answer: Callable[[int], Any] | None = None):
        self.score = score
        self.vote = vote or (lambda n: "BRICK")
        self.rubric_answer = rubric_answer

    def __call__(self, body: dict[str, Any]) -> Any:
        n = marker(body)
        if is_vote(body):
            persona = self.vote(n)
            if persona == "first":  # position-biased: always the one shown first
                persona = "BRICK" if brick_first(body) else "ROBIN"
            return json.dumps({"persona": persona, "reason": "it carried the answer"})
        return self.rubric_answer(n) if self.rubric_answer else rubric(self.score(n))


def curator_settings(settings: Any, data_dir: Any, **overrides: Any) -> CuratorSettings:
    base = {"redis_url": settings.redis_url, "ollama_host": settings.ollama_host, "environment": "test",
            "llm_timeout_s": 5.0, "data_dir": str(data_dir), "curator_judge_model": JUDGE,
            "curator_fsync": False, "curator_claim_interval_s": 0.2, "curator_block_ms": 100}
    return CuratorSettings(**{**base, **overrides})


def process_env(settings: CuratorSettings) -> dict[str, str]:
    """The settings as BATOS_* variables for a curator process."""
    return {f"BATOS_{k.upper()}": str(v) for k, v in settings.model_dump().items() if v is not None}


@asynccontextmanager
async def running_curator(settings: CuratorSettings, redis: Any, consumer: str = "c-test") -> AsyncIterator[Curator]:
    llm = LLMClient(settings.ollama_host, settings.llm_timeout_s)
    curator = Curator(settings, redis, llm, consumer=consumer)
    stop = asyncio.Event()
    task = asyncio.create_task(curator.serve(stop))
    await asyncio.wait_for(curator.ready.wait(), 20)
    try:
        yield curator
        if task.done():
            task.result()  # surfaces the error that ended it
            raise AssertionError("the curator stopped by itself")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await llm.aclose()


async def append_all(redis: Any, items: list[Interaction]) -> None:
    log = InteractionLog(redis)
    for item in items:
        await log.append(item)


async def wait_until(check: Callable[[], Awaitable[bool]], within: float = 20.0, what: str = "condition") -> None:
    """Poll ``check`` until it is true; fail with ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {within}s waiting for {what}")


async def verdicts(redis: Any) -> list[Any]:
    """Every verdict logged, oldest first."""
    from services.curator.verdicts import Verdict
    from shared.keys import CURATION_VERDICTS

    return [Verdict.model_validate_json(f[b"verdict"]) for _id, f in await redis.xrange(CURATION_VERDICTS)]


async def backlog(redis: Any) -> dict[str, int]:
    return await probe(redis).backlog()


def probe(redis: Any) -> GroupMember:
    """A look at the curators' group (never joins it)."""
    return GroupMember(redis, INTERACTIONS_STREAM, CURATOR_GROUP, "probe")


def dataset_lines(data_dir: Any) -> list[dict[str, Any]]:
    """Every sample line of every version's append log."""
    from shared.datasets.jsonl import read_records
    from shared.datasets.layout import datasets_root, versions_on_disk

    root = datasets_root(data_dir)
    return [r for v in versions_on_disk(root) for _end, r in read_records(root / v / "samples.jsonl")]
