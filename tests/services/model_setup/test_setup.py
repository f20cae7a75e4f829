"""model-setup without network: the plan from the persona settings, pulls/creates against a fake
Ollama client, HF pre-fetch against a fake download, and the messages when something is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from services.model_setup.settings import ModelSetupSettings
from services.model_setup.setup import (
    HF_ALLOW_PATTERNS,
    SetupError,
    ensure_hf_bases,
    ensure_ollama_models,
    plan_from_settings,
    wait_for_ollama,
)

REPO = Path(__file__).resolve().parents[3]


class FakeOllama:
    def __init__(self, installed: list[str] | None = None, fail_pull: bool = False) -> None:
        self.installed = list(installed or [])
        self.fail_pull = fail_pull
        self.calls: list[tuple[str, ...]] = []

    def list(self) -> dict[str, Any]:
        return {"models": [{"model": m} for m in self.installed]}

    def pull(self, model: str, stream: bool = False):
        self.calls.append(("pull", model))
        if self.fail_pull:
            raise RuntimeError("pull model manifest: file does not exist")
        yield {"status": "pulling manifest"}
        for done in (0, 50, 100):
            yield {"status": "pulling abc", "digest": "sha256:abc", "total": 100, "completed": done}
        yield {"status": "success"}
        self.installed.append(model)

    def create(self, model: str, from_: str, stream: bool = False) -> dict[str, str]:
        self.calls.append(("create", model, from_))
        self.installed.append(model)
        return {"status": "success"}


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


def test_pulls_missing_bases_and_creates_tags_once() -> None:
    plan = plan_from_settings(settings(brick_ollama_model="batos-brick:seed"))
    client = FakeOllama()
    assert ensure_ollama_models(client, plan) == ["llama3.2:3b", "batos-brick:seed"]
    assert client.calls == [("pull", "llama3.2:3b"), ("create", "batos-brick:seed", "llama3.2:3b")]
    client.calls.clear()
    assert ensure_ollama_models(client, plan) == []  # idempotent: everything is there now
    assert client.calls == []


def test_pull_failure_names_the_setting() -> None:
    with pytest.raises(SetupError, match="BATOS_<PERSONA>_OLLAMA_BASE"):
        ensure_ollama_models(FakeOllama(fail_pull=True), plan_from_settings(settings()))


def test_no_ollama_server_is_a_clear_error() -> None:
    class Down:
        def list(self) -> None:
            raise ConnectionError("refused")

    with pytest.raises(SetupError, match="BATOS_OLLAMA_HOST"):
        wait_for_ollama(Down(), "http://ollama:11434", 0.0, sleep=lambda s: None)


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


def test_main_exits_1_with_the_message() -> None:
    """As its own process (``main`` configures logging for the whole interpreter)."""
    env = {**os.environ, "BATOS_MODEL_SETUP_MODE": "local", "BATOS_LOCAL_MODEL_DIR": "/nonexistent/model",
           "BATOS_LOG_JSON": "true"}
    done = subprocess.run([sys.executable, "-m", "services.model_setup"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BATOS_LOCAL_MODEL_DIR=/nonexistent/model has no config.json" in done.stdout + done.stderr
