"""``/v1/codex``: the codex, and the amendments the system proposed, for a human to decide.

Nothing here is applied by the machine: a proposal changes the codex only when approved here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.api.deps import MAX_OFFSET, State
from services.api.responses import errors
from shared.stores.codex import Codex, CodexProposal, CodexStore, ProposalStatus

router = APIRouter(prefix="/v1/codex", tags=["codex"])


class ProposalList(BaseModel):
    items: list[CodexProposal]


class Decision(BaseModel):
    note: str = Field(default="", max_length=2_000, description="why, for the record")


def store(state: State) -> CodexStore:
    return CodexStore(state.redis)


@router.get("", response_model=Codex, responses=errors(404))
async def get_codex(state: State) -> Codex:
    return await store(state).get()


@router.get("/proposals", response_model=ProposalList)
async def list_proposals(
    state: State,
    status_: Annotated[ProposalStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> ProposalList:
    """Newest first; ``?status=pending|approved|rejected`` filters."""
    return ProposalList(items=await store(state).list_proposals(status_, limit, offset))


@router.get("/proposals/{proposal_id}", response_model=CodexProposal, responses=errors(404))
async def get_proposal(proposal_id: str, state: State) -> CodexProposal:
    return await store(state).get_proposal(proposal_id)


@router.post("/proposals/{proposal_id}/approve", response_model=CodexProposal, responses=errors(404, 409))
async def approve(proposal_id: str, state: State, decision: Decision | None = None) -> CodexProposal:
    """Apply the amendment to the codex (a new version); 409 if already decided."""
    return await store(state).decide(proposal_id, approve=True, note=(decision or Decision()).note)


@router.post("/proposals/{proposal_id}/reject", response_model=CodexProposal, responses=errors(404, 409))
async def reject(proposal_id: str, state: State, decision: Decision | None = None) -> CodexProposal:
    """Close the proposal without changing the codex; 409 if already decided."""
    return await store(state).decide(proposal_id, approve=False, note=(decision or Decision()).note)
