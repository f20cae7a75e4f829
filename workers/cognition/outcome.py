"""What a task's record holds once answered, and the events that announce it.

``announce`` reads only the stored record, so a job re-run after a crash between writing the
record and publishing can publish again; every consumer of these events is idempotent on the
task id (the motivator keys an inquiry on the task that caused it).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.events import EventBus
from shared.events.payloads import HighCognitiveDissonance, TaskCompleted
from shared.keys import EventType
from shared.stores.interactions import Contribution
from shared.stores.status import RunStatus
from shared.stores.tasks import TaskRecord


class TaskOutcome(BaseModel):
    """``TaskRecord.result`` of an answered task."""

    response: str
    dissonance: float | None = None
    dissonance_reason: str | None = None
    models: dict[str, str] = Field(default_factory=dict, description="persona -> Ollama tag used")
    timings_s: dict[str, float] = Field(default_factory=dict, description="per persona step, and total")
    contributions: list[Contribution] = Field(default_factory=list)
    degraded: list[str] = Field(default_factory=list, description="what went wrong without failing the task")
    proposal_id: str | None = None
    proposal_merged: bool = Field(default=False, description="the draft repeated an open or rejected proposal")


async def announce(bus: EventBus, task: TaskRecord, threshold: float) -> None:
    """Publish the events that follow from a finished task's stored record."""
    if task.status == RunStatus.FAILED:
        await bus.publish(EventType.TASK_FAILED, {"task_id": task.id, "status": task.status,
                                                   "source": task.source, "error": task.error})
        return
    if task.status != RunStatus.SUCCEEDED or task.result is None:
        return
    outcome = TaskOutcome.model_validate(task.result)
    await bus.publish(EventType.TASK_COMPLETED, TaskCompleted(
        task_id=task.id, status=task.status, source=task.source, dissonance=outcome.dissonance))
    if outcome.dissonance is not None and outcome.dissonance >= threshold:
        await bus.publish(EventType.HIGH_COGNITIVE_DISSONANCE, HighCognitiveDissonance(
            task_id=task.id, task=task.text, score=outcome.dissonance, depth=task.depth))
    if outcome.proposal_id and not outcome.proposal_merged:
        await bus.publish(EventType.CODEX_PROPOSAL_CREATED, {"proposal_id": outcome.proposal_id,
                                                             "task_id": task.id})
