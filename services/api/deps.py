"""What route handlers need, made once in the app's lifespan and reached through ``Depends``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

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


async def get_state(request: Request) -> AppState:  # async: FastAPI runs sync dependencies in threads
    return request.app.state.batos  # type: ignore[no-any-return]


State = Annotated[AppState, Depends(get_state)]
