"""``/v1/datasets`` and ``/v1/curation/run``: the golden dataset's versions, and a manual curation.

Versions come from the dataset store (Redis index, files as fallback); a sample page is read
from the version's files. ``POST /v1/curation/run`` bumps a counter and notifies running
curators on a channel: in cycles mode they start a cycle now, in continuous mode they take over
stale entries at once. A curator that missed the notification sees the counter change.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import ResponseError

from services.api.deps import MAX_OFFSET, State
from services.api.responses import errors
from shared.datasets import VersionSummary, get_version, list_versions, sample_page
from shared.keys import CURATION_RUN_CHANNEL, CURATION_RUN_REQUESTED, CURATOR_GROUP, INTERACTIONS_STREAM

router = APIRouter(tags=["datasets"])


VERSION_EXAMPLE = VersionSummary.model_json_schema()["examples"][0]
SAMPLE_EXAMPLE: dict[str, Any] = {  # one line of the version's JSONL files (shared.datasets.contract.Sample)
    "messages": [{"role": "system", "content": "You are BRICK, ..."},
                 {"role": "user", "content": "What is 2 + 2?"},
                 {"role": "assistant", "content": "2 + 2 = 4."}],
    "provenance": {"interaction_id": "it-0f3c9a1e", "task_id": "0f3c9a1e8b7d4c2a9e6f5b4a3c2d1e0f",
                   "golden_score": 0.92, "scores": {"logical_rigor": 0.9, "creative_synthesis": 0.7,
                                                    "task_efficacy": 1.0},
                   "persona": "BRICK", "vote": "BRICK", "model": "llama3.2:3b",
                   "content_hash": "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"},
}


class DatasetList(BaseModel):
    """Every golden dataset version, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [VERSION_EXAMPLE]}]})

    items: list[VersionSummary] = Field(description="newest first")


class DatasetDetail(BaseModel):
    """One version's stats and a page of its samples."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "version": VERSION_EXAMPLE, "split": "train", "offset": 0, "limit": 20, "samples": [SAMPLE_EXAMPLE]}]})

    version: VersionSummary = Field(description="the version's stats")
    split: str = Field(description="the split the samples come from: all, train or heldout")
    offset: int = Field(description="samples skipped")
    limit: int = Field(description="page size")
    samples: list[dict[str, Any]] = Field(description=(
        "the page: each sample's chat messages (system, user, assistant) and provenance "
        "(the interaction, ALFRED's scores, the persona the vote credited)"))


class CurationRun(BaseModel):
    """What a manual curation request set off."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"request": 4, "curators_notified": 1, "pending": 0, "lag": 12}]})

    request: int = Field(description="the request's number (the counter curators watch)")
    curators_notified: int = Field(description="running curators that received the notification")
    pending: int = Field(description="interactions curators have claimed and not yet finished")
    lag: int = Field(description="interactions no curator has claimed yet")


@router.get("/v1/datasets", response_model=DatasetList, summary="List dataset versions")
async def datasets(state: State) -> DatasetList:
    """Every golden dataset version, newest first: open or sealed, sizes, vote tallies, and the
    persona a sealed one fine-tunes."""
    return DatasetList(items=await list_versions(state.redis, state.settings.data_dir))


@router.get("/v1/datasets/{version}", response_model=DatasetDetail, responses=errors(404),
            summary="Read a dataset version")
async def dataset(
    version: Annotated[str, Path(description="the version's name", examples=["v000003"])],
    state: State,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="samples to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=200, description="page size")] = 20,
    split: Annotated[Literal["all", "train", "heldout"], Query(description=(
        "which samples: all, or a sealed version's train or heldout split"))] = "all",
) -> DatasetDetail:
    """One version's stats and a page of its samples (``split``: all, train or heldout); 404 if
    there is no such version."""
    summary = await get_version(state.redis, state.settings.data_dir, version)
    samples = await asyncio.to_thread(sample_page, state.settings.data_dir, version, offset, limit, split)
    return DatasetDetail(version=summary, split=split, offset=offset, limit=limit, samples=samples)


@router.post("/v1/curation/run", status_code=status.HTTP_202_ACCEPTED, response_model=CurationRun,
             summary="Curate now")
async def run_curation(state: State) -> CurationRun:
    """Ask running curators to curate now; 202 with the backlog they will work through. In cycles
    mode a curator starts a cycle at once; in continuous mode it takes over stale entries."""
    request = int(await state.redis.incr(CURATION_RUN_REQUESTED))
    notified = int(await state.redis.publish(CURATION_RUN_CHANNEL, str(request)))
    pending = lag = 0
    try:
        for group in await state.redis.xinfo_groups(INTERACTIONS_STREAM):
            name = group["name"].decode() if isinstance(group["name"], bytes) else group["name"]
            if name == CURATOR_GROUP:
                pending, lag = int(group["pending"]), int(group.get("lag") or 0)
    except ResponseError:  # no interaction stream yet
        pass
    return CurationRun(request=request, curators_notified=notified, pending=pending, lag=lag)
