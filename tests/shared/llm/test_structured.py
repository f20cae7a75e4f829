"""The one parser of an LLM's JSON answers: the answer, or a short reason and an ``LLMBadAnswer`` text."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import LLMBadAnswer
from shared.llm import Unusable, parse_structured, read_structured


class Verdict(BaseModel):
    model_config = ConfigDict(strict=True)

    score: float = Field(ge=0.0, le=1.0)
    reason: str = ""


def test_a_good_answer_a_padded_one_and_a_fenced_one_are_read() -> None:
    assert read_structured('{"score": 0.5}', Verdict) == Verdict(score=0.5)
    assert read_structured('  \n{"score": 0.5}\n ', Verdict) == Verdict(score=0.5)
    assert read_structured('```json\n{"score": 0.5}\n```', Verdict) == Verdict(score=0.5)
    assert read_structured('```\n{"score": 1}\n```', Verdict) == Verdict(score=1.0)  # an integer is a number
    assert parse_structured('{"score": 0.25, "reason": "ok"}', Verdict) == Verdict(score=0.25, reason="ok")


@pytest.mark.parametrize(("text", "reason", "message"), [
    ("", "empty answer", "answer is not JSON (Expecting value): ''"),
    ("  \n ", "empty answer", "answer is not JSON (Expecting value): '  \\n '"),
    ("0.8/1.0", "not JSON (Extra data): '0.8/1.0'", "answer is not JSON (Extra data): '0.8/1.0'"),
    ("Sure! " + "x" * 300, "not JSON (Expecting value): 'Sure! xxx",
     "answer is not JSON (Expecting value): 'Sure! xxx"),
    ("[" * 5000 + "]" * 5000, "not JSON (nested too deeply): '[[[", "answer is not JSON (nested too deeply): '[[["),
    ("[0.8]", "expected a JSON object, got list: '[0.8]'",
     "answer does not match Verdict: expected a JSON object, got list: '[0.8]'"),
    ('{"score": 1.5}', "score: Input should be less than or equal to 1 (got '1.5')",
     "answer does not match Verdict: [{'type': 'less_than_equal'"),
    ('{"reason": "x"}', "score: missing", "answer does not match Verdict: [{'type': 'missing'"),
    ('{"score": NaN}', "score: Input should be less than or equal to 1 (got 'NaN')",
     "answer does not match Verdict: [{'type': 'less_than_equal'"),
])
def test_each_unusable_answer_has_a_short_reason_and_a_message(text: str, reason: str, message: str) -> None:
    read = read_structured(text, Verdict)
    assert isinstance(read, Unusable)
    assert read.reason.startswith(reason) and read.message.startswith(message)
    with pytest.raises(LLMBadAnswer) as raised:
        parse_structured(text, Verdict)
    assert str(raised.value) == read.message


def test_the_reason_is_short_and_the_message_keeps_up_to_200_characters() -> None:
    text = "no JSON here " * 40
    read = read_structured(text, Verdict)
    assert isinstance(read, Unusable)
    assert len(read.reason) < 120 and read.reason.endswith("...'")
    assert repr(text[:200]) in read.message


def test_several_field_errors_are_named_together() -> None:
    read = read_structured('{"score": "high", "reason": 3}', Verdict)
    assert isinstance(read, Unusable)
    assert read.reason.startswith("score: Input should be a valid number") and "; reason: " in read.reason
