"""Typed payloads of the events whose shape other services rely on.

``publish`` validates ``data`` against the model registered for its type, so a producer cannot
send a payload its consumers would not understand. Consumers parse with ``Model.model_validate``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import InvalidInput
from shared.keys import EventType


class Payload(BaseModel):
    """Base: unknown fields are kept (a newer producer may add some)."""

    model_config = ConfigDict(extra="allow")


class TaskCompleted(Payload):
    task_id: str
    status: str
    source: str = "api"
    dissonance: float | None = None


class PersonaAnswered(Payload):
    """One persona's part of a task as it comes: BRICK's analysis, ROBIN's synthesis, ALFRED's verdict
    (``content`` its reason, with ``dissonance``). Live only; the task's record keeps them all."""

    task_id: str
    persona: str
    model: str
    content: str
    duration_s: float | None = None
    attempt: int = Field(default=1, ge=1, description="the task's attempt (a retried task answers again)")
    dissonance: float | None = Field(default=None, ge=0.0, le=1.0, description="ALFRED's verdict only")


class HighCognitiveDissonance(Payload):
    task_id: str
    task: str
    score: float = Field(ge=0.0, le=1.0)
    depth: int = Field(default=0, ge=0, description="how many inquiries led to this task")


class ToolCreated(Payload):
    tool_name: str
    version: int = Field(ge=1)


class ModelTuned(Payload):
    persona: str
    new_model_tag: str
    previous_model_tag: str | None = None
    fine_tune_id: str | None = None
    dataset_version: str | None = None


class FineTuneFailed(Payload):
    persona: str
    fine_tune_id: str
    dataset_version: str | None = None
    reason: str


class FineTuneSuperseded(Payload):
    persona: str
    fine_tune_id: str
    dataset_version: str
    newer_version: str
    reason: str


class FineTuneProgress(Payload):
    fine_tune_id: str
    persona: str
    step: int
    max_steps: int
    loss: float | None = None
    learning_rate: float | None = None
    eta_s: float | None = None


class TaskFailed(Payload):
    task_id: str
    status: str
    source: str = "api"
    error: str | None = None


class CodexProposalCreated(Payload):
    proposal_id: str
    task_id: str | None = None


class MotivatorCapReached(Payload):
    reason: str = Field(description="hourly_cap or max_inquiry_depth")
    kind: str
    caused_by: str | None = None


class ToolForgeFailed(Payload):
    job_id: str
    reason: str
    spec: str = ""


class DatasetSealed(Payload):
    version: str
    persona: str
    sample_count: int = Field(ge=0)
    sha256: str


class ModelRejected(Payload):
    persona: str
    fine_tune_id: str
    model_tag: str | None = None
    reason: str


class ModelRolledBack(Payload):
    persona: str
    restored_model_tag: str
    replaced_model_tag: str


PAYLOAD_MODELS: dict[str, type[Payload]] = {
    EventType.TASK_COMPLETED: TaskCompleted,
    EventType.TASK_FAILED: TaskFailed,
    EventType.PERSONA_ANSWERED: PersonaAnswered,
    EventType.CODEX_PROPOSAL_CREATED: CodexProposalCreated,
    EventType.MOTIVATOR_CAP_REACHED: MotivatorCapReached,
    EventType.TOOL_FORGE_FAILED: ToolForgeFailed,
    EventType.DATASET_SEALED: DatasetSealed,
    EventType.MODEL_REJECTED: ModelRejected,
    EventType.MODEL_ROLLED_BACK: ModelRolledBack,
    EventType.HIGH_COGNITIVE_DISSONANCE: HighCognitiveDissonance,
    EventType.TOOL_CREATED: ToolCreated,
    EventType.MODEL_TUNED: ModelTuned,
    EventType.FINE_TUNE_FAILED: FineTuneFailed,
    EventType.FINE_TUNE_SUPERSEDED: FineTuneSuperseded,
    EventType.FINE_TUNE_PROGRESS: FineTuneProgress,
}


def validate_payload(event_type: str, data: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """Return ``data`` as a JSON-ready dict, checked against the type's model when it has one."""
    raw = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
    model = PAYLOAD_MODELS.get(str(event_type))
    if model is None:
        return raw
    try:
        return model.model_validate(raw).model_dump(mode="json")
    except ValueError as exc:
        raise InvalidInput(f"bad payload for event {event_type!s}: {exc}") from exc
