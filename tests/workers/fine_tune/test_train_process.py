"""The training child process: which interpreter runs it, reuse of a finished adapter, and no
training left behind when the job is cancelled (arq's timeout or shutdown)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from shared.errors import BackendUnavailableError
from tests.workers.fine_tune.conftest import REPO_ROOT
from tests.workers.fine_tune.fixtures import place_adapter, settings_from_env
from workers.fine_tune.train_process import REPO_ROOT as TRAIN_ROOT
from workers.fine_tune.train_process import finished_result, train_in_child, trainer_python
from workers.fine_tune.train_types import TrainConfig, TrainProgress, cuda_available


def test_unsloth_trains_in_its_own_venv_and_hf_in_this_interpreter(tmp_path: Path) -> None:
    venv_python = tmp_path / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.touch()
    assert trainer_python("unsloth", str(venv_python)) == str(venv_python)
    assert trainer_python("hf", str(venv_python)) == sys.executable
    assert trainer_python("hf", str(venv_python), "/opt/py/bin/python") == "/opt/py/bin/python"
    assert trainer_python("unsloth", str(tmp_path / "missing")) == sys.executable  # unsloth in this one
    assert TRAIN_ROOT == REPO_ROOT


async def test_a_finished_adapter_is_reused_not_retrained(
    ft_env: dict[str, str], trained_adapter: Path
) -> None:
    settings = settings_from_env(ft_env)
    target = place_adapter(settings, "ft-reuse", trained_adapter)
    seen: list[TrainProgress] = []

    async def on_progress(progress: TrainProgress) -> None:
        seen.append(progress)

    result = await train_in_child("/nonexistent/python", "unused", Path("unused"), target, TrainConfig(),
                                  on_progress)
    assert result == finished_result(target) and result["steps"] == 2 and seen == []


async def test_cancelling_the_job_kills_the_training_child(
    tiny_model: Path, sealed: Path, tmp_path: Path
) -> None:
    first_step = asyncio.Event()
    pids: list[int] = []

    async def on_progress(progress: TrainProgress) -> None:
        first_step.set()

    async def on_start(pid: int) -> None:
        pids.append(pid)

    output = tmp_path / "out" / "ft-cancelled"
    config = TrainConfig(backend="hf", max_steps=100_000, max_seq_length=64, gradient_accumulation_steps=1)
    job = asyncio.create_task(train_in_child(sys.executable, str(tiny_model), sealed, output, config,
                                             on_progress, on_start))
    await asyncio.wait_for(first_step.wait(), 60)
    job.cancel()
    await asyncio.gather(job, return_exceptions=True)

    [pid] = pids
    assert not _exists(pid)  # killed and reaped by the job itself
    assert not output.exists()


def _exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def test_the_worker_modules_import_without_torch() -> None:
    code = (
        "import sys; sys.modules.update(torch=None, transformers=None, trl=None, peft=None, unsloth=None)\n"
        "import workers.fine_tune.worker, services.api.routes.fine_tunes\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=30)


def test_an_interpreter_without_torch_cannot_choose_a_backend(tmp_path: Path) -> None:
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n")
    python.chmod(0o755)
    with pytest.raises(BackendUnavailableError, match=r"torch under .*python: ModuleNotFoundError: No module named"):
        cuda_available(str(python))
    with pytest.raises(BackendUnavailableError, match="cannot ask"):
        cuda_available(str(tmp_path / "missing"))
