"""``/v1/codex``: the codex, and the amendments the system proposed, for a human to decide.

Nothing here is applied by the machine: a proposal changes the codex only when approved here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import MAX_OFFSET, State
from services.api.responses import error, errors
from shared.stores.codex import Codex, CodexProposal, CodexStore, ProposalStatus

router = APIRouter(prefix="/v1/codex", tags=["codex"])


PROPOSAL_EXAMPLE = CodexProposal.model_json_schema()["examples"][0]
PROPOSAL_ID = Path(description="the proposal's id", examples=[PROPOSAL_EXAMPLE["id"]])
DECIDED: dict[int | str, dict[str, Any]] = {404: error(404, "no such proposal"),
                                            409: error(409, "the proposal is already decided")}


class ProposalList(BaseModel):
    """A page of proposals, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [PROPOSAL_EXAMPLE]}]})

    items: list[CodexProposal] = Field(description="newest first")


class Decision(BaseModel):
    """A human's decision on a proposal, with an optional note (the body may be left out)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"note": "agreed: state the uncertainty"}]})

    note: str = Field(default="", max_length=2_000, description="why, for the record",
                      examples=["agreed: state the uncertainty"])


def store(state: State) -> CodexStore:
    return CodexStore(state.redis)


@router.get("", response_model=Codex, summary="Read the codex", responses={
    404: error(404, "the codex is not in Redis and its seed file cannot be read")})
async def get_codex(state: State) -> Codex:
    """The guiding principles the personas live by, in Markdown, with their version."""
    return await store(state).get()


@router.get("/proposals", response_model=ProposalList, summary="List proposals")
async def list_proposals(
    state: State,
    status_: Annotated[ProposalStatus | None, Query(alias="status", description="only proposals in this status")]
    = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="proposals to skip")] = 0,
) -> ProposalList:
    """Amendments the system proposed, newest first; ``?status=pending|approved|rejected`` filters."""
    return ProposalList(items=await store(state).list_proposals(status_, limit, offset))


@router.get("/proposals/{proposal_id}", response_model=CodexProposal, responses=errors(404),
            summary="Read a proposal")
async def get_proposal(proposal_id: Annotated[str, PROPOSAL_ID], state: State) -> CodexProposal:
    """One proposal: the amendment, why, and what was decided (404 if unknown)."""
    return await store(state).get_proposal(proposal_id)


@router.post("/proposals/{proposal_id}/approve", response_model=CodexProposal, responses=DECIDED,
             summary="Approve a proposal")
async def approve(proposal_id: Annotated[str, PROPOSAL_ID], state: State,
                  decision: Decision | None = None) -> CodexProposal:
    """Apply the amendment to the codex (a new version, in ``applied_version``); the proposal, now
    ``approved``. 409 if already decided."""
    return await store(state).decide(proposal_id, approve=True, note=(decision or Decision()).note)


@router.post("/proposals/{proposal_id}/reject", response_model=CodexProposal, responses=DECIDED,
             summary="Reject a proposal")
async def reject(proposal_id: Annotated[str, PROPOSAL_ID], state: State,
                 decision: Decision | None = None) -> CodexProposal:
    """Close the proposal without changing the codex; the proposal, now ``rejected``. 409 if already decided."""
    return await store(state).decide(proposal_id, approve=False, note=(decision or Decision()).note)
