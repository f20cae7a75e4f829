"""The dashboard's routes: the page and its files (public), and the curation verdicts it plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import State
from services.api.responses import errors
from shared.errors import NotFound
from shared.keys import CURATION_VERDICTS

STATIC = Path(__file__).parent / "static"
STATIC_PREFIX = "/dashboard/"
# the files the page loads, and nothing else: no path from the request ever reaches the disk
ASSETS = {"app.js": "text/javascript", "charts.js": "text/javascript", "style.css": "text/css"}
NO_CACHE = {"Cache-Control": "no-cache"}
# The page loads only its own files and talks only to this API; it is never framed.
PAGE_HEADERS = {**NO_CACHE, "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

page_router = APIRouter(include_in_schema=False)
data_router = APIRouter(prefix="/v1/dashboard", tags=["dashboard"])


@page_router.get("/", response_class=HTMLResponse)
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=PAGE_HEADERS)


@page_router.get(STATIC_PREFIX + "{name}")
async def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise NotFound(f"no dashboard file {name!r}")
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers=NO_CACHE)


VERDICT_EXAMPLES: list[Any] = [  # Any: json_schema_extra takes JsonValue
    {"judged_at": 1767225600.0, "status": "rejected", "dataset_version": None, "golden_score": 0.42,
     "duplicate": False},
    {"judged_at": 1767225660.0, "status": "golden", "dataset_version": "v000003", "golden_score": 0.91,
     "duplicate": False},
    {"judged_at": 1767225720.0, "status": "unjudged", "dataset_version": None, "golden_score": None,
     "duplicate": False},
]


class VerdictPoint(BaseModel):
    """One curation verdict, compact: when, what the curator decided, and the judge's score."""

    model_config = ConfigDict(json_schema_extra={"examples": [VERDICT_EXAMPLES[1]]})

    judged_at: float = Field(description="unix time the curator decided")
    status: str = Field(description="golden | rejected | unjudged | malformed | failed")
    dataset_version: str | None = Field(default=None, description="the version a golden sample went into")
    golden_score: float | None = Field(default=None, description=(
        "the judge's score (0..1) that decides golden or rejected; null when the interaction was not judged"))
    duplicate: bool = Field(default=False, description="a golden sample the dataset already held (not added again)")


class CurationVerdicts(BaseModel):
    """The newest curation verdicts, oldest first, and how many of them are in each status."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": VERDICT_EXAMPLES, "by_status": {"rejected": 1, "golden": 1, "unjudged": 1}}]})

    items: list[VerdictPoint] = Field(description="oldest first")
    by_status: dict[str, int] = Field(description="verdicts among items, by status (a status none has is absent)")


@data_router.get("/curation", response_model=CurationVerdicts, responses=errors(), summary="Curation verdicts")
async def curation_verdicts(
    state: State,
    limit: Annotated[int, Query(ge=1, le=5_000, description="how many of the newest verdicts to answer with",
                                examples=[1_000])] = 1_000,
) -> CurationVerdicts:
    """The newest ``limit`` curation verdicts (of the bounded verdict log), compact, oldest first,
    with a count by status: what the dashboard plots. A malformed log entry is left out."""
    entries = await state.redis.xrevrange(CURATION_VERDICTS, count=limit)
    items: list[VerdictPoint] = []
    for _entry_id, fields in reversed(entries):
        try:
            raw: dict[str, Any] = json.loads(fields.get(b"verdict") or b"{}")
            items.append(VerdictPoint.model_validate(raw))
        except ValueError:  # a malformed log entry is left out, not a 500
            continue
    by_status: dict[str, int] = {}
    for item in items:
        by_status[item.status] = by_status.get(item.status, 0) + 1
    return CurationVerdicts(items=items, by_status=by_status)
