"""``/v1/fine-tunes``: list fine-tunes, read one (state, progress, loss curve, gate), start one.

``POST`` is the manual trigger: it checks that the dataset version is sealed and intact (404
otherwise) and was sealed for that persona (409 otherwise), creates the record in ``queued``
and enqueues the fine-tune worker's job with the record's id. The worker does the rest.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from services.api.deps import MAX_OFFSET, State
from services.api.responses import errors
from shared.datasets import load_training_set
from shared.keys import JOB_FINE_TUNE, QUEUE_FINE_TUNE, fine_tune_queue_job_id
from shared.queues import enqueue
from shared.stores.fine_tunes import FineTuneRecord, FineTuneStore, new_fine_tune_id

router = APIRouter(prefix="/v1/fine-tunes", tags=["fine-tunes"])


class FineTuneIn(BaseModel):
    persona: Literal["BRICK", "ROBIN", "ALFRED"]
    dataset_version: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")

    @field_validator("persona", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class FineTuneList(BaseModel):
    items: list[FineTuneRecord]


@router.get("", response_model=FineTuneList)
async def list_fine_tunes(
    state: State,
    persona: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> FineTuneList:
    """Newest first; ``?persona=BRICK`` filters."""
    return FineTuneList(items=await FineTuneStore(state.redis).list(limit, offset, persona))


@router.get("/{fine_tune_id}", response_model=FineTuneRecord, responses=errors(404))
async def get_fine_tune(fine_tune_id: str, state: State) -> FineTuneRecord:
    return await FineTuneStore(state.redis).get(fine_tune_id)


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=FineTuneRecord, responses=errors(404, 409))
async def start_fine_tune(body: FineTuneIn, state: State) -> FineTuneRecord:
    """Queue a fine-tune of ``persona`` on a sealed dataset version; 202 with its record."""
    # NotFound (404) unless sealed; Conflict (409) if altered or sealed for another persona
    await asyncio.to_thread(load_training_set, state.settings.data_dir, body.dataset_version, body.persona)
    record, _ = await FineTuneStore(state.redis).create(FineTuneRecord(
        id=new_fine_tune_id(body.dataset_version), persona=body.persona, dataset_version=body.dataset_version,
        source="api"))
    await enqueue(state.redis, QUEUE_FINE_TUNE, JOB_FINE_TUNE, body.persona, body.dataset_version,
                  idempotency_key=fine_tune_queue_job_id(record.id), fine_tune_id=record.id)
    return JSONResponse(record.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)  # type: ignore[return-value]
