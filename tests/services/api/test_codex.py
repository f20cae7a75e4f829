"""``/v1/codex`` over real HTTP: read the codex, list proposals, a human approves or rejects."""

from __future__ import annotations

import httpx

from shared.stores.codex import CodexProposal, CodexStore, proposal_id_for


async def propose(redis, task_id: str, title: str) -> str:
    stored, _ = await CodexStore(redis).propose(CodexProposal(
        id=proposal_id_for(task_id), task_id=task_id, title=title, amendment=f"{title}, always.",
        based_on_version=1))
    return stored.id


async def test_codex_and_proposals_need_the_token(api: httpx.AsyncClient) -> None:
    for path in ("/v1/codex", "/v1/codex/proposals"):
        assert (await api.get(path, headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert (await api.post("/v1/codex/proposals/x/approve", headers={"Authorization": ""})).status_code == 401


async def test_approve_applies_and_reject_does_not(api: httpx.AsyncClient, redis) -> None:
    first = (await api.get("/v1/codex")).json()
    assert first["version"] == 1 and "The BAT OS Codex" in first["text"]
    keep = await propose(redis, "t1", "Be candid")
    drop = await propose(redis, "t2", "Be vague")

    pending = (await api.get("/v1/codex/proposals", params={"status": "pending"})).json()["items"]
    assert [p["id"] for p in pending] == [drop, keep]

    approved = await api.post(f"/v1/codex/proposals/{keep}/approve", json={"note": "good"})
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved" and approved.json()["applied_version"] == 2
    rejected = await api.post(f"/v1/codex/proposals/{drop}/reject")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"

    codex = (await api.get("/v1/codex")).json()
    assert codex["version"] == 2 and "Be candid, always." in codex["text"] and "Be vague" not in codex["text"]
    assert (await api.get("/v1/codex/proposals", params={"status": "pending"})).json()["items"] == []


async def test_deciding_twice_is_409_and_unknown_is_404(api: httpx.AsyncClient, redis) -> None:
    proposal_id = await propose(redis, "t1", "Once")
    assert (await api.post(f"/v1/codex/proposals/{proposal_id}/reject")).status_code == 200
    again = await api.post(f"/v1/codex/proposals/{proposal_id}/approve")
    assert again.status_code == 409 and "already rejected" in again.json()["detail"]
    assert (await api.post("/v1/codex/proposals/cp-none/approve")).status_code == 404
    assert (await api.get("/v1/codex/proposals/cp-none")).status_code == 404
    assert (await api.get("/v1/codex/proposals", params={"status": "weird"})).status_code == 422
