"""``python -m services.docker_guard``: serve the policy until SIGTERM/SIGINT.

``python -m services.docker_guard --check`` is the health check: exit 0 when ``/_ping`` through
the guard's socket answers OK (the guard and the engine behind it are up), else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from services.docker_guard.settings import DockerGuardSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.docker_guard", description=__doc__)
    parser.add_argument("--check", action="store_true", help="ping through the guard's socket and exit")
    args = parser.parse_args(argv)
    settings = DockerGuardSettings()
    if args.check:
        from services.docker_guard.check import ping

        problem = ping(settings.docker_guard_socket)
        print(problem or f"ok: {settings.docker_guard_socket}", file=sys.stderr if problem else sys.stdout)
        return 1 if problem else 0

    from services.docker_guard.proxy import serve
    from shared.logs import configure_logging

    configure_logging(settings.log_level, settings.log_json, settings.service_name)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
