"""What route handlers need, made once in the app's lifespan and reached through ``Depends``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from arq.connections import ArqRedis
from fastapi import Depends, Request

from services.api.settings import ApiSettings
from shared.events import EventBus
from shared.llm import LLMClient
from shared.personas import PersonaRegistry
from shared.stores.tasks import TaskStore

# The largest list offset a route accepts: beyond it a 422 says so (Redis ranges take 64-bit
# signed integers; an offset past them was a 500).
MAX_OFFSET = 1_000_000


@dataclass
class AppState:
    settings: ApiSettings
    redis: ArqRedis
    bus: EventBus
    tasks: TaskStore
    personas: PersonaRegistry
    llm: LLMClient  # only to tell /healthz and /v1/status whether the LLM server answers
    health: HealthCache = field(default_factory=lambda: HealthCache())  # the lifespan sizes it from settings


class HealthCache:
    """The last ``/healthz`` report, reused for ``ttl_s``: the route needs no token, and each report
    costs an LLM ping and a few Redis reads, so any number of callers (health checks, scrapers, a
    flood) costs one report per ``ttl_s``; concurrent callers wait for the same one."""

    def __init__(self, ttl_s: float = 1.0):
        self.ttl_s = ttl_s
        self._at = float("-inf")
        self._value: Any = None
        self._lock = asyncio.Lock()

    async def get(self, make: Callable[[], Awaitable[Any]]) -> Any:
        async with self._lock:
            if time.monotonic() - self._at >= self.ttl_s:
                self._value = await make()
                self._at = time.monotonic()
            return self._value


async def get_state(request: Request) -> AppState:  # async: FastAPI runs sync dependencies in threads
    return request.app.state.batos  # type: ignore[no-any-return]


State = Annotated[AppState, Depends(get_state)]
