"""Training in a child process (``python -m workers.fine_tune.train_cli``), its progress bridged.

The child is this worker's own interpreter for the ``hf`` backend, or the Unsloth venv's
(``fine_tune_unsloth_python``) for ``unsloth``, whose transformers/trl pins differ. Its JSON
progress lines become ``on_progress`` calls (the record and ``fine_tune_progress`` events).
The child gets SIGKILL when this process dies (``PR_SET_PDEATHSIG``) and when the job is
cancelled, so a killed worker leaves no training behind. It runs in its own session: a Ctrl-C
at the terminal (SIGINT to the whole foreground group) reaches only the worker, which hands the
job back (arq runs it again) instead of recording the child's death as a failed training.
The adapter only appears complete (``training.py`` renames it into place), so a re-run
either reuses a finished adapter or trains again from scratch.
"""

from __future__ import annotations

import asyncio
import ctypes
import dataclasses
import functools
import json
import os
import signal
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog

from shared.errors import TrainingFailed
from workers.fine_tune.train_types import ADAPTER_FILES, RESULT_FILE, TrainConfig, TrainProgress

log = structlog.get_logger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
_PR_SET_PDEATHSIG = 1


ProgressHandler = Callable[[TrainProgress], Awaitable[None]]


def finished_result(output_dir: Path) -> dict[str, Any] | None:
    """The result of a complete adapter already at ``output_dir`` (a re-run after a kill)."""
    result = output_dir / RESULT_FILE
    if result.is_file() and all((output_dir / name).is_file() for name in ADAPTER_FILES):
        return json.loads(result.read_text())
    return None


def trainer_python(backend: str, unsloth_python: str, default_python: str = "") -> str:
    """The interpreter that trains with ``backend``."""
    if backend == "unsloth":
        candidate = Path(unsloth_python)
        candidate = candidate if candidate.is_absolute() else REPO_ROOT / candidate
        if candidate.is_file():
            return str(candidate)
    return default_python or sys.executable


async def train_in_child(
    python: str,
    base_model: str,
    dataset_dir: Path,
    output_dir: Path,
    config: TrainConfig,
    on_progress: ProgressHandler,
    on_start: Callable[[int], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Train into ``output_dir`` (or reuse what is there); returns the training result."""
    done = finished_result(output_dir)
    if done is not None:
        log.info("training.reused", output_dir=str(output_dir))
        return done
    fields = {**dataclasses.asdict(config), "target_modules": list(config.target_modules)}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
           # Training shares the CPU with the LLM server's generation: OpenMP threads that spin
           # while they wait halve both (measured: 5.7 vs 12.7 tokens/s beside a busy core).
           "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    proc = await asyncio.create_subprocess_exec(
        python, "-m", "workers.fine_tune.train_cli", "--base-model", base_model,
        "--dataset-dir", str(dataset_dir), "--output-dir", str(output_dir), "--config", json.dumps(fields),
        cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        preexec_fn=functools.partial(_die_with_parent, os.getpid()), start_new_session=True, limit=1 << 20,
    )  # fmt: skip
    stderr_tail: deque[str] = deque(maxlen=30)
    drain = asyncio.create_task(_drain(proc.stderr, stderr_tail))
    try:
        if on_start is not None:
            await on_start(proc.pid)
        result, error = await _follow(proc.stdout, on_progress)
        code = await proc.wait()
        await drain
    finally:
        if proc.returncode is None:  # cancelled (timeout, shutdown): the child must not outlive the job
            proc.kill()
            await proc.wait()
        drain.cancel()
    if code == 0 and result is not None:
        return result
    detail = error or (" | ".join(stderr_tail) or f"exit status {code}")
    raise TrainingFailed(detail if code >= 0 else f"killed by signal {-code}: {detail}")


async def _follow(stream: asyncio.StreamReader | None, on_progress: ProgressHandler) -> tuple[Any, str | None]:
    result: dict[str, Any] | None = None
    error: str | None = None
    assert stream is not None
    async for raw in stream:
        try:
            line = json.loads(raw)
        except ValueError:
            log.warning("training.stray_stdout", line=raw[:200].decode(errors="replace"))
            continue
        if "progress" in line:
            try:
                await on_progress(TrainProgress(**line["progress"]))
            except Exception as exc:  # a lost progress tick must not stop training
                log.warning("training.progress_not_recorded", error=str(exc))
        elif "result" in line:
            result = line["result"]
        elif "error" in line:
            error = f"{line.get('kind', 'TrainingError')}: {line['error']}"
    return result, error


async def _drain(stream: asyncio.StreamReader | None, tail: deque[str]) -> None:
    assert stream is not None
    async for raw in stream:
        text = raw.decode(errors="replace").rstrip()
        if text:
            tail.append(text[:500])


def _die_with_parent(parent_pid: int) -> None:
    """In the child, before exec: SIGKILL it when the worker dies (Linux; a no-op elsewhere)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        return
    if os.getppid() != parent_pid:  # the worker died before the signal was armed
        os._exit(1)
