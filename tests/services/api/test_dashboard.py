"""The dashboard's page, its files and its one data route, over real HTTP (the browser test drives the page)."""

from __future__ import annotations

import json
import re

import httpx

from services.api.dashboard import ASSETS
from shared.keys import CURATION_VERDICTS


async def test_the_page_and_its_files_are_public_and_local(api: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=str(api.base_url)) as anonymous:
        page = await anonymous.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert links and all(link.startswith("/dashboard/") for link in links)  # nothing from a CDN
        csp = page.headers["content-security-policy"]  # the browser refuses anything but this origin
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
        for name, media_type in ASSETS.items():
            answer = await anonymous.get(f"/dashboard/{name}")
            assert answer.status_code == 200 and answer.headers["content-type"].startswith(media_type), name
            assert f"/dashboard/{name}" in links
        assert (await anonymous.get("/dashboard/routes.py")).status_code == 404
        assert (await anonymous.get("/dashboard/..%2Froutes.py")).status_code == 404
        assert (await anonymous.post("/")).status_code == 405
        assert (await anonymous.get("/v1/dashboard/curation")).status_code == 401  # the data is not public


async def test_curation_verdicts_compact_and_counted(api: httpx.AsyncClient, redis) -> None:
    assert (await api.get("/v1/dashboard/curation")).json() == {"items": [], "by_status": {}}
    for n, (status, version) in enumerate([("golden", "v000001"), ("rejected", None), ("golden", "v000001"),
                                           ("unjudged", None)]):
        verdict = {"interaction_id": f"int-{n}", "status": status, "reason": "r", "dataset_version": version,
                   "golden_score": 0.9 if status == "golden" else 0.2, "consumer": "c", "entry_id": "1-0",
                   "judged_at": 1000.0 + n}
        await redis.xadd(CURATION_VERDICTS, {"verdict": json.dumps(verdict)})
    await redis.xadd(CURATION_VERDICTS, {"verdict": "{not json"})  # left out, not a 500
    body = (await api.get("/v1/dashboard/curation")).json()
    assert body["by_status"] == {"golden": 2, "rejected": 1, "unjudged": 1}
    assert [(i["judged_at"], i["status"], i["dataset_version"]) for i in body["items"]] == [
        (1000.0, "golden", "v000001"), (1001.0, "rejected", None), (1002.0, "golden", "v000001"),
        (1003.0, "unjudged", None)]
    newest = (await api.get("/v1/dashboard/curation", params={"limit": 2})).json()["items"]
    assert [i["judged_at"] for i in newest] == [1003.0]  # the two newest entries: one of them malformed
    assert (await api.get("/v1/dashboard/curation", params={"limit": 0})).status_code == 422
