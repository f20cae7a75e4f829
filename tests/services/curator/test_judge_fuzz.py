"""Garbage from the judge: every kind is recorded with its reason, none crashes the curator,
none becomes a score (the seed turned all of them into a silent 0.0)."""

from __future__ import annotations

import json

import pytest

from services.curator.answers import parse_answer
from services.curator.judge import Rubric
from tests.services.curator.helpers import (
    ScriptedAlfred,
    append_all,
    curator_settings,
    dataset_lines,
    interaction,
    rubric,
    running_curator,
    verdicts,
    wait_until,
)
from tests.support.fake_ollama import Failure

GOOD = {"logical_rigor": 0.9, "creative_synthesis": 0.8, "task_efficacy": 0.7, "golden_score": 0.85,
        "reasons": "sound"}


def _with(**changes: object) -> str:
    body = {**GOOD, **changes}
    return json.dumps({k: v for k, v in body.items() if v is not ...})


# (answer the judge gives, a fragment the recorded reason must contain)
GARBAGE: list[tuple[object, str]] = [
    ("", "empty answer"),
    ("   \n\t ", "empty answer"),
    ("The answer is excellent, I would give it a high score.", "not JSON"),
    ("0.8/1.0", "not JSON"),
    ("0.8", "expected a JSON object, got float"),
    ("null", "expected a JSON object, got NoneType"),
    ("[0.8]", "expected a JSON object, got list"),
    ('"0.9"', "expected a JSON object, got str"),
    ('{"golden_score": 0.8, "reasons": "goo', "not JSON"),
    (_with(golden_score=1.7), "golden_score: Input should be less than or equal to 1"),
    (_with(golden_score=-0.2), "golden_score: Input should be greater than or equal to 0"),
    (_with(golden_score=85), "golden_score: Input should be less than or equal to 1"),
    (_with(golden_score=...), "golden_score: missing"),
    (_with(golden_score="0.8"), "golden_score: Input should be a valid number"),
    (_with(golden_score="high"), "golden_score: Input should be a valid number"),
    (_with(golden_score=None), "golden_score: Input should be a valid number"),
    (_with(golden_score=True), "golden_score: Input should be a valid number"),
    ('{"logical_rigor": 0.9, "creative_synthesis": 0.8, "task_efficacy": 0.7, "golden_score": NaN, '
     '"reasons": "x"}', "golden_score: Input should be a finite number"),
    ('{"logical_rigor": 0.9, "creative_synthesis": 0.8, "task_efficacy": 0.7, "golden_score": Infinity, '
     '"reasons": "x"}', "golden_score: Input should be a finite number"),
    (_with(task_efficacy=3), "task_efficacy: Input should be less than or equal to 1"),
    (_with(reasons=...), "reasons: missing"),
    (_with(reasons="   "), "reasons: String should match pattern"),
    (json.dumps({"score": GOOD}), "golden_score: missing"),
    ("Here is my verdict: " + _with(), "not JSON"),
    ("\x00\x01\x02 binary", "not JSON"),
    ("[" * 5000 + "]" * 5000, "not JSON (nested too deeply)"),
    (Failure(500, "model runner crashed"), "HTTP 500"),
]


@pytest.mark.parametrize(("answer", "reason"), [g for g in GARBAGE if isinstance(g[0], str)])
def test_parse_gives_a_reason_for_garbage(answer: str, reason: str) -> None:
    parsed = parse_answer(answer, Rubric)
    assert isinstance(parsed, str), f"accepted garbage: {answer!r}"
    assert reason in parsed


def test_parse_accepts_a_good_answer_and_a_fenced_one() -> None:
    assert parse_answer(_with(), Rubric) == Rubric(**GOOD)
    assert parse_answer(f"```json\n{_with()}\n```", Rubric) == Rubric(**GOOD)
    assert parse_answer(_with(golden_score=1), Rubric).golden_score == 1.0  # an integer is a number


async def test_curator_records_every_kind_of_garbage_with_its_reason(redis, settings, fake_ollama,
                                                                     tmp_path) -> None:
    assert len(GARBAGE) >= 15
    good = len(GARBAGE)  # one sane interaction after all the garbage: the curator still works
    answers = {n: answer for n, (answer, _reason) in enumerate(GARBAGE)}
    fake_ollama.on_chat(ScriptedAlfred(score=lambda n: 0.9,
                                       rubric_answer=lambda n: answers.get(n, rubric(0.9))))
    await append_all(redis, [interaction(n) for n in range(good + 1)])
    cs = curator_settings(settings, tmp_path, curator_judge_attempts=2)
    async with running_curator(cs, redis) as curator:
        await wait_until(lambda: _count(redis, good + 1), what="a verdict for every interaction")
        assert curator.curated == good + 1  # and it is still running (checked on leaving the block)
    got = {int(v.interaction_id[-4:]): v for v in await verdicts(redis)}
    for n, (answer, reason) in enumerate(GARBAGE):
        verdict = got[n]
        assert verdict.status == "unjudged", f"{answer!r} was taken as a judgement"
        assert verdict.golden_score is None
        assert reason in verdict.reason and "(after 2 attempts)" in verdict.reason, (answer, verdict.reason)
    assert got[good].status == "golden" and got[good].golden_score == 0.9
    assert [line["provenance"]["interaction_id"] for line in dataset_lines(tmp_path)] == [f"int-{good:04d}"]


async def _count(redis, n: int) -> bool:
    return len(await verdicts(redis)) >= n
