"""Tool calls: a parsed call always names a given tool and its arguments validate."""

from __future__ import annotations

from typing import Any, Literal

import ollama
import pytest
from pydantic import BaseModel, ConfigDict, Field

from tests.services.local_llm.helpers import BASE_TAG

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
SAMPLES = 20


class GetWeather(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    city: str = Field(max_length=40)
    unit: Literal["celsius", "fahrenheit"]


class Add(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    a: int = Field(ge=0, le=100)
    b: int


def tool(name: str, description: str, model: type[BaseModel]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": model.model_json_schema()}}


TOOLS = [tool("get_weather", "Get the current weather in a city", GetWeather),
         tool("add", "Add two whole numbers", Add)]
ARGUMENTS = {"get_weather": GetWeather, "add": Add}
# One earlier call shows the model the format (a 135M model rarely calls tools unprompted).
HISTORY = [{"role": "user", "content": "What is the weather in Berlin?"},
           {"role": "assistant", "content": "",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Berlin", "unit": "celsius"}}}]}]
RESULT = [{"role": "tool", "content": "11 degrees, cloudy", "tool_name": "get_weather"},
          {"role": "assistant", "content": "It is 11 degrees and cloudy in Berlin."}]
QUESTIONS = ["What is the weather in Tokyo?", "Is it warm in Madrid today?", "What is 17 plus 25?",
             "Tell me a joke about cats."]


async def test_every_tool_call_names_a_tool_and_validates(client: ollama.AsyncClient) -> None:
    calls, texts = 0, 0
    for i in range(SAMPLES):
        messages = [*HISTORY, {"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}]
        reply = await client.chat(model=BASE_TAG, messages=messages, tools=TOOLS,
                                  options={"temperature": 0.7, "seed": i, "num_predict": 64 if i % 5 else 10})
        if reply.message.tool_calls:
            calls += 1
            assert reply.message.content == ""
            for call in reply.message.tool_calls:
                assert call.function.name in ARGUMENTS
                ARGUMENTS[call.function.name].model_validate(dict(call.function.arguments))
        else:
            texts += 1
            assert reply.message.content and not reply.message.content.startswith("<tool_call>")
    assert calls >= 5, f"only {calls} of {SAMPLES} answers called a tool"


async def test_streamed_tool_call_arrives_as_its_own_chunk(client: ollama.AsyncClient) -> None:
    messages = [*HISTORY, {"role": "user", "content": "What is the weather in Tokyo?"}]
    for seed in range(10):
        chunks = [c async for c in await client.chat(model=BASE_TAG, messages=messages, tools=TOOLS, stream=True,
                                                    options={"temperature": 0.7, "seed": seed})]
        with_calls = [c for c in chunks if c.message.tool_calls]
        if with_calls:
            assert len(with_calls) == 1 and not with_calls[0].done and chunks[-1].done
            assert "".join(c.message.content or "" for c in chunks) == ""  # no call markup leaks as text
            call = with_calls[0].message.tool_calls[0]  # type: ignore[index]
            ARGUMENTS[call.function.name].model_validate(dict(call.function.arguments))
            return
    pytest.fail("no streamed answer called a tool in 10 seeds")


async def test_tools_without_parameters_and_tool_results_in_history(client: ollama.AsyncClient) -> None:
    no_params = [{"type": "function", "function": {"name": "now", "description": "The current time"}}]
    reply = await client.chat(model=BASE_TAG, tools=no_params, options={"temperature": 0, "num_predict": 48},
                              messages=[{"role": "user", "content": "What time is it?"}])
    for call in reply.message.tool_calls or []:
        assert call.function.name == "now" and dict(call.function.arguments) == {}
    follow_up = await client.chat(model=BASE_TAG, tools=TOOLS, options={"temperature": 0, "num_predict": 24},
                                  messages=[*HISTORY, *RESULT, {"role": "user", "content": "Thanks. Summarise that."}])
    assert follow_up.done
