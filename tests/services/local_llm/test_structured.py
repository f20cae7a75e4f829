"""Structured output: every sampled answer parses and validates, numeric ranges included."""

from __future__ import annotations

import json
from typing import Literal

import ollama
import pytest
from pydantic import BaseModel, ConfigDict, Field

from tests.services.local_llm.helpers import BASE_TAG

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
SAMPLES = 20


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: float = Field(ge=0, le=1)
    reason: str = Field(max_length=200)


VERDICT_SCHEMA = {
    "type": "object",
    "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1},
                   "reason": {"type": "string", "maxLength": 200}},
    "required": ["score", "reason"],
}


class Place(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: str = Field(max_length=60)
    population: int = Field(ge=0, le=50_000_000)


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["fact", "opinion", "question"]
    confidence: float = Field(ge=0, le=1)
    place: Place
    tags: list[str] = Field(max_length=3)


ANSWERS = ["Paris is the capital of France.", "The moon is made of cheese.", "Water boils at 100 C at sea level.",
           "Bats are blind.", "Python is a programming language."]


async def test_schema_answers_always_validate(client: ollama.AsyncClient) -> None:
    for i in range(SAMPLES):
        prompt = f"Score from 0 to 1 how true this statement is and say why: {ANSWERS[i % len(ANSWERS)]}"
        num_predict = 12 if i % 4 == 3 else 256  # every fourth runs out of tokens mid-JSON
        reply = await client.chat(model=BASE_TAG, messages=[{"role": "user", "content": prompt}], format=VERDICT_SCHEMA,
                                  options={"temperature": 0.7, "seed": i, "num_predict": num_predict})
        verdict = Verdict.model_validate_json(reply.message.content or "")
        assert 0 <= verdict.score <= 1, reply.message.content


async def test_pydantic_schema_with_enum_and_nested_object(client: ollama.AsyncClient) -> None:
    schema = Report.model_json_schema()
    assert "$defs" in schema  # the nested model is a $ref
    kinds = set()
    for i in range(SAMPLES):
        reply = await client.chat(
            model=BASE_TAG, format=schema, options={"temperature": 0.7, "seed": 100 + i, "num_predict": 96},
            messages=[{"role": "system", "content": "You classify statements and name the city they are about."},
                      {"role": "user", "content": f"Classify: {ANSWERS[i % len(ANSWERS)]}"}])
        report = Report.model_validate_json(reply.message.content or "")
        kinds.add(report.kind)
    assert kinds <= {"fact", "opinion", "question"}


async def test_json_mode_gives_an_object_and_generate_takes_a_schema(client: ollama.AsyncClient) -> None:
    for seed in range(3):
        reply = await client.chat(model=BASE_TAG, format="json", options={"temperature": 0.7, "seed": seed},
                                  messages=[{"role": "user", "content": "Describe a dog as JSON."}])
        assert isinstance(json.loads(reply.message.content or ""), dict)
    generated = await client.generate(model=BASE_TAG, prompt="Rate the sky.", format=VERDICT_SCHEMA,
                                      options={"temperature": 0.7, "num_predict": 10})
    Verdict.model_validate_json(generated.response or "")
    chunks = [c async for c in await client.chat(model=BASE_TAG, format=VERDICT_SCHEMA, stream=True,
                                                options={"temperature": 0.7},
                                                messages=[{"role": "user", "content": "Rate the sea."}])]
    Verdict.model_validate_json("".join(c.message.content or "" for c in chunks))


async def test_an_invalid_schema_is_a_400(client: ollama.AsyncClient) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        await client.chat(model=BASE_TAG, messages=[{"role": "user", "content": "x"}],
                          format={"type": "object", "properties": {"a": {"type": "no-such-type"}}})
    assert caught.value.status_code == 400 and "schema" in caught.value.error
