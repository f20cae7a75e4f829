"""The codex store: seeded from its file, proposals pending until a human decides once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shared.errors import InvalidInput, NotFound
from shared.stores.codex import DEFAULT_CODEX_PATH, CodexProposal, CodexStore, ProposalStatus, proposal_id_for


def proposal(task_id: str = "t1", **fields: object) -> CodexProposal:
    base = {"id": proposal_id_for(task_id), "task_id": task_id, "caused_by": "ev1", "title": "Name it",
            "amendment": "Say when the personas disagree.", "rationale": "an inquiry", "based_on_version": 1}
    return CodexProposal.model_validate({**base, **fields})


async def test_codex_is_seeded_from_the_repo_file_once(redis) -> None:
    store = CodexStore(redis)
    first = await store.get()
    assert first.version == 1 and first.text == DEFAULT_CODEX_PATH.read_text().strip() + "\n"
    assert "The BAT OS Codex" in first.text
    assert await store.get() == first


async def test_missing_seed_file_is_not_found(redis, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="seed file"):
        await CodexStore(redis, tmp_path / "nope.md").get()


async def test_propose_is_idempotent_and_pending(redis) -> None:
    store = CodexStore(redis)
    stored, created = await store.propose(proposal(status="approved"))  # the machine cannot approve
    again, created_again = await store.propose(proposal(title="Different"))
    assert created and not created_again
    assert stored.status == again.status == ProposalStatus.PENDING and again.title == "Name it"
    assert [p.id for p in await store.list_proposals()] == [stored.id]
    assert (await store.get()).version == 1


async def test_approval_applies_the_amendment_once_even_when_raced(redis) -> None:
    store = CodexStore(redis)
    await store.propose(proposal())
    results = await asyncio.gather(*(store.decide("cp-t1", approve=True, note="yes") for _ in range(5)),
                                   return_exceptions=True)
    assert sum(isinstance(r, CodexProposal) for r in results) == 1
    assert all(isinstance(r, InvalidInput) for r in results if not isinstance(r, CodexProposal))
    codex = await store.get()
    assert codex.version == 2 and codex.text.count("## Amendment 2: Name it") == 1
    assert codex.text.rstrip().endswith("Say when the personas disagree.")
    decided = await store.get_proposal("cp-t1")
    assert decided.status == ProposalStatus.APPROVED
    assert decided.applied_version == 2 and decided.note == "yes"


async def test_rejection_leaves_the_codex_and_filters_by_status(redis) -> None:
    store = CodexStore(redis)
    await store.propose(proposal("a"))
    await store.propose(proposal("b"))
    rejected = await store.decide("cp-a", approve=False, note="not needed")
    assert rejected.status == ProposalStatus.REJECTED and rejected.applied_version is None
    assert (await store.get()).version == 1
    assert [p.id for p in await store.list_proposals(ProposalStatus.PENDING)] == ["cp-b"]
    with pytest.raises(InvalidInput, match="already rejected"):
        await store.decide("cp-a", approve=True)
    with pytest.raises(NotFound):
        await store.decide("cp-zzz", approve=False)
