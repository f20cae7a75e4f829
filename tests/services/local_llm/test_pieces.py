"""The server's pure parts, without the model: text assembly, tool-call format, names, blobs,
adapter checks, the scheduler's bound and request validation."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from services.local_llm import tool_calls
from services.local_llm.adapter_check import check_adapter
from services.local_llm.blobs import BlobStore
from services.local_llm.errors import BadRequest
from services.local_llm.model_info import size_label
from services.local_llm.registry import ModelEntry, Registry, canonical
from services.local_llm.scheduler import Busy, Scheduler
from services.local_llm.schemas import ChatRequest, Message
from services.local_llm.settings import LocalLLMSettings
from services.local_llm.textstream import TextAssembler


class CharTokenizer:
    """One character per id (ids are code points)."""

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return "".join(chr(i) for i in ids)


def feed(assembler: TextAssembler, text: str) -> str:
    return "".join(assembler.add(ord(c)) for c in text) + assembler.flush()


def test_stop_strings_cut_the_answer_and_are_never_sent() -> None:
    assembler = TextAssembler(CharTokenizer(), ["STOP", "\n\n"])
    assert feed(assembler, "hello STOP more") == "hello "
    assert assembler.hit_stop and assembler.text == "hello "
    assert feed(TextAssembler(CharTokenizer(), ["STOP"]), "no stop here, ST") == "no stop here, ST"


def test_tool_calls_round_trip_through_the_prompt_format() -> None:
    text = tool_calls.render_call("get_weather", {"city": "Oslo"})
    assert tool_calls.parse(text) == ("", [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}])
    assert tool_calls.parse("plain <b>answer</b>") == ("plain <b>answer</b>", [])
    history = [Message(role="tool", content="12 C", tool_name="get_weather")]
    assert tool_calls.render_messages(history)[0]["content"].startswith('<tool_response name="get_weather">')


def test_model_names_follow_ollama() -> None:
    assert canonical("SmolLM2") == "smollm2:latest"
    assert canonical("brick/tuned:v2") == "brick/tuned:v2"
    with pytest.raises(BadRequest):
        canonical("not a name!")


def test_registry_persists_created_tags(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry.json", "smollm2:135m")
    registry.put(ModelEntry("brick:v1", "adapter", parent="smollm2:135m", adapter_id="a1",
                            adapter_files={"adapter_model.safetensors": "sha256:" + "0" * 64}))
    reopened = Registry(tmp_path / "registry.json", "smollm2:135m")
    assert [e.name for e in reopened.all()] == ["smollm2:135m", "brick:v1"]
    assert reopened.get("brick:v1").adapter_id == "a1"  # type: ignore[union-attr]
    assert reopened.users_of("a1") == ["brick:v1"]
    with pytest.raises(BadRequest):
        reopened.put(ModelEntry("smollm2:135m"))


async def _chunks(data: bytes) -> object:
    for i in range(0, len(data), 7):
        yield data[i : i + 7]


async def test_blob_upload_keeps_nothing_on_a_digest_mismatch(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = b"adapter bytes " * 100
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert await store.receive(digest, _chunks(data)) is True  # type: ignore[arg-type]
    assert store.exists(digest) and store.path(digest).read_bytes() == data
    assert await store.receive(digest, _chunks(data)) is False  # type: ignore[arg-type]
    wrong = "sha256:" + "1" * 64
    with pytest.raises(BadRequest, match="digest mismatch"):
        await store.receive(wrong, _chunks(data))  # type: ignore[arg-type]
    assert sorted(p.name for p in (tmp_path / "blobs").iterdir()) == [store.path(digest).name]
    with pytest.raises(BadRequest, match="invalid digest"):
        store.exists("md5:abc")


def _fake_base(folder: Path) -> Path:
    folder.mkdir()
    config = {"model_type": "llama", "hidden_size": 8, "tie_word_embeddings": True}
    (folder / "config.json").write_text(json.dumps(config))
    save_file({"model.layers.0.self_attn.q_proj.weight": np.zeros((8, 8), np.float32),
               "model.layers.0.self_attn.v_proj.weight": np.zeros((4, 8), np.float32),
               "model.embed_tokens.weight": np.zeros((32, 8), np.float32)}, str(folder / "model.safetensors"))
    return folder


def _fake_adapter(folder: Path, tensors: dict[str, tuple[int, int]], peft_type: str = "LORA") -> Path:
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": peft_type, "r": 2}))
    save_file({k: np.ones(v, np.float32) for k, v in tensors.items()}, str(folder / "adapter_model.safetensors"))
    return folder


def test_adapter_check_compares_shapes_with_the_base(tmp_path: Path) -> None:
    base = _fake_base(tmp_path / "base")
    prefix = "base_model.model.model.layers.0.self_attn"
    good = _fake_adapter(tmp_path / "good", {f"{prefix}.q_proj.lora_A.weight": (2, 8),
                                             f"{prefix}.q_proj.lora_B.weight": (8, 2),
                                             f"{prefix}.v_proj.lora_B.weight": (4, 2),
                                             "base_model.model.lm_head.lora_A.weight": (2, 8)})
    assert check_adapter(good, base)["r"] == 2
    wide = _fake_adapter(tmp_path / "wide", {f"{prefix}.q_proj.lora_A.weight": (2, 64)})
    with pytest.raises(BadRequest, match="does not fit"):
        check_adapter(wide, base)
    elsewhere = _fake_adapter(tmp_path / "elsewhere", {f"{prefix}.k_proj.lora_A.weight": (2, 8)})
    with pytest.raises(BadRequest, match="does not have"):
        check_adapter(elsewhere, base)
    ia3 = _fake_adapter(tmp_path / "ia3", {f"{prefix}.q_proj.lora_A.weight": (2, 8)}, peft_type="IA3")
    with pytest.raises(BadRequest, match="only LoRA"):
        check_adapter(ia3, base)


async def test_scheduler_refuses_beyond_its_bound_and_drops_cancelled_jobs() -> None:
    scheduler = Scheduler(max_queue=1)
    scheduler.start()
    gate = asyncio.Event()
    loop = asyncio.get_running_loop()
    blocker = scheduler.submit(lambda job: asyncio.run_coroutine_threadsafe(gate.wait(), loop).result(), counted=False)
    waiting = scheduler.submit(lambda job: "ran")
    with pytest.raises(Busy, match="maximum pending requests exceeded"):
        scheduler.submit(lambda job: "refused")
    scheduler.cancel(waiting)
    third = scheduler.submit(lambda job: "third")  # the cancelled one freed its place
    gate.set()
    await blocker.result()
    assert await third.result() == "third"
    assert scheduler.pending == 0
    await asyncio.to_thread(scheduler.shutdown)


def test_requests_are_typed_and_settings_resolve_the_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ChatRequest.model_validate({"model": "m", "messages": "hello"})
    with pytest.raises(ValueError):
        ChatRequest.model_validate({"model": "m", "format": "xml"})
    request = ChatRequest.model_validate({"model": "m", "options": {"stop": "END", "temperature": 0}})
    assert request.options.stop == ["END"] and request.stream is True
    default = LocalLLMSettings(data_dir=str(tmp_path))
    assert default.model_path() == tmp_path.resolve() / "models" / "smollm2-135m-instruct"
    assert LocalLLMSettings(local_model_dir=str(tmp_path)).model_path() == tmp_path.resolve()
    assert size_label(134_515_008) == "135M" and size_label(1_700_000_000) == "1.7B"
