"""reap_leftovers removes sandbox containers whose owner died, and only those (or stale ones)."""

from __future__ import annotations

import socket
import subprocess
import time
from typing import Any

import pytest

from shared.sandbox import Sandbox
from shared.sandbox.reaper import LABEL, OWNER_LABEL, is_leftover, owner_id

HOST = socket.gethostname()


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _idle_container(sandbox: Sandbox, owner: str) -> Any:
    s = sandbox.settings
    return sandbox.client().containers.create(
        s.sandbox_image,
        ["python3", "-c", "import time; time.sleep(600)"],
        runtime=s.sandbox_runtime,
        network_mode="none",
        read_only=True,
        labels={LABEL: "1", OWNER_LABEL: owner},
    )


def _exists(sandbox: Sandbox, container: Any) -> bool:
    return bool(sandbox.client().containers.list(all=True, filters={"id": container.id}))


@pytest.mark.docker
def test_reaps_dead_owners_and_keeps_live_ones(sandbox: Sandbox) -> None:
    dead = _idle_container(sandbox, f"{HOST}:{_dead_pid()}:1")
    reused = _idle_container(sandbox, f"{HOST}:1:0")  # pid 1 is alive, but started at another time
    mine = _idle_container(sandbox, owner_id())
    elsewhere = _idle_container(sandbox, "another-host:1:1")
    try:
        assert sandbox.reap_leftovers() >= 2
        assert not _exists(sandbox, dead) and not _exists(sandbox, reused)
        assert _exists(sandbox, mine) and _exists(sandbox, elsewhere)
    finally:
        for c in (dead, reused, mine, elsewhere):
            if _exists(sandbox, c):
                c.remove(force=True)


def test_age_decides_for_other_hosts_and_for_ourselves() -> None:
    now = time.time()

    def attrs(owner: str, age: float) -> dict[str, Any]:
        return {"Labels": {LABEL: "1", OWNER_LABEL: owner}, "Created": int(now - age)}

    assert not is_leftover(attrs("another-host:1:1", 5), now, 600)
    assert is_leftover(attrs("another-host:1:1", 601), now, 600)
    assert not is_leftover(attrs(owner_id(), 5), now, 600)
    assert is_leftover(attrs(owner_id(), 700), now, 600)
    assert is_leftover(attrs(f"{HOST}:{_dead_pid()}:1", 5), now, 600)
    assert not is_leftover(attrs("garbage", 5), now, 600)
