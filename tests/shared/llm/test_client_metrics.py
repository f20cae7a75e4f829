"""Every chat call is timed by model, persona (``persona_context``) and outcome, against the test server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from pydantic import BaseModel

from shared.errors import LLMBadAnswer, LLMUnreachable
from shared.llm import LLMClient, current_persona, persona_context, system_and_user
from tests.support.fake_ollama import FakeOllama, ModelEntry
from tests.support.metrics import sample
from tests.support.redis_server import free_port

MODEL = "llama3.2:3b"


class Score(BaseModel):
    score: float


def calls(persona: str, outcome: str, model: str = MODEL) -> float:
    return sample("batos_llm_call_seconds_count", model=model, persona=persona, outcome=outcome)


@pytest.fixture
def own_models(fake_ollama: FakeOllama) -> Iterator[Callable[[str], str]]:
    """Models of this test alone on the shared fake server: a late request of an earlier test (for
    ``llama3.2:3b``) cannot take the answers queued here. Removed afterwards."""
    added: list[str] = []

    def add(tag: str) -> str:
        fake_ollama.models[tag] = ModelEntry(tag, MODEL)
        added.append(tag)
        return tag

    yield add
    for tag in added:
        fake_ollama.models.pop(tag, None)


async def test_calls_are_timed_per_persona_and_outcome(
    fake_ollama: FakeOllama, own_models: Callable[[str], str]
) -> None:
    model = own_models("metrics-probe:1b")
    fake_ollama.queue(model, "an answer", "", "another", '{"score": 0.5}')
    llm = LLMClient(fake_ollama.host)
    ask = system_and_user(None, "hello")
    before = {key: calls(*key, model=model) for key in [("BRICK", "ok"), ("ROBIN", "bad_answer"), ("unknown", "ok"),
                                                        ("ALFRED", "ok")]}
    ok_sum = sample("batos_llm_call_seconds_sum", model=model, persona="BRICK", outcome="ok")

    with persona_context("brick"):  # names are upper-cased
        await llm.chat(model, ask)
        with persona_context("ROBIN"), pytest.raises(LLMBadAnswer):  # the empty answer
            await llm.chat(model, ask)
        assert current_persona() == "BRICK"
    assert current_persona() == "unknown"
    await llm.chat(model, ask)
    with persona_context("ALFRED"):
        assert (await llm.chat_structured(model, ask, Score)).score == 0.5

    counted = {key: calls(*key, model=model) - n for key, n in before.items()}
    assert counted == {("BRICK", "ok"): 1, ("ROBIN", "bad_answer"): 1, ("unknown", "ok"): 1, ("ALFRED", "ok"): 1}
    assert sample("batos_llm_call_seconds_sum", model=model, persona="BRICK", outcome="ok") > ok_sum


async def test_every_fine_tune_of_a_persona_is_one_model_label(
    fake_ollama: FakeOllama, own_models: Callable[[str], str]
) -> None:
    """A swapped-in fine-tune has a new tag each time; the metric's label set stays bounded."""
    tags = [own_models("batos-brick:20260101T120145-v000003"), own_models("batos-brick:20260102T080000-v000004")]
    for tag in tags:
        fake_ollama.queue(tag, "an answer")
    before = calls("BRICK", "ok", model="batos-brick:fine-tuned")
    llm = LLMClient(fake_ollama.host)
    with persona_context("BRICK"):
        for tag in tags:
            await llm.chat(tag, system_and_user(None, "hello"))
    assert calls("BRICK", "ok", model="batos-brick:fine-tuned") - before == 2
    assert calls("BRICK", "ok", model=tags[0]) == 0


async def test_the_persona_follows_calls_into_tasks_and_no_answer_is_unreachable(fake_ollama: FakeOllama) -> None:
    fake_ollama.on_chat(lambda body: "fine")
    llm = LLMClient(fake_ollama.host)
    before = calls("ROBIN", "ok")
    with persona_context("ROBIN"):
        await asyncio.gather(*(llm.chat(MODEL, system_and_user(None, f"q{n}")) for n in range(3)))
    assert calls("ROBIN", "ok") - before == 3

    gone = LLMClient(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    before = calls("BRICK", "unreachable")
    with persona_context("BRICK"), pytest.raises(LLMUnreachable):
        await gone.chat(MODEL, system_and_user(None, "anyone?"))
    assert calls("BRICK", "unreachable") - before == 1
