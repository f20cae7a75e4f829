"""``python -m workers.cognition``: answer tasks until SIGTERM."""

from __future__ import annotations

from shared.logs import configure_logging
from shared.queues.worker import run_worker
from workers.cognition.settings import CognitionSettings
from workers.cognition.worker import WorkerSettings, worker_kwargs


def main() -> None:
    settings = CognitionSettings()
    configure_logging(settings.log_level, settings.log_json, settings.service_name)
    run_worker(WorkerSettings, **worker_kwargs(settings))


if __name__ == "__main__":
    main()
