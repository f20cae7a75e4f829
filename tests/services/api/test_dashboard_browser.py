"""The dashboard in a real browser (Debian's chromium, driven by Playwright) against the real API.

A real cognition worker (its own process) answers from the Ollama-protocol test server. The test
enters the token, submits a task in the page and waits for its answer and dissonance, watches a
fine-tune's loss curve drawn from its record and then grow with a live progress event, sees the
curation acceptance per dataset version, approves a codex proposal and rolls a persona back.
``BATOS_SCREENSHOT=docs/dashboard.png`` also saves a full-page screenshot.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from services.api.settings import ApiSettings
from shared.datasets import DatasetStore, list_versions
from shared.events import EventBus
from shared.events.payloads import FineTuneProgress
from shared.keys import CURATION_VERDICTS, EventType
from shared.personas import PersonaRegistry
from shared.stores.codex import CodexProposal, CodexStore
from shared.stores.fine_tunes import FineTuneRecord, FineTuneState, FineTuneStore, Progress, thin_curve
from shared.stores.status import RunStatus
from shared.tools import Attempt, ForgeJob, ForgeJobStore, ToolRegistry, ToolSpec, check_tool_code
from tests.conftest import API_TOKEN
from tests.shared.datasets.helpers import sample
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama, ModelEntry
from tests.support.processes import ServiceProcess
from tests.support.tool_sources import DIVIDE
from tests.workers.cognition.helpers import personas
from workers.tool_forge.settings import DEFAULT_ALLOWED_IMPORTS

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 30_000
TUNED = "batos-brick:v000001"
EARLIER = {"What is heat?": 0.72, "Name a prime.": 0.18, "Why is the sky blue?": 0.55}


def about_entropy(body: dict[str, Any]) -> bool:
    return "entropy" in json.dumps(body["messages"])


def brick(body: dict[str, Any]) -> str:
    return "BRICK: S = k ln W." if about_entropy(body) else "BRICK: a plain answer."


def robin(body: dict[str, Any]) -> str:
    return ("ROBIN: entropy measures how spread out energy is, and it only grows." if about_entropy(body)
            else "ROBIN: a kind answer.")


def verdict(body: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(body["messages"])
    score = 0.35 if about_entropy(body) else next((d for q, d in EARLIER.items() if q in text), 0.5)
    return {"dissonance": score, "reason": "they differ a little"}


def loss_curve(steps: int, start: float = 2.6) -> list[tuple[int, float]]:
    return [(s, round(start * 0.8 ** s + 0.9 + 0.04 * (-1) ** s, 4)) for s in range(1, steps + 1)]


async def seed(redis: Any, api: httpx.AsyncClient, data_dir: Path, settings: ApiSettings) -> dict[str, str]:
    """What the loop would have produced: answered tasks, dataset versions and verdicts, fine-tunes, a proposal."""
    ids = [(await api.post("/v1/tasks", json={"text": text})).json()["id"] for text in EARLIER]

    async def answered() -> bool:
        statuses = [(await api.get(f"/v1/tasks/{i}")).json()["status"] for i in ids]
        return statuses == [RunStatus.SUCCEEDED] * len(ids)

    await eventually(answered, within_s=60, every=0.2)

    datasets = DatasetStore(redis, data_dir, trigger_size=4, heldout_fraction=0.25, fsync=False)
    for n, vote in enumerate(["BRICK", "BRICK", "ROBIN", "BRICK", "tie"]):
        await datasets.append(sample(n, vote=vote))
    first, second = sorted(await list_versions(redis, data_dir), key=lambda v: v.version)
    assert first.sealed_at is not None
    verdicts = [("golden", first.version, first.created_at)] * 4 + [("golden", second.version, time.time())]
    middle = (first.created_at + first.sealed_at) / 2
    verdicts += [("rejected", None, middle)] * 2 + [("rejected", None, time.time() + 1)]
    for n, (status, version, at) in enumerate(sorted(verdicts, key=lambda v: v[2])):
        await redis.xadd(CURATION_VERDICTS, {"verdict": json.dumps({
            "interaction_id": f"int-{n}", "status": status, "reason": "r", "dataset_version": version,
            "golden_score": 0.9 if status == "golden" else 0.3, "consumer": "c", "entry_id": "1-0",
            "judged_at": at})})

    fine_tunes = FineTuneStore(redis)
    now = time.time()
    done = FineTuneRecord(id="ft-v000001-done", persona="BRICK", dataset_version=first.version,
                          created_at=now - 600, state=FineTuneState.SWAPPED, backend="hf",
                          model_tag=TUNED, previous_model="llama3.2:3b", started_at=now - 590,
                          finished_at=now - 500, evaluation={"samples": 5, "new_wins": 3, "current_wins": 1,
                                                             "ties": 1, "accepted": True})
    await fine_tunes.create(done)
    curve = loss_curve(10)
    await fine_tunes.update(done.id, progress=Progress(step=10, max_steps=10, loss=curve[-1][1]), curve=curve)
    # a running one, written the way workers/fine_tune/pipeline.py writes each progress tick
    running = FineTuneRecord(id="ft-v000002-live", persona="ROBIN", dataset_version=second.version,
                             created_at=now, state=FineTuneState.TRAINING, backend="hf", started_at=now)
    await fine_tunes.create(running)
    live: list[tuple[int, float]] = []
    for step, loss in loss_curve(8, start=3.1):
        live.append((step, loss))
        await fine_tunes.update(running.id, progress=Progress(step=step, max_steps=20, loss=loss, eta_s=30.0),
                                curve=thin_curve(live))

    registry = PersonaRegistry.from_settings(redis, settings)
    await registry.swap("BRICK", TUNED)
    proposal, _ = await CodexStore(redis).propose(CodexProposal(
        id="prop-1", task_id=ids[0], title="Name the disagreement", based_on_version=1,
        amendment="When the personas disagree, the answer says so.", rationale="ALFRED saw a dissonance of 0.72"))
    jobs = ForgeJobStore(redis)
    forged, _ = await jobs.create(ForgeJob(
        spec=ToolSpec(description="divide two numbers", name="divide"), status=RunStatus.SUCCEEDED,
        tool_name="divide", version=1, finished_at=now, attempts=[
            Attempt(number=1, outcome="tests_failed", reason="AssertionError: divide(6, 3) == 2", duration_s=1.4),
            Attempt(number=2, outcome="passed", reason="tests passed", duration_s=1.1)]))
    await ToolRegistry(redis).register(check_tool_code(DIVIDE, DEFAULT_ALLOWED_IMPORTS), forge_job_id=forged.id)
    failed, _ = await jobs.create(ForgeJob(
        spec=ToolSpec(description="fetch a web page"), status=RunStatus.FAILED, finished_at=now,
        error="every attempt was refused", attempts=[
            Attempt(number=n, outcome="refused", reason="imports socket, which is not allowed", duration_s=0.2)
            for n in (1, 2, 3)]))
    return {"running": running.id, "done": done.id, "proposal": proposal.id, "forged": forged.id,
            "failed_job": failed.id}


async def curve_points(page: Page, fine_tune_id: str) -> int:
    locator = page.locator(f'[data-fine-tune-id="{fine_tune_id}"] svg.loss-curve polyline')
    return len((await locator.get_attribute("points") or "").split())


async def test_the_dashboard_in_a_browser(redis, live_redis, fake_ollama: FakeOllama, api_server,
                                          api_settings: ApiSettings, tmp_path: Path) -> None:
    fake_ollama.on_chat(personas(brick=brick, robin=robin, verdict=verdict))
    fake_ollama.models[TUNED] = ModelEntry(TUNED)  # BRICK's swapped-in model answers too
    worker = ServiceProcess("workers.cognition", {"BATOS_REDIS_URL": live_redis.url, "BATOS_ENVIRONMENT": "test",
                                                  "BATOS_OLLAMA_HOST": fake_ollama.host}, name="cognition-dashboard")
    worker.start()
    errors: list[str] = []
    try:
        await asyncio.to_thread(worker.wait_for_output, "worker starting", 30)
        async with httpx.AsyncClient(base_url=api_server.url, headers={"Authorization": f"Bearer {API_TOKEN}"},
                                     timeout=10) as api:
            ids = await seed(redis, api, tmp_path, api_settings)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = await browser.new_page(viewport={"width": 1360, "height": 900})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.set_default_timeout(WAIT_MS)
            await page.goto(api_server.url + "/")

            # the token, asked once and kept for the tab
            await page.wait_for_selector("#token-overlay:not([hidden])")
            await page.fill("#token-input", API_TOKEN)
            await page.click("#token-submit")
            await page.wait_for_selector("#token-overlay", state="hidden")
            assert await page.evaluate("sessionStorage.getItem('batos.apiToken')") == API_TOKEN
            await page.wait_for_selector("#stream.ok")  # the event stream is connected

            # a task submitted in the page appears with its answer and dissonance
            await page.fill("#task-text", "What is entropy?")
            await page.click("#task-submit")
            row = page.locator("#tasks tr", has_text="What is entropy?")
            await row.locator(".badge.succeeded").wait_for()
            assert "entropy measures how spread out energy is" in await row.locator(".answer").inner_text()
            assert (await row.locator(".dissonance").inner_text()).startswith("0.35")
            await page.locator('svg.dissonance-chart[data-n="4"]').wait_for(timeout=WAIT_MS)
            await page.wait_for_selector('#events li[data-type="task_completed"]')

            # an API error is one clear line, and the page goes on
            await page.fill("#task-text", "x" * (api_settings.api_max_task_chars + 1))
            await page.click("#task-submit")
            await page.wait_for_selector("#task-message.err")
            assert "POST /v1/tasks: 422" in await page.inner_text("#task-message")

            # fine-tunes draw their loss curves from the records ...
            await page.wait_for_selector(f'[data-fine-tune-id="{ids["done"]}"] svg.loss-curve polyline')
            assert await curve_points(page, ids["done"]) == 10
            assert await curve_points(page, ids["running"]) == 8
            # ... and the running one's grows with each progress event, as the worker publishes it
            await FineTuneStore(redis).update(ids["running"], progress=Progress(step=9, max_steps=20, loss=1.2),
                                              curve=[*loss_curve(8, start=3.1), (9, 1.2)])
            await EventBus(redis, source="fine_tune").publish(EventType.FINE_TUNE_PROGRESS, FineTuneProgress(
                fine_tune_id=ids["running"], persona="ROBIN", step=9, max_steps=20, loss=1.2, learning_rate=1e-4,
                eta_s=25.0))
            # (selectors, not wait_for_function: the page's CSP forbids evaluating strings)
            await page.locator(f'[data-fine-tune-id="{ids["running"]}"] svg.loss-curve[data-n="9"]').wait_for(
                timeout=WAIT_MS)
            assert await curve_points(page, ids["running"]) == 9

            # curation acceptance per dataset version: v1 4 of 6, v2 1 of 2
            await page.wait_for_selector('#datasets tr[data-version="v000001"]')
            assert "67% (4/6)" in await page.inner_text('#datasets tr[data-version="v000001"] .acceptance')
            assert "50% (1/2)" in await page.inner_text('#datasets tr[data-version="v000002"] .acceptance')
            assert await page.get_attribute("svg.acceptance-chart", "data-n") == "2"

            # codex: approve a proposal
            proposal = page.locator(f'[data-proposal-id="{ids["proposal"]}"]')
            await proposal.locator("button.approve").click()
            await proposal.locator(".badge.approved").wait_for()

            # personas: the model history and a rollback
            brick_card = page.locator('[data-persona="BRICK"]')
            await brick_card.get_by_text(f"{TUNED} swapped in").wait_for()
            await brick_card.locator("button.rollback").click()
            await brick_card.get_by_text("rolled back to llama3.2:3b").wait_for()
            assert "llama3.2:3b" in await brick_card.locator("h3 .mono").inner_text()

            # tools with their forge attempts, and a failed forge job announced by its event
            tool = page.locator('[data-tool="divide"]')
            await tool.locator(".badge.tests_failed").wait_for()
            assert await tool.locator(".badge.passed").count() == 1
            await EventBus(redis, source="tool_forge").publish(EventType.TOOL_FORGE_FAILED, {
                "job_id": ids["failed_job"], "spec": "fetch a web page", "reason": "every attempt was refused"})
            failed_job = page.locator(f'.card[data-job-id="{ids["failed_job"]}"]')
            await failed_job.locator(".badge.failed").wait_for()
            assert await failed_job.locator(".badge.refused").count() == 3

            # the queues panel shows /v1/status, or says plainly that this API has none yet
            assert (await page.inner_text("#status-panel .body")).strip()

            shot = os.environ.get("BATOS_SCREENSHOT")
            if shot:
                await page.fill("#task-text", "")
                await page.evaluate("window.scrollTo(0, 0)")
                await page.screenshot(path=shot, full_page=True)

            # an API without /v1/status (404), and a failing route: clear lines, the rest of the page goes on
            await page.route("**/v1/status", lambda route: route.fulfill(
                status=404, content_type="application/json", body='{"detail": "Not Found"}'))
            await page.route("**/v1/codex/proposals*", lambda route: route.fulfill(
                status=500, content_type="application/json", body='{"detail": "internal error"}'))
            await page.get_by_text("This API has no GET /v1/status yet (404)").wait_for()
            codex_error = page.locator("#codex-panel .panel-error")
            await codex_error.wait_for()
            assert "GET /v1/codex/proposals?limit=30: 500 internal error" in await codex_error.inner_text()
            assert await page.locator("#tasks tr", has_text="What is entropy?").count() == 1
            await browser.close()
    finally:
        fake_ollama.models.pop(TUNED, None)
        assert worker.stop() == 0, worker.output()[-2000:]
    assert errors == [], errors  # no script error in the page
