"""``/v1/fine-tunes``: list fine-tunes, read one (state, progress, loss curve, gate), start one.

``POST`` is the manual trigger: it checks that the dataset version is sealed and intact (404
otherwise) and was sealed for that persona (409 otherwise), creates the record in ``queued``
and enqueues the fine-tune worker's job with the record's id. The worker does the rest.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.api.deps import MAX_OFFSET, State
from services.api.responses import error, errors
from shared.datasets import load_training_set
from shared.keys import JOB_FINE_TUNE, QUEUE_FINE_TUNE, fine_tune_queue_job_id
from shared.queues.enqueue import prepare_job
from shared.stores.fine_tunes import FINE_TUNE_EXAMPLE, FineTuneRecord, FineTuneStore, new_fine_tune_id

router = APIRouter(prefix="/v1/fine-tunes", tags=["fine-tunes"])


class FineTuneIn(BaseModel):
    """Which persona to fine-tune, on which sealed dataset version."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"persona": "BRICK", "dataset_version": "v000003"}]})

    persona: Literal["BRICK", "ROBIN", "ALFRED"] = Field(
        description="the persona (any case); the version must have been sealed for it", examples=["BRICK"])
    dataset_version: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$",
                                 description="a sealed golden dataset version", examples=["v000003"])

    @field_validator("persona", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class FineTuneList(BaseModel):
    """A page of fine-tunes, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [FINE_TUNE_EXAMPLE]}]})

    items: list[FineTuneRecord] = Field(description="newest first")


@router.get("", response_model=FineTuneList, summary="List fine-tunes")
async def list_fine_tunes(
    state: State,
    persona: Annotated[str | None, Query(description="only this persona's fine-tunes", examples=["BRICK"])] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="fine-tunes to skip")] = 0,
) -> FineTuneList:
    """Fine-tune records newest first, a page at a time; ``?persona=BRICK`` filters."""
    return FineTuneList(items=await FineTuneStore(state.redis).list(limit, offset, persona))


@router.get("/{fine_tune_id}", response_model=FineTuneRecord, responses=errors(404), summary="Read a fine-tune")
async def get_fine_tune(
    fine_tune_id: Annotated[str, Path(description="the fine-tune's id", examples=[FINE_TUNE_EXAMPLE["id"]])],
    state: State,
) -> FineTuneRecord:
    """One fine-tune: its state, training progress and loss curve, and the gate's evaluation (404 if unknown)."""
    return await FineTuneStore(state.redis).get(fine_tune_id)


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=FineTuneRecord, responses={
    404: error(404, "the dataset version is not sealed, or does not exist"),
    409: error(409, "the version's files were altered, or it was sealed for another persona")},
    summary="Start a fine-tune", response_description="the fine-tune, queued")
async def start_fine_tune(body: FineTuneIn, state: State) -> FineTuneRecord:
    """Queue a fine-tune of ``persona`` on a sealed dataset version; 202 with its record in
    ``queued``. The fine-tune worker trains an adapter, creates the Ollama model, and the gate
    (ALFRED judging held-out samples) decides whether the persona swaps to it. Follow it with
    ``GET /v1/fine-tunes/{id}`` or ``/v1/events?type=fine_tune_progress``."""
    # NotFound (404) unless sealed; Conflict (409) if altered or sealed for another persona
    await asyncio.to_thread(load_training_set, state.settings.data_dir, body.dataset_version, body.persona)
    fine_tune_id = new_fine_tune_id(body.dataset_version)
    job = prepare_job(QUEUE_FINE_TUNE, JOB_FINE_TUNE, (body.persona, body.dataset_version),
                      {"fine_tune_id": fine_tune_id}, job_id=fine_tune_queue_job_id(fine_tune_id),
                      expires_ms=state.redis.expires_extra_ms)
    record, _ = await FineTuneStore(state.redis).create(FineTuneRecord(  # the record and its job, at once
        id=fine_tune_id, persona=body.persona, dataset_version=body.dataset_version, source="api",
        job_id=job.job_id), job=job)
    return JSONResponse(record.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)  # type: ignore[return-value]
