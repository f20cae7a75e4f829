"""Models as Ollama manages them: blobs, create (alias, base + LoRA), show, list, ps, copy, delete,
and tags that survive a restart."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import ollama
import pytest

from tests.services.local_llm.helpers import BASE_TAG, LocalServer, ollama_client, upload_adapter

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
PROMPT = [{"role": "user", "content": "Name three colours."}]
GREEDY = {"temperature": 0, "seed": 1, "num_predict": 16}


async def test_blobs_are_content_addressed(client: ollama.AsyncClient, llm_server: LocalServer,
                                           tmp_path: Path) -> None:
    data = b"some adapter bytes\n" * 1000
    (tmp_path / "blob.bin").write_bytes(data)
    digest = await client.create_blob(tmp_path / "blob.bin")
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
    async with httpx.AsyncClient(base_url=llm_server.url) as http:
        assert (await http.head(f"/api/blobs/{digest}")).status_code == 200
        assert (await http.head(f"/api/blobs/sha256:{'0' * 64}")).status_code == 404
        wrong = f"sha256:{'1' * 64}"
        refused = await http.post(f"/api/blobs/{wrong}", content=b"other bytes")
        assert refused.status_code == 400 and "digest mismatch" in refused.json()["error"]
        assert (await http.head(f"/api/blobs/{wrong}")).status_code == 404  # nothing kept
        assert (await http.post("/api/blobs/md5:abc", content=b"x")).status_code == 400


async def test_adapter_tag_answers_over_the_shared_base(client: ollama.AsyncClient, lora_dir: Path) -> None:
    adapters = await upload_adapter(client, lora_dir)
    done = await client.create(model="brick:tuned", from_=BASE_TAG, adapters=adapters, stream=False)
    assert done.status == "success"
    listed = {m.model for m in (await client.list()).models}
    assert {"brick:tuned", BASE_TAG} <= listed
    shown = await client.show("brick:tuned")
    assert f"FROM {BASE_TAG}" in (shown.modelfile or "")
    assert f"ADAPTER {adapters['adapter_model.safetensors']}" in (shown.modelfile or "")
    assert shown.details and shown.details.family == "llama" and shown.details.parent_model == BASE_TAG
    assert shown.modelinfo and shown.modelinfo["general.architecture"] == "llama"

    base = await client.chat(model=BASE_TAG, messages=PROMPT, options=GREEDY)
    tuned = await client.chat(model="brick:tuned", messages=PROMPT, options=GREEDY)
    assert tuned.message.content and tuned.message.content != base.message.content
    assert (await client.chat(model=BASE_TAG, messages=PROMPT, options=GREEDY)).message.content == \
        base.message.content  # the base is untouched by the adapter beside it
    running = {m.model for m in (await client.ps()).models}
    assert {"brick:tuned", BASE_TAG} <= running

    statuses = [s.status async for s in await client.create(model="brick:copy-of-files", from_=BASE_TAG,
                                                             adapters=adapters, stream=True)]
    assert statuses[-1] == "success" and len(statuses) > 1
    same = await client.chat(model="brick:copy-of-files", messages=PROMPT, options=GREEDY)
    assert same.message.content == tuned.message.content

    await client.copy("brick:tuned", "brick:backup")
    assert (await client.chat(model="brick:backup", messages=PROMPT, options=GREEDY)).message.content == \
        tuned.message.content

    for name in ("brick:tuned", "brick:copy-of-files", "brick:backup"):
        assert (await client.delete(name)).status == "success"
    assert not {"brick:tuned", "brick:backup"} & {m.model for m in (await client.ps()).models}
    with pytest.raises(ollama.ResponseError) as gone:
        await client.chat(model="brick:tuned", messages=PROMPT)
    assert gone.value.status_code == 404
    assert (await client.chat(model=BASE_TAG, messages=PROMPT, options=GREEDY)).message.content == \
        base.message.content


async def test_alias_from_base_with_system_and_parameters(client: ollama.AsyncClient) -> None:
    await client.create(model="pirate", from_=BASE_TAG, system="You are a pirate.",
                        parameters={"temperature": 0, "num_predict": 8}, stream=False)
    shown = await client.show("pirate:latest")
    assert 'SYSTEM """You are a pirate."""' in (shown.modelfile or "") and "num_predict" in (shown.parameters or "")
    reply = await client.chat(model="pirate", messages=PROMPT)
    assert 0 < (reply.eval_count or 0) <= 8
    await client.delete("pirate")


async def test_create_refuses_what_it_cannot_serve(client: ollama.AsyncClient, lora_dir: Path,
                                                   foreign_lora_dir: Path) -> None:
    adapters = await upload_adapter(client, lora_dir)
    cases = [
        ({"from_": "no-such-model:1b", "adapters": adapters}, 404),
        ({"from_": BASE_TAG, "adapters": {**adapters, "adapter_model.safetensors": f"sha256:{'2' * 64}"}}, 400),
        ({"from_": BASE_TAG, "adapters": {"adapter_model.safetensors": adapters["adapter_model.safetensors"]}}, 400),
        ({"from_": BASE_TAG, "adapters": await upload_adapter(client, foreign_lora_dir)}, 400),
        ({"files": {"model.gguf": adapters["adapter_model.safetensors"]}}, 400),
        ({}, 400),
    ]
    for arguments, status in cases:
        with pytest.raises(ollama.ResponseError) as refused:
            await client.create(model="refused:1", stream=False, **arguments)  # type: ignore[arg-type]
        assert refused.value.status_code == status, (arguments, refused.value.error)
    assert "refused:1" not in {m.model for m in (await client.list()).models}
    for missing in (client.delete("no-such-model"), client.show("no-such-model"),
                    client.copy("no-such-model", "x"), client.embed(model="no-such-model", input="x")):
        with pytest.raises(ollama.ResponseError) as not_found:
            await missing
        assert not_found.value.status_code == 404


async def test_created_tags_survive_a_restart(base_model_dir: Path, lora_dir: Path, tmp_path: Path) -> None:
    first = LocalServer(tmp_path / "data", base_model_dir).start()
    try:
        async with ollama_client(first.url) as client:
            await client.create(model="robin:v1", from_=BASE_TAG, adapters=await upload_adapter(client, lora_dir))
            before = await client.chat(model="robin:v1", messages=PROMPT, options=GREEDY)
    finally:
        first.stop()
    second = LocalServer(tmp_path / "data", base_model_dir).start()
    try:
        async with ollama_client(second.url) as client:
            assert "robin:v1" in {m.model for m in (await client.list()).models}
            after = await client.chat(model="robin:v1", messages=PROMPT, options=GREEDY)  # reloaded lazily
            assert after.message.content == before.message.content
            assert "ADAPTER sha256:" in ((await client.show("robin:v1")).modelfile or "")
    finally:
        second.stop()
