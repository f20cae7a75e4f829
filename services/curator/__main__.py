"""``python -m services.curator``: run one curator replica until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio

from services.curator.service import Curator
from services.curator.settings import CuratorSettings
from shared.llm.client import LLMClient
from shared.redis import connect
from shared.service_runner import main as run_service


def main() -> None:
    settings = CuratorSettings()

    async def serve(stop: asyncio.Event) -> None:
        redis = await connect(settings.redis_url)
        llm = LLMClient(settings.ollama_host, settings.llm_timeout_s)
        try:
            await Curator(settings, redis, llm).serve(stop)
        finally:
            await llm.aclose()
            await redis.aclose()

    run_service(settings, serve)


if __name__ == "__main__":
    main()
