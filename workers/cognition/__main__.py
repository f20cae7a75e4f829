"""``python -m workers.cognition``: answer tasks until SIGTERM."""

from workers.cognition.worker import WORKER

if __name__ == "__main__":
    WORKER.main()
