"""``python -m workers.tool_forge``: forge tools and run tool calls until SIGTERM."""

from workers.tool_forge.worker import WORKER

if __name__ == "__main__":
    WORKER.main()
