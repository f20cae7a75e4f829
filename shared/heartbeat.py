"""Process health for long-running services: a heartbeat key in Redis, and the check that reads it.

A service run by ``shared.service_runner`` refreshes ``heartbeat_key(service, hostname)`` every
``interval_s`` with a TTL of three intervals; the container health check
(``python -m shared.heartbeat <service>``) passes while the key exists. (arq workers have
arq's own health-check key and ``arq --check``.)
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time

import structlog

from shared.keys import heartbeat_key
from shared.redis import connect
from shared.settings import BaseServiceSettings

log = structlog.get_logger(__name__)


async def beat_forever(settings: BaseServiceSettings, interval_s: float = 10.0) -> None:
    """Refresh this process's heartbeat until cancelled; Redis outages are logged, not fatal."""
    key = heartbeat_key(settings.service_name, socket.gethostname())
    redis = None
    try:
        while True:
            try:
                redis = redis or await connect(settings.redis_url, retries=0)
                await redis.set(key, str(time.time()), ex=max(1, round(interval_s * 3)))
            except Exception as exc:  # keep beating once Redis is back
                log.warning("heartbeat not written", error=str(exc))
            await asyncio.sleep(interval_s)
    finally:
        if redis is not None:
            await redis.aclose()


async def is_alive(settings: BaseServiceSettings, service: str) -> bool:
    redis = await connect(settings.redis_url, retries=0)
    try:
        return bool(await redis.exists(heartbeat_key(service, socket.gethostname())))
    finally:
        await redis.aclose()


def main() -> None:
    """``python -m shared.heartbeat SERVICE``: exit 0 while this host's SERVICE beats."""
    service = sys.argv[1]
    try:
        alive = asyncio.run(is_alive(BaseServiceSettings(), service))
    except Exception as exc:
        print(f"{service}: cannot read heartbeat: {exc}", file=sys.stderr)
        sys.exit(1)
    print(f"{service}: {'alive' if alive else 'no heartbeat'}")
    sys.exit(0 if alive else 1)


if __name__ == "__main__":
    main()
