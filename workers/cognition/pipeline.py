"""BRICK answers, ROBIN synthesises: the two persona calls that produce a task's response.

Each persona speaks through the model the registry names *now* (read on every call, so a
fine-tune swap is used from the next task). BRICK's failure is the task's failure (there is
nothing to synthesise); ROBIN's bad answer degrades the task to BRICK's answer, with the
reason recorded. ``LLMUnreachable`` always propagates: the caller retries the whole task.

Tools: a ``ToolProvider`` (``shared.tools.ToolBox``) may be given; BRICK then answers through
its bounded tool-calling loop, and every tool call runs in the sandbox, never in this process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.errors import LLMBadAnswer
from shared.llm import ChatBackend, ChatReply, persona_context, system_and_user
from shared.personas import PersonaRegistry
from shared.stores.interactions import Contribution


class ToolProvider(Protocol):
    """What the tool registry offers the personas (``shared.tools.ToolBox``)."""

    async def chat(self, llm: ChatBackend, model: str, messages: list[dict[str, Any]]) -> ChatReply:
        """The persona's final answer after the tool calls it made (run in the sandbox)."""
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

    async def run(self, task: str, *, codex: str | None = None,
                  on_answer: Callable[[Contribution], Awaitable[None]] | None = None) -> Answered:
        """BRICK, then ROBIN; ``on_answer`` hears each usable answer as soon as it is given."""
        brick = await self._ask("BRICK", brick_prompt(task, codex), offer_tools=True)
        if on_answer is not None:
            await on_answer(brick)
        try:
            robin = await self._ask("ROBIN", robin_prompt(task, brick.content, codex))
        except LLMBadAnswer as exc:
            reason = f"ROBIN gave no usable answer ({exc}); BRICK's answer stands"
            return Answered(brick.content, [brick], [reason])
        if on_answer is not None:
            await on_answer(robin)
        return Answered(robin.content, [brick, robin])

    async def _ask(self, name: str, prompt: str, *, offer_tools: bool = False) -> Contribution:
        persona = self._personas.persona(name)
        model = await self._personas.current_model(name)
        messages = system_and_user(persona.system_prompt, prompt)
        try:
            with persona_context(name):
                if offer_tools and self._tools is not None:
                    reply = await self._tools.chat(self._llm, model, messages)
                else:
                    reply = await self._llm.chat(model, messages)
        except LLMBadAnswer as exc:
            raise LLMBadAnswer(f"{name} ({model}): {exc}") from exc
        if not reply.content.strip():  # tool calls without text: nothing to answer with
            raise LLMBadAnswer(f"{name} ({model}) gave an empty answer")
        return Contribution(persona=name, model=model, content=reply.content, duration_s=reply.duration_s)
