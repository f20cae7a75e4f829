"""``/v1/datasets`` and ``/v1/curation/run``: the golden dataset's versions, and a manual curation.

Versions come from the dataset store (Redis index, files as fallback); a sample page is read
from the version's files. ``POST /v1/curation/run`` bumps a counter and notifies running
curators on a channel: in cycles mode they start a cycle now, in continuous mode they take over
stale entries at once. A curator that missed the notification sees the counter change.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel
from redis.exceptions import ResponseError

from services.api.deps import MAX_OFFSET, State
from services.api.responses import errors
from shared.datasets import VersionSummary, get_version, list_versions, sample_page
from shared.keys import CURATION_RUN_CHANNEL, CURATION_RUN_REQUESTED, CURATOR_GROUP, INTERACTIONS_STREAM

router = APIRouter(tags=["datasets"])


class DatasetList(BaseModel):
    items: list[VersionSummary]


class DatasetDetail(BaseModel):
    version: VersionSummary
    split: str
    offset: int
    limit: int
    samples: list[dict[str, Any]]


class CurationRun(BaseModel):
    request: int
    curators_notified: int
    pending: int
    lag: int


@router.get("/v1/datasets", response_model=DatasetList)
async def datasets(state: State) -> DatasetList:
    """Every version, newest first: state, sizes, vote tallies, the persona a sealed one tunes."""
    return DatasetList(items=await list_versions(state.redis, state.settings.data_dir))


@router.get("/v1/datasets/{version}", response_model=DatasetDetail, responses=errors(404))
async def dataset(
    version: str,
    state: State,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    split: Literal["all", "train", "heldout"] = "all",
) -> DatasetDetail:
    """One version's stats and a page of its samples (``split``: all, train or heldout)."""
    summary = await get_version(state.redis, state.settings.data_dir, version)
    samples = await asyncio.to_thread(sample_page, state.settings.data_dir, version, offset, limit, split)
    return DatasetDetail(version=summary, split=split, offset=offset, limit=limit, samples=samples)


@router.post("/v1/curation/run", status_code=status.HTTP_202_ACCEPTED, response_model=CurationRun)
async def run_curation(state: State) -> CurationRun:
    """Ask running curators to curate now; 202 with the backlog they will work through."""
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
