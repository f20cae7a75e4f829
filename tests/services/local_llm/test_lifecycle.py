"""Start-up, a failed load, the bounded queue, and clients that go away."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from services.local_llm.prepare import MARKER, ensure_model_folder
from tests.services.local_llm.helpers import BASE_TAG, LocalServer, data_dir_sharing_models
from tests.support.processes import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
USER = [{"role": "user", "content": "Hello!"}]
# As long an answer as the model's context allows: minutes on two cores, unless it is stopped.
ENDLESS = {"model": BASE_TAG, "messages": [{"role": "user", "content": "Write a very long story."}],
           "options": {"num_predict": 8000, "num_ctx": 8192, "temperature": 1.0}}


def test_prepared_folder_is_reused_and_trainable(base_model_dir: Path, tmp_path: Path) -> None:
    marker = (base_model_dir / MARKER).stat().st_mtime
    assert ensure_model_folder(base_model_dir) == base_model_dir
    data = data_dir_sharing_models(tmp_path / "data")
    prepared = subprocess.run([sys.executable, "-m", "services.local_llm.prepare"], cwd=REPO, capture_output=True,
                              text=True, timeout=120, env={**os.environ, "BATOS_DATA_DIR": str(data)}, check=True)
    assert prepared.stdout.strip().splitlines()[-1] == str(base_model_dir)
    assert (base_model_dir / MARKER).stat().st_mtime == marker  # nothing was redone
    config = json.loads((base_model_dir / "config.json").read_text())
    assert config["model_type"] == "llama" and "quantization_config" not in config
    assert "<|im_start|>" in (base_model_dir / "chat_template.jinja").read_text()


async def test_version_answers_at_once_and_early_requests_wait_for_the_load(base_model_dir: Path,
                                                                            tmp_path: Path) -> None:
    server = LocalServer(tmp_path, base_model_dir).start(wait_loaded=False)
    try:
        assert '"model_loaded"' not in server.process.output()  # it answered before the model was in
        async with httpx.AsyncClient(base_url=server.url, timeout=300) as http:
            assert (await http.get("/api/version")).json()["version"]
            assert (await http.get("/api/tags")).json()["models"][0]["name"] == BASE_TAG
            reply = await http.post("/api/chat", json={"model": BASE_TAG, "messages": USER, "stream": False,
                                                       "options": {"num_predict": 4}})
            assert reply.status_code == 200 and reply.json()["message"]["content"]
            assert reply.json()["load_duration"] > 0
            assert [m["name"] for m in (await http.get("/api/ps")).json()["models"]] == [BASE_TAG]
        assert '"model_load_started"' in server.process.output()
    finally:
        server.stop()


async def test_a_failed_load_answers_500_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "not-a-model").mkdir()
    server = LocalServer(tmp_path / "data", tmp_path / "not-a-model").start(wait_loaded=False)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
            reply = await http.post("/api/chat", json={"model": BASE_TAG, "messages": USER})
            assert reply.status_code == 500
            assert "failed to load model" in reply.json()["error"] and "not-a-model" in reply.json()["error"]
            assert (await http.get("/api/version")).status_code == 200
            assert (await http.get("/api/ps")).json() == {"models": []}
    finally:
        server.stop()


async def test_full_queue_is_a_503_and_gone_clients_stop_generating(base_model_dir: Path, tmp_path: Path) -> None:
    server = LocalServer(tmp_path, base_model_dir, local_llm_max_queue=1).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=600) as http:

            async def open_stream() -> httpx.Response:
                return await http.send(http.build_request("POST", "/api/chat", json=ENDLESS), stream=True)

            streaming = await open_stream()  # answering: no longer waiting
            assert streaming.status_code == 200
            tasks = [asyncio.create_task(open_stream()) for _ in range(3)]
            finishing = asyncio.as_completed(tasks)
            refused = [await next(finishing) for _ in range(2)]  # two are refused at once, one waits
            queued = next(t for t in tasks if not t.done())
            for response in refused:
                await response.aread()
                assert response.status_code == 503
                assert "maximum pending requests exceeded" in response.json()["error"]
            assert json.loads(await anext(streaming.aiter_lines()))["done"] is False
            await streaming.aclose()  # the client goes away: its generation stops, the waiting one starts
            waiting = await queued
            assert waiting.status_code == 200
            await waiting.aclose()

            with pytest.raises(httpx.ReadTimeout):  # a non-streamed request whose client gives up
                await http.post("/api/chat", json={**ENDLESS, "stream": False}, timeout=2)
            started = time.monotonic()
            short = await http.post("/api/chat", json={"model": BASE_TAG, "messages": USER, "stream": False,
                                                       "options": {"num_predict": 4}})
            assert short.status_code == 200
            assert time.monotonic() - started < 120  # the endless answers would take many minutes
    finally:
        server.stop()
