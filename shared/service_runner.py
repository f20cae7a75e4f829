"""Run a long-lived asyncio service until SIGTERM/SIGINT, then stop it within a bound.

Services (motivator, curator) are an ``async def serve(stop: asyncio.Event)`` that returns
once ``stop`` is set; this module owns signals, logging set-up, the metrics endpoint
(``shared.metrics``), the heartbeat (``shared.heartbeat``) and the shutdown deadline.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

from shared.heartbeat import beat_forever
from shared.logs import configure_logging
from shared.metrics import serve_metrics
from shared.settings import BaseServiceSettings

log = structlog.get_logger(__name__)

Serve = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


async def run_until_signalled(serve: Serve, shutdown_timeout_s: float = 20.0,
                              settings: BaseServiceSettings | None = None) -> None:
    """Run ``serve`` (with a heartbeat when ``settings`` are given) until SIGTERM/SIGINT."""
    heart = asyncio.create_task(beat_forever(settings)) if settings is not None else None
    try:
        await _serve_until_signalled(serve, shutdown_timeout_s)
    finally:
        if heart is not None:
            heart.cancel()
            await asyncio.gather(heart, return_exceptions=True)


async def _serve_until_signalled(serve: Serve, shutdown_timeout_s: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(serve(stop))
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        stopped.cancel()
        await task  # it ended by itself: surface its error
        return
    log.info("stopping", within_s=shutdown_timeout_s)
    try:
        await asyncio.wait_for(task, shutdown_timeout_s)
    except TimeoutError:
        log.warning("service did not stop in time; cancelled")


def main(settings: BaseServiceSettings, serve: Serve) -> None:
    """Process entry point: configure logging, serve the metrics (``BATOS_METRICS_PORT``), run
    ``serve`` until a signal."""
    configure_logging(settings.log_level, settings.log_json, settings.service_name)
    serve_metrics(settings.metrics_port, settings.metrics_addr)
    asyncio.run(run_until_signalled(serve, settings.queue_job_completion_wait_s, settings))
