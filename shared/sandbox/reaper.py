"""Labels that mark sandbox containers, and the reaping of ones whose owner died.

Every container carries ``batos.sandbox=1`` and its owner (``host:pid:start-time``). A worker
calls :func:`reap_leftovers` at start-up: it removes containers of dead processes on its own
host and any sandbox container older than ``max_age_s`` (a run never lives that long), so a
worker killed mid-run leaks nothing for long.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import docker.errors
import structlog

log = structlog.get_logger(__name__)

LABEL = "batos.sandbox"
OWNER_LABEL = "batos.sandbox.owner"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (tells a live owner from a reused pid)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def owner_id(pid: int | None = None) -> str:
    """``host:pid:start`` of this (or the given) process."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or '?'}"


def labels() -> dict[str, str]:
    """The labels every sandbox container of this process is created with."""
    return {LABEL: "1", OWNER_LABEL: owner_id()}


def _owner_dead(owner: str) -> bool:
    """True when ``owner`` is a process of this host that no longer runs."""
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another host's process: only age can tell
    return owner_id(int(pid_text)) != f"{host}:{pid_text}:{start}"


def is_leftover(attrs: dict[str, Any], now: float, max_age_s: float) -> bool:
    """Whether a labelled container (``containers.list(sparse=True)`` attrs) should go."""
    owner = str((attrs.get("Labels") or {}).get(OWNER_LABEL, ""))
    age = now - float(attrs.get("Created") or now)
    if age >= max_age_s:
        return True  # no run lives this long, whoever started it
    return owner != owner_id() and _owner_dead(owner)


def reap_leftovers(client: Any, *, max_age_s: float = 600.0) -> int:
    """Remove sandbox containers left by dead processes or older than ``max_age_s``."""
    now = time.time()
    removed = 0
    for container in client.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}=1"}):
        if not is_leftover(container.attrs, now, max_age_s):
            continue
        try:
            container.remove(force=True)
            removed += 1
            log.info("sandbox.reaped", container=container.id[:12], labels=container.attrs.get("Labels"))
        except docker.errors.DockerException as exc:  # gone already, or refused: retried next start
            log.warning("sandbox.reap_failed", container=container.id[:12], error=str(exc))
    return removed
