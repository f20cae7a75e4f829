"""model-setup without network: the plan from the persona settings, pulls/creates through the real
``LLMClient`` against the Ollama-protocol test server, HF pre-fetch against a fake download, and
the messages when something is missing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from services.model_setup.settings import ModelSetupSettings
from services.model_setup.setup import (
    HF_ALLOW_PATTERNS,
    SetupError,
    ensure_hf_bases,
    ensure_ollama_models,
    plan_from_settings,
    wait_for_ollama,
)
from shared.llm import LLMClient
from tests.support.fake_ollama import Failure, FakeOllama
from tests.support.redis_server import free_port

REPO = Path(__file__).resolve().parents[3]
BASE_BYTES = 2_000_000_000  # the weights layer of the base the registry offers


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    """An Ollama server with no models yet whose registry offers the default base."""
    fake = FakeOllama()
    fake.models.clear()
    fake.registry["llama3.2:3b"] = BASE_BYTES
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
async def llm(ollama: FakeOllama) -> AsyncIterator[LLMClient]:
    client = LLMClient(ollama.host, timeout_s=10.0)
    yield client
    await client.aclose()


def paths(fake: FakeOllama) -> list[str]:
    return [r["path"] for r in fake.requests]


def settings(**env: str) -> ModelSetupSettings:
    return ModelSetupSettings(**env)  # type: ignore[arg-type]


def test_plan_dedupes_bases_and_names_the_settings() -> None:
    plan = plan_from_settings(settings(brick_ollama_model="batos-brick:seed", robin_hf_base="org/other"))
    assert plan.ollama_bases == ["llama3.2:3b"]
    assert plan.ollama_tags == {"batos-brick:seed": "llama3.2:3b"}
    assert [(b.value, b.personas) for b in plan.hf_bases] == [
        ("unsloth/Llama-3.2-3B-Instruct", ("BRICK", "ALFRED")),
        ("org/other", ("ROBIN",)),
    ]
    assert plan.hf_bases[1].settings_names == ("BATOS_ROBIN_HF_BASE",)


def test_plan_refuses_one_tag_from_two_bases() -> None:
    with pytest.raises(SetupError, match="two different bases"):
        plan_from_settings(settings(brick_ollama_model="t:1", robin_ollama_model="t:1", robin_ollama_base="other:1"))


async def test_pulls_missing_bases_and_creates_tags_once(ollama: FakeOllama, llm: LLMClient) -> None:
    plan = plan_from_settings(settings(brick_ollama_model="batos-brick:seed"))
    assert await ensure_ollama_models(llm, plan) == ["llama3.2:3b", "batos-brick:seed"]
    assert paths(ollama) == ["/api/tags", "/api/pull", "/api/create"]
    pull, create = ollama.requests[1]["body"], ollama.requests[2]["body"]
    assert pull["model"] == "llama3.2:3b" and pull["stream"] is True
    assert create == {"model": "batos-brick:seed", "from": "llama3.2:3b", "stream": False}  # a tag: no adapters
    assert ollama.models["batos-brick:seed"].from_ == "llama3.2:3b" and "llama3.2:3b" in ollama.models
    ollama.requests.clear()
    assert await ensure_ollama_models(llm, plan) == []  # idempotent: everything is there now
    assert paths(ollama) == ["/api/tags"]


async def test_an_untagged_base_is_present_as_latest(ollama: FakeOllama, llm: LLMClient) -> None:
    ollama.registry["qwen2.5"] = 1_000
    plan = plan_from_settings(settings(brick_ollama_base="qwen2.5", robin_ollama_base="qwen2.5",
                                       alfred_ollama_base="qwen2.5", brick_ollama_model="qwen2.5",
                                       robin_ollama_model="qwen2.5", alfred_ollama_model="qwen2.5"))
    assert await ensure_ollama_models(llm, plan) == ["qwen2.5"]
    assert "qwen2.5:latest" in ollama.models  # Ollama's spelling of it
    assert await ensure_ollama_models(llm, plan) == []


async def test_a_pull_logs_its_statuses_and_a_line_per_step(llm: LLMClient) -> None:
    with capture_logs() as logs:
        assert await ensure_ollama_models(llm, plan_from_settings(settings()), step_pct=25) == ["llama3.2:3b"]
    events = [e["event"] for e in logs]
    assert events[0] == "model_pull_started" and events[-1] == "model_pull_done"
    progress = [e for e in logs if e["event"] == "model_pull_progress"]
    layers = list(dict.fromkeys(e["layer"] for e in progress))  # the weights, then the parameters
    assert len(layers) == 2 and all(layer.startswith("sha256:") for layer in layers)
    assert [e["status"] for e in logs if e["event"] == "model_pull_status"] == [
        "pulling manifest", *(f"pulling {layer[7:]}" for layer in layers),
        "verifying sha256 digest", "writing manifest", "success"]
    weights = [e for e in progress if e["layer"] == layers[0]]
    assert [e["pct"] for e in weights] == [5, 30, 55, 80, 100]  # 20 steps of 5 %: one line per 25 %, and the end
    assert weights[-1]["mb"] == weights[-1]["total_mb"] == round(BASE_BYTES / 1e6, 1)


async def test_pull_failure_names_the_setting(ollama: FakeOllama, llm: LLMClient) -> None:
    plan = plan_from_settings(settings(brick_ollama_base="no-such:1b", brick_ollama_model="no-such:1b"))
    with pytest.raises(SetupError, match="BATOS_<PERSONA>_OLLAMA_BASE") as err:
        await ensure_ollama_models(llm, plan)
    assert str(err.value).startswith("pulling the Ollama model 'no-such:1b' failed: Ollama refused to pull "
                                     "no-such:1b: pull model manifest: file does not exist.")
    ollama.fail_pull = Failure(500, "max retries exceeded: connection reset by peer")
    with pytest.raises(SetupError, match="max retries exceeded"):
        await ensure_ollama_models(llm, plan_from_settings(settings()))
    assert ollama.models == {}


async def test_create_failure_names_the_tag_and_the_base(ollama: FakeOllama, llm: LLMClient) -> None:
    ollama.fail_create = Failure(500, "no space left on device")
    with pytest.raises(SetupError, match=r"^creating the Ollama tag 'batos-brick:seed' from 'llama3.2:3b' failed: "
                                         r"Ollama refused to create batos-brick:seed: HTTP 500 no space left"):
        await ensure_ollama_models(llm, plan_from_settings(settings(brick_ollama_model="batos-brick:seed")))


async def test_no_ollama_server_is_a_clear_error() -> None:
    llm = LLMClient(f"http://127.0.0.1:{free_port()}", timeout_s=5.0)
    with pytest.raises(SetupError, match=r"^no Ollama server answers at http://127\.0\.0\.1:\d+ "
                                         r"\(BATOS_OLLAMA_HOST\) after 0 s: Ollama unreachable during list models"):
        await wait_for_ollama(llm, 0.0)
    await llm.aclose()


async def test_waits_until_the_server_answers() -> None:
    fake = FakeOllama()
    llm = LLMClient(fake.host, timeout_s=5.0)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # the server comes up during the first wait
        slept.append(seconds)
        await asyncio.to_thread(fake.start)

    try:
        await wait_for_ollama(llm, 60.0, sleep=sleep)
        assert slept == [2.0] and paths(fake) == ["/api/tags"]
    finally:
        fake.stop()
        await llm.aclose()


def test_hf_bases_are_fetched_with_the_allow_list() -> None:
    seen: list[dict[str, Any]] = []

    def download(**kw: Any) -> str:
        seen.append(kw)
        return f"/cache/{kw['repo_id']}"

    folders = ensure_hf_bases(plan_from_settings(settings()), download)
    assert folders == {"unsloth/Llama-3.2-3B-Instruct": "/cache/unsloth/Llama-3.2-3B-Instruct"}
    assert seen[0]["allow_patterns"] == list(HF_ALLOW_PATTERNS) and seen[0]["local_files_only"] is False


def test_offline_hub_failure_points_at_the_local_folder_settings() -> None:
    def download(**kw: Any) -> str:
        raise OSError("Name or service not known")

    with pytest.raises(SetupError) as err:
        ensure_hf_bases(plan_from_settings(settings()), download)
    text = str(err.value)
    assert "unsloth/Llama-3.2-3B-Instruct" in text and "BATOS_BRICK_HF_BASE" in text
    assert "BATOS_LOCAL_MODEL_DIR" in text and "Name or service not known" in text


def test_local_base_must_be_a_model_folder(tmp_path: Path) -> None:
    plan = plan_from_settings(settings(brick_hf_base="local", local_model_dir=str(tmp_path)))
    with pytest.raises(SetupError, match=r"no config\.json"):
        ensure_hf_bases(plan, lambda **kw: "")
    (tmp_path / "config.json").write_text("{}")
    folders = ensure_hf_bases(plan, lambda **kw: "/cache/x")
    assert folders[str(tmp_path.resolve())] == str(tmp_path.resolve())


def run_main(**env: str) -> subprocess.CompletedProcess[str]:
    """``python -m services.model_setup`` as its own process (``main`` configures logging for the
    whole interpreter), logging JSON lines."""
    return subprocess.run([sys.executable, "-m", "services.model_setup"], cwd=REPO,
                          env={**os.environ, "BATOS_LOG_JSON": "true", **env}, capture_output=True, text=True,
                          timeout=120)


def test_main_pulls_and_creates_then_exits_0(ollama: FakeOllama) -> None:
    done = run_main(BATOS_OLLAMA_HOST=ollama.host, BATOS_MODEL_SETUP_FETCH_HF="false",
                    BATOS_BRICK_OLLAMA_MODEL="batos-brick:seed")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert events.count("model_pull_progress") >= 11 and "model_create" in events  # 10 % steps on the weights
    assert lines[-1]["event"] == "model_setup_done" and lines[-1]["mode"] == "ollama"
    assert lines[-1]["pulled_or_created"] == "batos-brick:seed, llama3.2:3b"
    assert {"llama3.2:3b", "batos-brick:seed"} <= set(ollama.models)


def test_main_without_ollama_exits_1_naming_the_host() -> None:
    host = f"http://127.0.0.1:{free_port()}"
    done = run_main(BATOS_OLLAMA_HOST=host, BATOS_MODEL_SETUP_OLLAMA_WAIT_S="0")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"model-setup: no Ollama server answers at {host} (BATOS_OLLAMA_HOST) after 0 s" in done.stderr


def test_main_exits_1_with_the_message() -> None:
    """As its own process (``main`` configures logging for the whole interpreter)."""
    env = {**os.environ, "BATOS_MODEL_SETUP_MODE": "local", "BATOS_LOCAL_MODEL_DIR": "/nonexistent/model",
           "BATOS_LOG_JSON": "true"}
    done = subprocess.run([sys.executable, "-m", "services.model_setup"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BATOS_LOCAL_MODEL_DIR=/nonexistent/model has no config.json" in done.stdout + done.stderr
