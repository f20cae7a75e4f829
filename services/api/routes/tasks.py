"""``/v1/tasks``: submit a task for the personas, read it back, list tasks by status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator

from services.api.deps import MAX_OFFSET, State
from services.api.responses import errors
from shared.errors import InvalidInput
from shared.stores.status import RunStatus
from shared.stores.tasks import TaskRecord
from shared.task_intake import submit_task

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


class TaskIn(BaseModel):
    text: str = Field(min_length=1, description="what to ask the personas")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        return value


class TaskList(BaseModel):
    items: list[TaskRecord]
    total: int


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=TaskRecord)
async def create_task(body: TaskIn, request: Request) -> TaskRecord:
    """Queue a task; 202 with its record. A repeated ``Idempotency-Key`` returns the first task.

    The hot path of the API: it reads its state and header from the request directly, since
    each FastAPI dependency costs more than the Redis call this route makes.
    """
    state = request.app.state.batos
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is not None and not 0 < len(idempotency_key) <= 200:
        raise InvalidInput("Idempotency-Key must be 1-200 characters")
    limit = state.settings.api_max_task_chars
    if len(body.text) > limit:
        raise InvalidInput(f"text is {len(body.text)} characters; the limit is {limit}")
    record, _created = await submit_task(
        state.redis, state.tasks, TaskRecord(text=body.text, source="api"),
        idempotency=("api", idempotency_key) if idempotency_key else None,
    )
    # a Response skips FastAPI's second validation of an already valid record
    return Response(record.model_dump_json(), status_code=status.HTTP_202_ACCEPTED,  # type: ignore[return-value]
                    media_type="application/json")


@router.get("/{task_id}", response_model=TaskRecord, responses=errors(404))
async def get_task(task_id: str, state: State) -> TaskRecord:
    return await state.tasks.get(task_id)  # NotFound: 404


@router.get("", response_model=TaskList)
async def list_tasks(
    state: State,
    status_: Annotated[RunStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> TaskList:
    """Newest first; ``?status=queued|running|succeeded|failed`` filters."""
    return TaskList(items=await state.tasks.list(status_, limit, offset), total=await state.tasks.count(status_))
