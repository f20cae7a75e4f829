"""A fine-tune's record tells the base model loading apart from training: ``phase`` moves
loading_base -> training -> saving, and a step count is known before the first step.

The training child here is a stand-in interpreter (``fine_tune_python``) that speaks train_cli's
JSON-lines protocol when the test opens a gate, so each phase is held as long as the test looks.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from shared.errors import NotFound
from shared.keys import JOB_FINE_TUNE, QUEUE_FINE_TUNE, fine_tune_queue_job_id
from shared.queues import enqueue
from shared.stores.fine_tunes import FineTuneRecord, FineTuneStore
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama
from tests.support.redis_server import RedisServer
from tests.workers.fine_tune.fixtures import VERSION, fine_tune_env, run_worker_burst, seal_dataset, settings_from_env

FT_ID = "ft-" + VERSION


def step(n: int, of: int = 4) -> str:
    return json.dumps({"progress": {"step": n, "max_steps": of, "loss": 2.0 / n, "learning_rate": 0.01,
                                    "eta_s": float(of - n)}})


def stand_in_trainer(path: Path, gates: Path) -> Path:
    """An executable that ignores train_cli's arguments and reports what the gates allow."""
    path.write_text(f"""#!{sys.executable}
import pathlib, sys, time
gates = pathlib.Path({str(gates)!r})
def wait(name):
    while not (gates / name).exists():
        time.sleep(0.02)
wait("loaded")
print({step(1)!r}, flush=True)
wait("last")
print({step(4)!r}, flush=True)
wait("stop")
print('{{"error": "stopped by the test", "kind": "TrainingFailed"}}', flush=True)
sys.exit(1)
""")
    path.chmod(0o755)
    return path


async def test_the_record_says_loading_base_until_the_first_step_then_training_then_saving(
    redis, live_redis: RedisServer, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    env = fine_tune_env(live_redis.url, fake_ollama.host, tmp_path / "no-model-needed", tmp_path)
    settings = settings_from_env(env, fine_tune_python=str(stand_in_trainer(tmp_path / "trainer", gates)))
    seal_dataset(settings.data_dir)
    store = FineTuneStore(redis)
    await enqueue(redis, QUEUE_FINE_TUNE, JOB_FINE_TUNE, "BRICK", VERSION,
                  idempotency_key=fine_tune_queue_job_id(VERSION))
    worker = asyncio.create_task(run_worker_burst(settings))

    async def record_in(phase: str) -> FineTuneRecord | None:
        try:
            record = await store.get(FT_ID)
        except NotFound:  # not created yet
            return None
        return record if record.phase == phase else None

    try:
        loading = await eventually(lambda: record_in("loading_base"), within_s=30)
        assert loading.state == "training" and loading.attempts == 1
        assert (loading.progress.step, loading.progress.max_steps) == (0, 4)  # not "0 of 0"
        assert loading.curve == [] and loading.started_at is not None
        await asyncio.sleep(0.3)
        assert (await store.get(FT_ID)).phase == "loading_base"  # no step yet: still loading

        (gates / "loaded").touch()
        training = await eventually(lambda: record_in("training"), within_s=30)
        assert training.state == "training" and training.progress.step == 1

        (gates / "last").touch()
        saving = await eventually(lambda: record_in("saving"), within_s=30)
        assert saving.state == "training" and saving.progress.step == saving.progress.max_steps == 4

        (gates / "stop").touch()
        await asyncio.wait_for(worker, 30)
    finally:
        for name in ("loaded", "last", "stop"):
            (gates / name).touch()
        await asyncio.gather(worker, return_exceptions=True)
    failed = await store.get(FT_ID)
    assert failed.state == "failed" and "stopped by the test" in (failed.reason or "")
    assert failed.phase == "saving"  # where it failed
