"""Creating the tuned Ollama model against the Ollama-protocol test server."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pytest

from shared.errors import ModelCreationError, UnsupportedArchitecture
from shared.llm import LLMClient
from shared.llm.models import metric_model_label
from tests.support.fake_ollama import Failure, FakeOllama, ModelEntry
from tests.support.redis_server import free_port
from tests.workers.fine_tune.fixtures import BASE
from workers.fine_tune.ollama_model import (
    GgufRoute,
    create_tuned_model,
    delete_model,
    model_tag,
    ollama_family,
)


@pytest.fixture
async def client(fake_ollama: FakeOllama):
    llm = LLMClient(fake_ollama.host, timeout_s=10)
    yield llm
    await llm.aclose()


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


async def test_adapter_blobs_are_uploaded_then_the_model_is_created_and_shown(
    client, fake_ollama: FakeOllama, trained_adapter: Path, tiny_model: Path
) -> None:
    tag = model_tag("batos", "BRICK", "v000001")
    adapters = await create_tuned_model(client, tag, BASE, trained_adapter, str(tiny_model))

    expected = {name: _sha(trained_adapter / name) for name in ("adapter_config.json", "adapter_model.safetensors")}
    assert adapters == expected
    uploads = [r["body"] for r in fake_ollama.requests if r["path"] == "/api/blobs" and r["body"]["method"] == "POST"]
    assert {u["digest"] for u in uploads} == set(expected.values())
    assert all(u["digest"] == u["actual"] for u in uploads)  # the digest names the bytes sent
    [create] = [r["body"] for r in fake_ollama.requests if r["path"] == "/api/create"]
    assert create["model"] == tag and create["from"] == BASE and create["adapters"] == expected
    paths = [r["path"] for r in fake_ollama.requests]
    assert paths.index("/api/show") > paths.index("/api/create")  # verified after creating
    assert fake_ollama.models[tag].from_ == BASE


def test_tags_say_persona_version_and_time_and_sort_by_time() -> None:
    first = model_tag("batos", "BRICK", "v000002", now=1_700_000_000)
    later = model_tag("batos", "BRICK", "v000001", now=1_700_000_060)
    assert first == "batos-brick:20231114T221320-v000002"
    assert sorted([later, first]) == [first, later]
    assert metric_model_label(first) == metric_model_label(later) == "batos-brick:fine-tuned"  # one metric label


def _qwen_adapter(trained_adapter: Path, tmp_path: Path) -> Path:
    base = tmp_path / "qwen-base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    adapter = tmp_path / "qwen-adapter"
    shutil.copytree(trained_adapter, adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    (adapter / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": str(base)}))
    return adapter


async def test_other_architectures_are_refused_with_the_reason(
    client, fake_ollama: FakeOllama, trained_adapter: Path, tmp_path: Path
) -> None:
    adapter = _qwen_adapter(trained_adapter, tmp_path)
    with pytest.raises(UnsupportedArchitecture, match=r"only on llama and gemma2 bases; llama3\.2:3b is qwen2"):
        await create_tuned_model(client, "batos-brick:x-v1", BASE, adapter, "unused")
    assert [r for r in fake_ollama.requests if r["path"] in ("/api/create", "/api/blobs")] == []


async def test_the_gguf_route_sends_one_converted_adapter(
    client, fake_ollama: FakeOllama, trained_adapter: Path, tmp_path: Path
) -> None:
    adapter = _qwen_adapter(trained_adapter, tmp_path)
    converter = tmp_path / "convert_lora_to_gguf.py"  # stands in for llama.cpp's script: same arguments
    converter.write_text(
        "import argparse, pathlib\n"
        "p = argparse.ArgumentParser(); p.add_argument('--base'); p.add_argument('--outfile'); p.add_argument('lora')\n"
        "a = p.parse_args(); pathlib.Path(a.outfile).write_bytes(b'GGUF' + pathlib.Path(a.lora).name.encode())\n"
    )
    adapters = await create_tuned_model(client, "batos-brick:g-v1", BASE, adapter, "base-dir",
                                        GgufRoute(str(converter), sys.executable))
    assert adapters == {"adapter.gguf": _sha(adapter / "adapter.gguf")}
    assert fake_ollama.blobs[adapters["adapter.gguf"]] == b"GGUFqwen-adapter"


async def test_a_failed_create_is_an_error_never_a_model(
    client, fake_ollama: FakeOllama, trained_adapter: Path, tiny_model: Path
) -> None:
    fake_ollama.fail_create = Failure(500, "no space left on device")
    with pytest.raises(ModelCreationError, match="refused to create batos-brick:f-v1: HTTP 500 no space left"):
        await create_tuned_model(client, "batos-brick:f-v1", BASE, trained_adapter, str(tiny_model))
    assert "batos-brick:f-v1" not in fake_ollama.models


async def test_the_base_family_comes_from_ollama_when_the_adapter_does_not_say(client, fake_ollama: FakeOllama) -> None:
    fake_ollama.models["qwen-base:1"] = ModelEntry("qwen-base:1", family="qwen2")
    try:
        assert await ollama_family(client, "qwen-base:1") == "qwen2"
        with pytest.raises(ModelCreationError, match="Ollama refused to show no-such:base: HTTP 404"):
            await ollama_family(client, "no-such:base")
    finally:
        fake_ollama.models.pop("qwen-base:1", None)


async def test_deleting_an_unused_tag_is_best_effort(client, fake_ollama: FakeOllama) -> None:
    fake_ollama.models["batos-brick:d-v1"] = ModelEntry("batos-brick:d-v1", BASE)
    assert await delete_model(client, "batos-brick:d-v1") is True
    assert "batos-brick:d-v1" not in fake_ollama.models
    assert await delete_model(client, "batos-brick:d-v1") is False  # gone already: not an error
    assert await delete_model(LLMClient(f"http://127.0.0.1:{free_port()}"), "batos-brick:d-v1") is False
