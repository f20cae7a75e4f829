"""Run a real arq worker in the test's event loop until its queue is empty (burst mode)."""

from __future__ import annotations

from typing import Any

from shared.queues import WakeableWorker


async def run_burst(options: dict[str, Any]) -> WakeableWorker:
    """Run a worker built from ``options`` (a worker's kwargs) until its queue is empty, then close it."""
    worker = WakeableWorker(**{**options, "burst": True, "poll_delay": 0, "handle_signals": False})
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker
