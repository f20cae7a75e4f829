"""BRICK answers, ROBIN synthesises: the two persona calls that produce a task's response.

Each persona speaks through the model the registry names *now* (read on every call, so a
fine-tune swap is used from the next task). BRICK's failure is the task's failure (there is
nothing to synthesise); ROBIN's bad answer degrades the task to BRICK's answer, with the
reason recorded. ``LLMUnreachable`` always propagates: the caller retries the whole task.

Tools are step 3: a ``ToolProvider`` may be given, and :meth:`PersonaPipeline._ask` is the one
place a tool-calling loop will go; today the provider's specs are only offered to BRICK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.errors import LLMBadAnswer
from shared.llm import ChatBackend, system_and_user
from shared.personas import PersonaRegistry
from shared.stores.interactions import Contribution


class ToolProvider(Protocol):
    """What the tool registry (step 3) will offer the personas."""

    async def specs(self) -> list[dict[str, Any]]:
        """Ollama tool specs the persona may call."""
        ...


@dataclass
class Answered:
    """The pipeline's product: the final response and what each persona said."""

    response: str
    contributions: list[Contribution]
    degraded: list[str] = field(default_factory=list)

    def said(self, persona: str) -> str | None:
        return next((c.content for c in self.contributions if c.persona == persona), None)


def brick_prompt(task: str, codex: str | None) -> str:
    head = f"The codex you live by:\n{codex}\n\n" if codex else ""
    return f"{head}Task:\n{task}\n\nAnalyse the task and answer it with rigorous, step-by-step logic."


def robin_prompt(task: str, brick: str, codex: str | None) -> str:
    head = f"The codex you live by:\n{codex}\n\n" if codex else ""
    return (f"{head}Task:\n{task}\n\nBRICK's analysis:\n{brick}\n\n"
            "Write the final answer to the task: keep what is sound in BRICK's logic and add what it missed.")


class PersonaPipeline:
    def __init__(self, llm: ChatBackend, personas: PersonaRegistry, tools: ToolProvider | None = None):
        self._llm = llm
        self._personas = personas
        self._tools = tools

    async def run(self, task: str, *, codex: str | None = None) -> Answered:
        brick = await self._ask("BRICK", brick_prompt(task, codex), offer_tools=True)
        try:
            robin = await self._ask("ROBIN", robin_prompt(task, brick.content, codex))
        except LLMBadAnswer as exc:
            reason = f"ROBIN gave no usable answer ({exc}); BRICK's answer stands"
            return Answered(brick.content, [brick], [reason])
        return Answered(robin.content, [brick, robin])

    async def _ask(self, name: str, prompt: str, *, offer_tools: bool = False) -> Contribution:
        persona = self._personas.persona(name)
        model = await self._personas.current_model(name)
        tools = await self._tools.specs() if offer_tools and self._tools is not None else None
        try:
            reply = await self._llm.chat(model, system_and_user(persona.system_prompt, prompt), tools=tools)
        except LLMBadAnswer as exc:
            raise LLMBadAnswer(f"{name} ({model}): {exc}") from exc
        if not reply.content.strip():  # tool calls without text: nothing to answer with (until step 3)
            raise LLMBadAnswer(f"{name} ({model}) gave an empty answer")
        return Contribution(persona=name, model=model, content=reply.content, duration_s=reply.duration_s)
