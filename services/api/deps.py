"""What route handlers need, made once in the app's lifespan and reached through ``Depends``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from arq.connections import ArqRedis
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api.settings import ApiSettings
from shared.events import EventBus
from shared.personas import PersonaRegistry
from shared.stores.tasks import TaskStore


@dataclass
class AppState:
    settings: ApiSettings
    redis: ArqRedis
    bus: EventBus
    tasks: TaskStore
    personas: PersonaRegistry


async def get_state(request: Request) -> AppState:  # async: FastAPI runs sync dependencies in threads
    return request.app.state.batos  # type: ignore[no-any-return]


_bearer = HTTPBearer(auto_error=False)


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless the request carries ``Authorization: Bearer <BATOS_API_TOKEN>``."""
    expected = request.app.state.batos.settings.api_token.get_secret_value()
    if credentials is None or not secrets.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


State = Annotated[AppState, Depends(get_state)]
