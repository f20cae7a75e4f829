"""Running a worker kind's sweep: every ``Sweep.every_s``, by one replica, beside the jobs.

A sweep fails records whose arq job is gone (``workers/*/sweep.py``). It runs as a task of the
worker process, not as a job on the queue: on a queue whose every slot is busy (a fine-tune worker
has one, busy for the whole training) a cron job would wait behind the work it is meant to
watch, and pile up there once a minute. Each round, every replica tries one Redis lock
(``SET NX PX``, ``shared.keys.sweep_lock_key``) and the one that gets it sweeps; the first round
is one interval after start-up. A failing sweep, Redis lost included, is logged and tried again
next round: it never stops the worker.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from shared.keys import sweep_lock_key
from shared.queues.hooks import JobFunction

log = structlog.get_logger(__name__)


async def sweep_forever(kind: str, run: JobFunction, every_s: float, ctx: dict[str, Any]) -> None:
    """Call ``run(ctx)`` (the sweep, in the job hooks) every ``every_s`` while this replica holds the
    round's lock; until cancelled."""
    name = getattr(run, "__name__", "sweep")
    lock_ms = max(1, int(every_s * 900))  # 90 % of a round: released before the next one
    while True:
        await asyncio.sleep(every_s)
        try:
            if await ctx["redis"].set(sweep_lock_key(kind), b"1", nx=True, px=lock_ms):
                await asyncio.wait_for(run({**ctx, "job_id": f"sweep:{kind}", "job_try": 1}), every_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # logged by the hook too; the next round tries again
            log.warning("sweep failed; next round tries again", sweep=name, error=f"{type(exc).__name__}: {exc}")
