"""``/v1/tasks``: submit a task for the personas, read it back, list tasks by status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.api.deps import MAX_OFFSET, State
from services.api.responses import errors
from shared.errors import InvalidInput
from shared.stores.status import RunStatus
from shared.stores.tasks import TaskRecord
from shared.task_intake import submit_task

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])
TASK_ID = "0f3c9a1e8b7d4c2a9e6f5b4a3c2d1e0f"


class TaskIn(BaseModel):
    """A task for the personas: plain text, at most ``BATOS_API_MAX_TASK_CHARS`` characters."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "What is 2 + 2?"}]})

    text: str = Field(min_length=1, description="what to ask the personas", examples=["What is 2 + 2?"])

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        return value


class TaskList(BaseModel):
    """A page of tasks, newest first, and how many match the filter in all."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": TaskRecord.model_json_schema()["examples"], "total": 1}]})

    items: list[TaskRecord] = Field(description="the page, newest first")
    total: int = Field(description="tasks matching the filter, on every page", examples=[1])


IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {
    "type": "string", "minLength": 1, "maxLength": 200}, "example": "batch-7-task-3",
    "description": "a repeated key (kept 24 h) returns the task first created with it instead of a new one"}


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=TaskRecord, summary="Submit a task",
             response_description="the task as queued (or the task first created with this Idempotency-Key)",
             openapi_extra={"parameters": [IDEMPOTENCY_KEY]})
async def create_task(body: TaskIn, request: Request) -> TaskRecord:
    """Queue a task for the personas; 202 with its record, in ``queued``. Poll ``GET /v1/tasks/{id}``
    (or watch ``/v1/events``) until it is ``succeeded`` or ``failed``; the answer is in ``result``.

    With an ``Idempotency-Key`` header, a repeated key returns the first task instead of a new one.
    Text over ``BATOS_API_MAX_TASK_CHARS`` (or a key over 200 characters) gets a 422.
    """
    # The hot path of the API: it reads its state and header from the request directly, since
    # each FastAPI dependency costs more than the Redis call this route makes.
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


@router.get("/{task_id}", response_model=TaskRecord, responses=errors(404), summary="Read a task")
async def get_task(task_id: Annotated[str, Path(description="the task's id", examples=[TASK_ID])],
                   state: State) -> TaskRecord:
    """One task: its status, and once ``succeeded`` the personas' answer in ``result`` (404 if unknown)."""
    return await state.tasks.get(task_id)  # NotFound: 404


@router.get("", response_model=TaskList, summary="List tasks")
async def list_tasks(
    state: State,
    status_: Annotated[RunStatus | None, Query(alias="status", description="only tasks in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="tasks to skip")] = 0,
) -> TaskList:
    """Tasks newest first, a page at a time; ``?status=queued|running|succeeded|failed`` filters."""
    return TaskList(items=await state.tasks.list(status_, limit, offset), total=await state.tasks.count(status_))
