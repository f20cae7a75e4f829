"""The Ollama test server, driven by the real ``ollama`` client."""

from __future__ import annotations

import hashlib
from pathlib import Path

import ollama
import pytest

from tests.support.fake_ollama import FakeOllama


async def test_real_client_round_trip(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    client = ollama.AsyncClient(host=fake_ollama.host)
    fake_ollama.queue("llama3.2:3b", "hello there")
    chat = await client.chat(model="llama3.2:3b", messages=[{"role": "user", "content": "hi"}])
    assert chat.message.content == "hello there"
    gen = await client.generate(model="llama3.2:3b", prompt="say hi")
    assert gen.response.startswith("echo: say hi")

    adapter = tmp_path / "adapter_model.safetensors"
    adapter.write_bytes(b"\x00weights" * 100)
    digest = await client.create_blob(adapter)
    assert digest == "sha256:" + hashlib.sha256(adapter.read_bytes()).hexdigest()
    assert fake_ollama.blobs[digest] == adapter.read_bytes()

    done = await client.create(model="brick-ft", from_="llama3.2:3b",
                               adapters={"adapter_model.safetensors": digest})
    assert done.status == "success"
    assert fake_ollama.requests[-1]["body"]["from"] == "llama3.2:3b"
    shown = await client.show("brick-ft")
    assert digest in (shown.modelfile or "")
    assert "brick-ft" in [m.model for m in (await client.list()).models]
    await client.delete("brick-ft")
    with pytest.raises(ollama.ResponseError) as err:
        await client.show("brick-ft")
    assert err.value.status_code == 404


async def test_create_refuses_missing_blob_and_unknown_base(fake_ollama: FakeOllama) -> None:
    client = ollama.AsyncClient(host=fake_ollama.host)
    with pytest.raises(ollama.ResponseError, match="not found"):
        await client.create(model="x", from_="no-such-base")
    with pytest.raises(ollama.ResponseError, match="blob"):
        await client.create(model="x", from_="llama3.2:3b", adapters={"a": "sha256:" + "0" * 64})
