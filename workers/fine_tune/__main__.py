"""``python -m workers.fine_tune``: fine-tune personas, one job at a time, until SIGTERM."""

from __future__ import annotations

from shared.logs import configure_logging
from shared.queues.worker import run_worker
from workers.fine_tune.settings import FineTuneSettings
from workers.fine_tune.worker import WorkerSettings, worker_kwargs


def main() -> None:
    settings = FineTuneSettings()
    configure_logging(settings.log_level, settings.log_json, settings.service_name)
    run_worker(WorkerSettings, **worker_kwargs(settings))


if __name__ == "__main__":
    main()
