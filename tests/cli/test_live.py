"""``batos events``, ``task --wait`` and ``fine-tune watch``: the CLI following the live event stream."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client import REGISTRY

from services.api.settings import ApiSettings
from shared.events import EventBus
from shared.keys import EventType
from shared.stores.fine_tunes import FineTuneStore
from tests.cli.conftest import Batos, subscribed, wait_until
from tests.support.fake_ollama import FakeOllama
from tests.workers.cognition.helpers import CLASH, personas, run_cognition
from tests.workers.fine_tune.fixtures import seal_dataset
from workers.cognition.settings import CognitionSettings


def fine_tune_reads() -> float:
    """GET /v1/fine-tunes/{id} answered so far (the API's own Prometheus counter, in this process)."""
    labels = {"method": "GET", "route": "/v1/fine-tunes/{fine_tune_id}", "status": "200"}
    return REGISTRY.get_sample_value("batos_api_requests_total", labels) or 0.0


async def fine_tune_reads_since(before: float, count: int) -> bool:
    return fine_tune_reads() >= before + count


async def test_events_filtered_by_type_until_max(batos: Batos, redis) -> None:
    run = asyncio.create_task(batos("events", "--type", "tool_created", "--max", "1", "--for", "30"))
    await wait_until(lambda: subscribed(redis, "tool_created"))
    bus = EventBus(redis, source="test")
    await bus.publish(EventType.TOOL_FORGE_FAILED, {"job_id": "j1", "reason": "not this one"})
    await bus.publish(EventType.TOOL_CREATED, {"tool_name": "word_count", "version": 2})
    result = await run
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    assert line.split()[1:] == ["tool_created", "tool", "word_count", "v2", "created"]


async def test_events_for_a_bounded_time_end_on_their_own(batos: Batos) -> None:
    result = await batos("events", "--type", "model_tuned", "--for", "0.5")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


async def test_task_wait_prints_each_persona_and_the_dissonance(
    batos: Batos, api: httpx.AsyncClient, fake_ollama: FakeOllama, cognition_settings: CognitionSettings
) -> None:
    fake_ollama.on_chat(personas(verdict=CLASH))
    run = asyncio.create_task(batos("task", "Is 2 + 2 five?", "--wait", "--timeout", "50"))

    async def submitted() -> bool:
        return bool((await api.get("/v1/tasks")).json()["total"])

    await wait_until(submitted)
    await run_cognition(cognition_settings)
    result = await run
    assert result.exit_code == 0, result.output
    out = result.stdout
    [task_id] = [t["id"] for t in (await api.get("/v1/tasks")).json()["items"]]
    assert out.startswith(f"task {task_id} queued\n")
    completed = out.index(f"task_completed             task {task_id} succeeded, dissonance 0.90")
    # each persona as it answered (persona_answered), in order, before the task's end; none printed twice
    marks = ["BRICK (llama3.2:3b)", "BRICK: 2 + 2 = 4", "ROBIN (llama3.2:3b)", "ROBIN: it is 4, warmly",
             "dissonance 0.90: BRICK says 4, ROBIN says 5"]
    assert all(out.count(mark) == 1 for mark in marks), out
    positions = [out.index(mark) for mark in marks]
    assert positions == sorted(positions) and positions[-1] < completed, out


async def test_fine_tune_watch_follows_progress_to_the_swap(
    batos: Batos, redis, api_settings: ApiSettings
) -> None:
    seal_dataset(api_settings.data_dir, "v000003", persona="ROBIN")
    started = await batos("fine-tune", "start", "robin", "v000003")
    assert started.exit_code == 0, started.output
    fine_tune_id = started.stdout.split()[1]
    assert started.stdout == f"fine-tune {fine_tune_id} queued (ROBIN on v000003)\n"

    reads = fine_tune_reads()
    run = asyncio.create_task(batos("fine-tune", "watch", fine_tune_id))
    await wait_until(lambda: subscribed(redis, "fine_tune_progress"))
    await wait_until(lambda: fine_tune_reads_since(reads, 2))  # read, subscribed, read again: it follows now
    store, bus = FineTuneStore(redis), EventBus(redis, source="test")
    await store.update(fine_tune_id, state="training")
    for step, loss in ((1, 2.5), (2, 1.75), (3, 1.25)):
        await bus.publish(EventType.FINE_TUNE_PROGRESS, {"fine_tune_id": fine_tune_id, "persona": "ROBIN",
                                                         "step": step, "max_steps": 3, "loss": loss,
                                                         "eta_s": 2.0 * (3 - step)})
    await store.update(fine_tune_id, state="swapped", model_tag="batos-robin:v000003")
    await bus.publish(EventType.MODEL_TUNED, {"persona": "ROBIN", "new_model_tag": "batos-robin:v000003",
                                              "previous_model_tag": "llama3.2:3b", "fine_tune_id": fine_tune_id})
    result = await run
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"fine-tune {fine_tune_id} (ROBIN) step 1/3 loss 2.5000 eta 4s" in out
    assert f"fine-tune {fine_tune_id} (ROBIN) step 3/3 loss 1.2500 eta 0s" in out
    assert "3/3 loss 1.2500 eta 0s" in out  # the bar's last state
    assert out.endswith(f"fine-tune {fine_tune_id} swapped: ROBIN now speaks through batos-robin:v000003\n")


async def test_fine_tune_watch_ends_on_a_terminal_record_without_an_event(
    batos: Batos, redis, api_settings: ApiSettings
) -> None:
    seal_dataset(api_settings.data_dir, "v000004", persona="BRICK")
    fine_tune_id = (await batos("fine-tune", "start", "BRICK", "v000004")).stdout.split()[1]
    run = asyncio.create_task(batos("fine-tune", "watch", fine_tune_id))
    await wait_until(lambda: subscribed(redis, "fine_tune_progress"))
    await FineTuneStore(redis).update(fine_tune_id, state="rejected", reason="scored 0.40 against 0.55")
    result = await run  # the watch re-reads the record every 2 s
    assert result.exit_code == 1
    assert result.stdout.endswith(f"fine-tune {fine_tune_id} rejected: scored 0.40 against 0.55\n")
    again = await batos("fine-tune", "watch", fine_tune_id)  # already over: says so at once
    assert again.exit_code == 1 and again.stdout.endswith("rejected: scored 0.40 against 0.55\n")
    assert (await batos("fine-tune", "watch", "ft-nope")).stderr == "error: 404 fine-tune ft-nope not found\n"
