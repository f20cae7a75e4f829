"""Chat and generate with the real model, through the official ``ollama`` client."""

from __future__ import annotations

import httpx
import ollama
import pytest

from tests.services.local_llm.helpers import BASE_TAG, LocalServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
GREEDY = {"temperature": 0, "num_predict": 24}


async def test_chat_answers_with_ollamas_fields(client: ollama.AsyncClient) -> None:
    reply = await client.chat(model=BASE_TAG, messages=QUESTION, options=GREEDY, stream=False, keep_alive="5m")
    assert reply.message.role == "assistant" and "Paris" in (reply.message.content or "")
    assert reply.done and reply.done_reason in ("stop", "length")
    assert reply.prompt_eval_count and reply.prompt_eval_count > 5
    assert 0 < (reply.eval_count or 0) <= 24
    for duration in (reply.total_duration, reply.prompt_eval_duration, reply.eval_duration):
        assert duration is not None and duration > 0
    assert reply.load_duration is not None


async def test_streaming_sends_the_same_answer_in_pieces(client: ollama.AsyncClient) -> None:
    whole = await client.chat(model=BASE_TAG, messages=QUESTION, options=GREEDY, stream=False)
    chunks = [c async for c in await client.chat(model=BASE_TAG, messages=QUESTION, options=GREEDY, stream=True)]
    assert len(chunks) > 3 and [c.done for c in chunks].count(True) == 1 and chunks[-1].done
    assert "".join(c.message.content or "" for c in chunks) == whole.message.content
    final = chunks[-1]
    assert final.done_reason == whole.done_reason and final.eval_count == whole.eval_count
    assert final.total_duration and final.eval_duration and final.prompt_eval_duration


async def test_stream_is_ndjson(llm_server: LocalServer) -> None:
    async with httpx.AsyncClient(base_url=llm_server.url, timeout=120) as http, http.stream(
        "POST", "/api/chat", json={"model": BASE_TAG, "messages": QUESTION, "options": {"num_predict": 4}}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [line async for line in response.aiter_lines() if line]
    assert len(lines) >= 2 and '"done": true' in lines[-1].replace('"done":true', '"done": true')


async def test_seed_makes_sampling_reproducible(client: ollama.AsyncClient) -> None:
    messages = [{"role": "user", "content": "Write one sentence about bats."}]
    options = {"temperature": 1.0, "seed": 42, "num_predict": 24}
    first = await client.chat(model=BASE_TAG, messages=messages, options=options, stream=False)
    again = await client.chat(model=BASE_TAG, messages=messages, options=options, stream=False)
    other = await client.chat(model=BASE_TAG, messages=messages, options={**options, "seed": 7}, stream=False)
    assert first.message.content == again.message.content
    assert other.message.content != first.message.content


async def test_system_message_and_stop_strings(client: ollama.AsyncClient) -> None:
    question = {"role": "user", "content": "Tell me about the sea."}
    options = {"temperature": 0, "num_predict": 40}
    plain = await client.chat(model=BASE_TAG, messages=[question], options=options)
    pirate = await client.chat(model=BASE_TAG, options=options, messages=[
        {"role": "system", "content": "You are a pirate. Always answer like a pirate, with many arrrs."}, question])
    assert pirate.message.content != plain.message.content
    text = plain.message.content or ""
    k = next(k for k in range(len(text) // 2, len(text) - 3) if text.find(text[k : k + 3]) == k)
    stopped = await client.chat(model=BASE_TAG, messages=[question], options={**options, "stop": [text[k : k + 3]]})
    assert stopped.done_reason == "stop"
    assert stopped.message.content == text[:k]


async def test_generate_with_prompt_system_and_raw(client: ollama.AsyncClient) -> None:
    reply = await client.generate(model=BASE_TAG, prompt="Name a colour.", system="Answer in one word.",
                                  options={"temperature": 0, "num_predict": 8})
    assert reply.response and reply.done and reply.eval_count
    raw = await client.generate(model=BASE_TAG, prompt="<|im_start|>user\nSay hi<|im_end|>\n<|im_start|>assistant\n",
                                raw=True, options={"temperature": 0, "num_predict": 8})
    assert raw.response
    parts = [p async for p in await client.generate(model=BASE_TAG, prompt="Name a colour.", stream=True,
                                                   options={"temperature": 0, "num_predict": 8})]
    assert parts[-1].done and "".join(p.response or "" for p in parts)


async def test_empty_messages_load_the_model(client: ollama.AsyncClient) -> None:
    loaded = await client.chat(model=BASE_TAG, messages=[], stream=False)
    assert loaded.done and loaded.done_reason == "load"
    unloaded = await client.generate(model=BASE_TAG, prompt="", keep_alive=0)
    assert unloaded.done_reason == "unload"


async def test_embed_returns_unit_vectors_that_rank_meaning(client: ollama.AsyncClient) -> None:
    texts = ["The cat sat on the mat.", "A kitten is sitting on a rug.", "Quarterly revenue rose by 4 percent."]
    result = await client.embed(model=BASE_TAG, input=texts)
    vectors = [list(v) for v in result.embeddings]
    assert len(vectors) == 3 and len(vectors[0]) == 576
    for v in vectors:
        assert abs(sum(x * x for x in v) - 1) < 1e-4

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])
    single = await client.embed(model=BASE_TAG, input=texts[0])
    assert [round(x, 4) for x in single.embeddings[0]] == [round(x, 4) for x in vectors[0]]
    short = await client.embed(model=BASE_TAG, input="hello", dimensions=64)
    assert len(short.embeddings[0]) == 64
    old = await client.embeddings(model=BASE_TAG, prompt=texts[0])
    assert len(old.embedding) == 576
