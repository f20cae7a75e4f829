"""Samples for dataset tests."""

from __future__ import annotations

from shared.datasets import Message, Provenance, Sample, content_hash


def sample(n: int, vote: str = "BRICK", score: float = 0.9, task: str | None = None) -> Sample:
    task = task or f"question {n}"
    answer = f"answer {n}"
    return Sample(messages=[Message(role="system", content="sys"), Message(role="user", content=task),
                            Message(role="assistant", content=answer)],
                  provenance=Provenance(interaction_id=f"int-{n}", task_id=f"t-{n}", golden_score=score,
                                        persona=None if vote == "tie" else vote, vote=vote,  # type: ignore[arg-type]
                                        model="llama3.2:3b", content_hash=content_hash(task, answer)))
