"""``python -m workers.fine_tune`` killed with SIGKILL mid-training: nothing half-registered, the
training child dies with it, and the job runs again to success."""

from __future__ import annotations

import json
from pathlib import Path

from arq.constants import in_progress_key_prefix

from shared.errors import NotFound
from shared.keys import JOB_FINE_TUNE, QUEUE_FINE_TUNE, EventType, fine_tune_queue_job_id
from shared.personas import PersonaRegistry
from shared.queues import enqueue
from shared.stores.fine_tunes import FineTuneRecord, FineTuneStore
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama
from tests.support.processes import ServiceProcess
from tests.workers.fine_tune.fixtures import BASE, VERSION, journal, judge_prefers
from workers.fine_tune.settings import FineTuneSettings

FT_ID = "ft-" + VERSION


def _training_pid(worker: ServiceProcess) -> int | None:
    for line in worker.output().splitlines():
        if '"training.started"' in line:
            return int(json.loads(line)["pid"])
    return None


async def _released(redis, job_id: str) -> bool:
    return not await redis.exists(in_progress_key_prefix + job_id)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"  # a zombie is dead, awaiting its reaper
    except FileNotFoundError:
        return True


async def test_a_killed_worker_leaves_no_model_and_the_job_reruns_to_success(
    redis, fake_ollama: FakeOllama, ft_env: dict[str, str], ft_settings: FineTuneSettings, sealed: Path
) -> None:
    ft_env = {**ft_env, "BATOS_QUEUE_IN_PROGRESS_LEASE_S": "2"}
    store, job_id, endless = await _enqueue_and_start_endless_training(redis, fake_ollama, ft_env, "ft-doomed")
    try:
        record = await eventually(lambda: _training_step(store), within_s=60, every=0.1)
        pid = _training_pid(endless)
        assert pid is not None and record.state == "training"
    finally:
        endless.kill()

    async def child_gone() -> bool:
        return _gone(pid)

    assert await eventually(child_gone, within_s=10)  # the training child died with its worker

    adapters = Path(ft_settings.fine_tune_output_dir) / "BRICK"
    assert not (adapters / FT_ID).exists()  # only a hidden partial directory, never an adapter
    assert [r for r in fake_ollama.requests if r["path"] in ("/api/blobs", "/api/create")] == []
    assert await PersonaRegistry.from_settings(redis, ft_settings).current_model("BRICK") == BASE

    # the dead worker's lease on the job runs out (2 s here), and a new worker runs it again
    assert await redis.exists(in_progress_key_prefix + job_id)
    await eventually(lambda: _released(redis, job_id), within_s=10, every=0.1)
    healthy = ServiceProcess("workers.fine_tune", ft_env, name="ft-rerun")
    healthy.start()
    try:
        record = await eventually(lambda: _terminal(store), within_s=60, every=0.1)
    finally:
        healthy.stop()
    assert record.state == "swapped", record.reason
    assert record.attempts == 2 and record.progress.step == 4
    assert await PersonaRegistry.from_settings(redis, ft_settings).current_model("BRICK") == record.model_tag
    assert [e.data["fine_tune_id"] for e in await journal(redis, EventType.MODEL_TUNED)] == [FT_ID]
    assert sorted(p.name for p in adapters.iterdir()) == [FT_ID]  # the killed run's partial was cleaned up


async def test_ctrl_c_hands_the_training_job_back_and_it_reruns(
    redis, fake_ollama: FakeOllama, ft_env: dict[str, str], ft_settings: FineTuneSettings, sealed: Path
) -> None:
    """SIGINT to the worker's whole process group (a Ctrl-C under ``make run``) must not fail the job."""
    store, job_id, interrupted = await _enqueue_and_start_endless_training(
        redis, fake_ollama, {**ft_env, "BATOS_QUEUE_JOB_COMPLETION_WAIT_S": "8"}, "ft-ctrl-c")
    try:
        await eventually(lambda: _training_step(store), within_s=60, every=0.1)
        pid = _training_pid(interrupted)
        interrupted.interrupt_group()
        assert interrupted.wait(timeout=60) == 0, interrupted.output()[-3000:]
    finally:
        interrupted.kill()
    assert pid is not None and _gone(pid)
    record = await store.get(FT_ID)
    assert record.state == "training" and record.reason is None  # handed back, not failed
    assert not await redis.exists(in_progress_key_prefix + job_id)  # free for the next worker at once
    assert await redis.zscore(QUEUE_FINE_TUNE, job_id) is not None  # and still queued

    healthy = ServiceProcess("workers.fine_tune", ft_env, name="ft-after-ctrl-c")
    healthy.start()
    try:
        record = await eventually(lambda: _terminal(store), within_s=90, every=0.1)
    finally:
        healthy.stop()
    assert record.state == "swapped", record.reason
    assert record.attempts == 2


async def _enqueue_and_start_endless_training(
    redis, fake_ollama: FakeOllama, env: dict[str, str], name: str
) -> tuple[FineTuneStore, str, ServiceProcess]:
    """The fine-tune job enqueued, and a worker started on it whose training never ends by itself."""
    fake_ollama.on_chat(judge_prefers("NEW"))
    job_id = fine_tune_queue_job_id(VERSION)
    await enqueue(redis, QUEUE_FINE_TUNE, JOB_FINE_TUNE, "BRICK", VERSION, idempotency_key=job_id)
    worker = ServiceProcess("workers.fine_tune", {**env, "BATOS_TRAIN_MAX_STEPS": "100000"}, name=name).start()
    return FineTuneStore(redis), job_id, worker


async def _training_step(store: FineTuneStore) -> FineTuneRecord | None:
    try:
        record = await store.get(FT_ID)
    except NotFound:  # the worker has not started it yet
        return None
    return record if record.progress.step >= 1 else None


async def _terminal(store: FineTuneStore) -> FineTuneRecord | None:
    record = await store.get(FT_ID)
    return record if record.terminal else None
