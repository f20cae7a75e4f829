"""ALFRED's verdict on how far BRICK and ROBIN disagree: a structured (JSON-schema) answer.

The score is in [0, 1]; the schema is sent to Ollama as ``format=`` and the answer is validated
against it, so an answer that is not JSON, or is out of range, is ``LLMBadAnswer``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.llm import ChatBackend, persona_context, system_and_user
from shared.llm.client import parse_structured
from shared.personas import PersonaRegistry


class DissonanceVerdict(BaseModel):
    dissonance: float = Field(ge=0.0, le=1.0, description="0: BRICK and ROBIN agree; 1: they contradict")
    reason: str = Field(default="", max_length=300, description="one sentence: where they disagree, if anywhere")


def verdict_prompt(task: str, brick: str, robin: str) -> str:
    return (f"Task:\n{task}\n\nBRICK's answer:\n{brick}\n\nROBIN's answer:\n{robin}\n\n"
            "How far do BRICK and ROBIN disagree about the substance (not the style)? Answer in JSON: "
            '{"dissonance": <0.0 agree .. 1.0 contradict>, "reason": "<one sentence>"}')


async def judge_dissonance(llm: ChatBackend, personas: PersonaRegistry, task: str, brick: str,
                           robin: str) -> tuple[DissonanceVerdict, str]:
    """ALFRED's verdict and the model that gave it."""
    model = await personas.current_model("ALFRED")
    messages = system_and_user(personas.persona("ALFRED").system_prompt, verdict_prompt(task, brick, robin))
    with persona_context("ALFRED"):
        reply = await llm.chat(model, messages, format=DissonanceVerdict.model_json_schema())
    return parse_structured(reply.content, DissonanceVerdict), model
