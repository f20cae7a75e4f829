"""``python -m workers.cognition``: answer tasks until SIGTERM."""

from __future__ import annotations

from shared.logs import configure_logging
from shared.queues.worker import run_worker
from shared.tools import toolbox_for
from workers.cognition.settings import CognitionSettings
from workers.cognition.worker import WorkerSettings, worker_kwargs


def main() -> None:
    settings = CognitionSettings()
    configure_logging(settings.log_level, settings.log_json, settings.service_name)
    # registered tools are offered to BRICK; their calls run in the sandbox (BATOS_SANDBOX_*)
    run_worker(WorkerSettings, **worker_kwargs(settings, {"tools": toolbox_for(settings.redis_url)}))


if __name__ == "__main__":
    main()
