"""``python -m workers.fine_tune``: fine-tune personas, one job at a time, until SIGTERM."""

from workers.fine_tune.worker import WORKER

if __name__ == "__main__":
    WORKER.main()
