"""``python -m workers.tool_forge``: forge tools until SIGTERM."""

from __future__ import annotations

from shared.logs import configure_logging
from shared.queues.worker import run_worker
from workers.tool_forge.settings import ToolForgeSettings
from workers.tool_forge.worker import WorkerSettings, worker_kwargs


def main() -> None:
    settings = ToolForgeSettings()
    configure_logging(settings.log_level, settings.log_json, settings.service_name)
    run_worker(WorkerSettings, **worker_kwargs(settings))


if __name__ == "__main__":
    main()
