"""The codex store: seeded from its file, proposals pending until a human decides once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shared.errors import Conflict, NotFound
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
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, CodexProposal))
    codex = await store.get()
    assert codex.version == 2 and codex.text.count("## Amendment 2: Name it") == 1
    assert codex.text.rstrip().endswith("Say when the personas disagree.")
    decided = await store.get_proposal("cp-t1")
    assert decided.status == ProposalStatus.APPROVED
    assert decided.applied_version == 2 and decided.note == "yes"


async def test_rejection_leaves_the_codex_and_filters_by_status(redis) -> None:
    store = CodexStore(redis)
    await store.propose(proposal("a"))
    await store.propose(proposal("b", title="Another principle"))
    rejected = await store.decide("cp-a", approve=False, note="not needed")
    assert rejected.status == ProposalStatus.REJECTED and rejected.applied_version is None
    assert (await store.get()).version == 1
    assert [p.id for p in await store.list_proposals(ProposalStatus.PENDING)] == ["cp-b"]
    with pytest.raises(Conflict, match="already rejected"):
        await store.decide("cp-a", approve=True)
    with pytest.raises(NotFound):
        await store.decide("cp-zzz", approve=False)


async def test_a_repeated_text_is_merged_into_the_open_or_rejected_proposal(redis) -> None:
    store = CodexStore(redis)
    first, _ = await store.propose(proposal("a", title="Be Candid", amendment="Say when you disagree."))
    again, created = await store.propose(proposal("b", title="be candid!", amendment="say when  you disagree"))
    assert not created and again.id == first.id and again.repeats == 1 and again.repeated_by == ["b"]
    await store.decide(first.id, approve=False, note="no")
    after_reject, created = await store.propose(proposal("c", title="BE CANDID", amendment="Say when you disagree"))
    assert not created and after_reject.id == first.id and after_reject.repeats == 2
    assert after_reject.repeated_by == ["b", "c"] and after_reject.status == ProposalStatus.REJECTED
    other, created = await store.propose(proposal("d", title="Be brief", amendment="Say less."))
    assert created and other.id == "cp-d"
    assert sorted(p.id for p in await store.list_proposals()) == ["cp-a", "cp-d"]


async def test_an_approved_text_may_be_proposed_again(redis) -> None:
    store = CodexStore(redis)
    first, _ = await store.propose(proposal("a"))
    await store.decide(first.id, approve=True)
    again, created = await store.propose(proposal("b"))
    assert created and again.id == "cp-b" and again.status == ProposalStatus.PENDING
