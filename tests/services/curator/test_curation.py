"""One curator in process against real Redis and the fake Ollama: verdicts, samples, votes."""

from __future__ import annotations

from shared.personas import SYSTEM_PROMPTS
from tests.services.curator.helpers import (
    JUDGE,
    ScriptedAlfred,
    append_all,
    backlog,
    curator_settings,
    dataset_lines,
    interaction,
    running_curator,
    verdicts,
    wait_until,
)


async def test_golden_interactions_become_samples_with_provenance(redis, settings, fake_ollama, tmp_path) -> None:
    fake_ollama.on_chat(ScriptedAlfred(score=lambda n: 0.9 if n % 2 == 0 else 0.4,
                                       vote=lambda n: "BRICK" if n % 4 == 0 else "ROBIN"))
    cs = curator_settings(settings, tmp_path, curator_trigger_size=100)
    await append_all(redis, [interaction(n) for n in range(8)])
    async with running_curator(cs, redis):
        await wait_until(lambda: _count(redis, 8), what="8 verdicts")
    got = {v.interaction_id: v for v in await verdicts(redis)}
    assert {i for i, v in got.items() if v.status == "golden"} == {f"int-{n:04d}" for n in (0, 2, 4, 6)}
    assert {v.status for i, v in got.items() if int(i[-4:]) % 2} == {"rejected"}
    assert got["int-0001"].golden_score == 0.4 and got["int-0001"].reason == "clear and correct"
    assert got["int-0000"].vote == "BRICK" and got["int-0002"].vote == "ROBIN"
    lines = dataset_lines(tmp_path)
    assert sorted(line["provenance"]["interaction_id"] for line in lines) == [f"int-{n:04d}" for n in (0, 2, 4, 6)]
    first = next(line for line in lines if line["provenance"]["interaction_id"] == "int-0000")
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    assert first["messages"][0]["content"] == SYSTEM_PROMPTS["BRICK"]
    assert first["messages"][1]["content"].startswith("task-0000")
    assert first["messages"][2]["content"] == "ROBIN's synthesis for idea 0."
    assert first["provenance"]["golden_score"] == 0.9 and first["provenance"]["persona"] == "BRICK"
    assert first["provenance"]["model"] == "llama3.2:3b" and first["provenance"]["scores"]["logical_rigor"] == 0.9
    # one rubric request per interaction, two vote requests per golden one, all to the judge model
    assert len(fake_ollama.chats(JUDGE)) == 8 + 2 * 4
    assert await backlog(redis) == {"pending": 0, "lag": 0}


async def test_position_biased_vote_is_a_tie(redis, settings, fake_ollama, tmp_path) -> None:
    fake_ollama.on_chat(ScriptedAlfred(score=lambda n: 0.95, vote=lambda n: "first"))
    await append_all(redis, [interaction(1)])
    async with running_curator(curator_settings(settings, tmp_path), redis):
        await wait_until(lambda: _count(redis, 1), what="a verdict")
    (verdict,) = await verdicts(redis)
    assert verdict.status == "golden" and verdict.vote == "tie"
    assert "position-dependent" in (verdict.vote_reason or "")
    votes = [b for b in fake_ollama.chats(JUDGE) if "Which contribution" in b["messages"][0]["content"]]
    orders = sorted(b["messages"][-1]["content"].index("BRICK's") < b["messages"][-1]["content"].index("ROBIN's")
                    for b in votes)
    assert orders == [False, True]  # asked once in each order
    (line,) = dataset_lines(tmp_path)
    assert line["provenance"]["vote"] == "tie" and line["provenance"]["persona"] is None


async def test_threshold_is_inclusive_and_duplicates_are_refused(redis, settings, fake_ollama, tmp_path) -> None:
    fake_ollama.on_chat(ScriptedAlfred(score=lambda n: 0.8))
    same = [interaction(n, task="task-0001 the same question", response="the same answer") for n in (1, 2)]
    await append_all(redis, same)
    async with running_curator(curator_settings(settings, tmp_path, curator_golden_threshold=0.8), redis):
        await wait_until(lambda: _count(redis, 2), what="2 verdicts")
    got = await verdicts(redis)
    assert [v.status for v in got] == ["golden", "golden"]
    assert sorted(v.duplicate for v in got) == [False, True]
    assert len(dataset_lines(tmp_path)) == 1


async def _count(redis, n: int) -> bool:
    return len(await verdicts(redis)) >= n
