"""Where a unit of queued work stands: a task, a forge job (fine-tunes have their own stages)."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """Where a task or a forge job stands: queued, running, then succeeded or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
