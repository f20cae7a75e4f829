"""A container ends by itself at its deadline even when the worker that started it was SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from shared.sandbox import Sandbox
from shared.sandbox.reaper import OWNER_LABEL, owner_id
from tests.shared.sandbox.conftest import SLACK_S

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT_S = 3.0
# A worker that starts a never-ending run (a thread bomb: the slowest kind to end).
BOMB = (
    "import threading, time\nwhile True:\n    try:\n"
    "        threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()\n"
    "    except Exception:\n        pass"
)
WORKER = textwrap.dedent(f"""
    from shared.sandbox import Sandbox, SandboxSettings
    Sandbox(SandboxSettings(sandbox_timeout_s={TIMEOUT_S})).run({BOMB!r})
""")


def _containers(sandbox: Sandbox, owner: str) -> list[Any]:
    return list(sandbox.client().containers.list(all=True, sparse=True, filters={"label": f"{OWNER_LABEL}={owner}"}))


def test_container_ends_by_itself_when_its_worker_dies(sandbox: Sandbox) -> None:
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, stdout=subprocess.DEVNULL)
    owner = owner_id(worker.pid)
    try:
        deadline = time.monotonic() + 4 * SLACK_S  # a start, not the property: generous on a loaded machine
        while not [c for c in _containers(sandbox, owner) if c.status == "running"]:
            assert worker.poll() is None and time.monotonic() < deadline, "the worker's run never started"
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        killed_at = time.monotonic()
        while any(c.status == "running" for c in _containers(sandbox, owner)):
            assert time.monotonic() - killed_at < TIMEOUT_S + SLACK_S, "the orphaned container kept running"
            time.sleep(0.2)
        # Stopped (its pid 1 watchdog ended it); the reaper removes it: its owner is dead.
        assert sandbox.reap_leftovers() >= 1
        assert not _containers(sandbox, owner)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        for c in _containers(sandbox, owner):
            c.remove(force=True)
