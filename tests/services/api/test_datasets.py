"""``/v1/datasets`` and ``/v1/curation/run`` over real HTTP, with a curator running in cycles mode."""

from __future__ import annotations

import httpx

from shared.datasets import DatasetStore
from tests.services.curator.helpers import (
    ScriptedAlfred,
    append_all,
    curator_settings,
    interaction,
    running_curator,
    verdicts,
    wait_until,
)
from tests.shared.datasets.helpers import sample


async def test_versions_stats_and_a_sample_page(api: httpx.AsyncClient, redis, tmp_path) -> None:
    assert (await api.get("/v1/datasets")).json() == {"items": []}
    store = DatasetStore(redis, tmp_path, trigger_size=4, heldout_fraction=0.25, fsync=False)
    for n, vote in enumerate(["ROBIN", "ROBIN", "BRICK", "tie", "BRICK"]):
        await store.append(sample(n, vote=vote))
    listed = (await api.get("/v1/datasets")).json()["items"]
    assert [(v["version"], v["state"], v["sample_count"]) for v in listed] == [
        ("v000002", "open", 1), ("v000001", "sealed", 4)]
    sealed = listed[1]
    assert sealed["persona"] == "ROBIN" and sealed["votes"] == {"BRICK": 1, "ROBIN": 2, "tie": 1}
    assert (sealed["train_count"], sealed["heldout_count"]) == (3, 1) and len(sealed["sha256"]) == 64
    page = (await api.get("/v1/datasets/v000001", params={"offset": 1, "limit": 2})).json()
    assert page["version"]["version"] == "v000001"
    assert [s["provenance"]["interaction_id"] for s in page["samples"]] == ["int-1", "int-2"]
    held = (await api.get("/v1/datasets/v000001", params={"split": "heldout"})).json()["samples"]
    assert len(held) == 1 and held[0]["messages"][0]["role"] == "system"
    assert (await api.get("/v1/datasets/v000009")).status_code == 404
    assert (await api.get("/v1/datasets/v000001", params={"split": "nope"})).status_code == 422
    assert (await api.get("/v1/datasets/v000001", params={"limit": 0})).status_code == 422


async def test_datasets_need_the_token(api: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=str(api.base_url)) as anonymous:
        assert (await anonymous.get("/v1/datasets")).status_code == 401
        assert (await anonymous.post("/v1/curation/run")).status_code == 401


async def test_manual_run_wakes_a_curator_in_cycles_mode(api: httpx.AsyncClient, redis, settings, fake_ollama,
                                                         tmp_path) -> None:
    fake_ollama.on_chat(ScriptedAlfred(score=lambda n: 0.9))
    cs = curator_settings(settings, tmp_path, curator_mode="cycles", curator_cycle_interval_s=3600)
    async with running_curator(cs, redis):
        await append_all(redis, [interaction(n) for n in range(3)])
        answer = await api.post("/v1/curation/run")
        assert answer.status_code == 202
        body = answer.json()
        assert body["request"] == 1 and body["lag"] + body["pending"] == 3

        async def curated() -> bool:
            return len(await verdicts(redis)) == 3

        await wait_until(curated, within=10, what="the requested cycle to curate all 3")
    assert not fake_ollama.chats() or all(b["model"] == "judge:1b" for b in fake_ollama.chats())
