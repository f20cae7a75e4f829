"""A fine-tune's step, loss and throughput in the gauges while it trains (a real child process),
its job and ALFRED's gate calls in the job and LLM metrics."""

from __future__ import annotations

from pathlib import Path

from shared.events import Envelope, EventBus
from shared.keys import JOB_FINE_TUNE, QUEUE_FINE_TUNE, EventType, fine_tune_queue_job_id
from shared.queues import enqueue
from shared.stores.fine_tunes import FineTuneStore
from tests.support.fake_ollama import FakeOllama
from tests.support.metrics import sample
from tests.workers.fine_tune.fixtures import JUDGE, VERSION, judge_prefers, run_worker_burst
from workers.fine_tune.settings import FineTuneSettings

FT_ID = "ft-" + VERSION
LABELS = {"persona": "BRICK", "fine_tune_id": FT_ID}


async def test_training_progress_reaches_the_gauges(
    redis, fake_ollama: FakeOllama, ft_settings: FineTuneSettings, sealed: Path
) -> None:
    fake_ollama.on_chat(judge_prefers("NEW"))
    seen: list[tuple[int, float, float, float, float]] = []

    async def on_progress(envelope: Envelope) -> None:  # the gauges in this process as the event arrives
        seen.append((envelope.data["step"], sample("batos_fine_tune_step", **LABELS),
                     sample("batos_fine_tune_loss", **LABELS), envelope.data["loss"],
                     sample("batos_fine_tune_tokens_per_second", **LABELS)))

    done = sample("batos_jobs_total", worker="fine_tune", job=JOB_FINE_TUNE, outcome="done")
    judged = sample("batos_llm_call_seconds_count", model=JUDGE, persona="ALFRED", outcome="ok")
    bus = EventBus(redis, source="test")
    bus.subscribe(EventType.FINE_TUNE_PROGRESS, on_progress)
    await enqueue(redis, QUEUE_FINE_TUNE, JOB_FINE_TUNE, "BRICK", VERSION,
                  idempotency_key=fine_tune_queue_job_id(VERSION))
    async with bus:
        await run_worker_burst(ft_settings)

    record = await FineTuneStore(redis).get(FT_ID)
    assert record.state == "swapped", record.reason
    assert [step for step, *_ in seen] == [1, 2, 3, 4]
    # set before the event was published (a later step may have set them again by its delivery)
    assert all(gauge_step >= step and gauge_loss > 0 and loss > 0 and rate > 0
               for step, gauge_step, gauge_loss, loss, rate in seen), seen
    assert sample("batos_fine_tune_step", **LABELS) == 4
    assert sample("batos_fine_tune_loss", **LABELS) == record.training["final_loss"]
    assert sample("batos_fine_tune_tokens_per_second", **LABELS) == record.training["tokens_per_s"] > 0
    assert sample("batos_jobs_total", worker="fine_tune", job=JOB_FINE_TUNE, outcome="done") - done == 1
    samples = record.evaluation["samples"]
    assert sample("batos_llm_call_seconds_count", model=JUDGE, persona="ALFRED", outcome="ok") - judged == 2 * samples
    base = record.previous_model
    assert sample("batos_llm_call_seconds_count", model=base, persona="BRICK", outcome="ok") >= samples
