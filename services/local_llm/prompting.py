"""From a request to the prompt's token ids, with the tokenizer's own chat template.

A chat's system prompt is, in order of precedence: the request's system messages, else the
model tag's ``system`` (from ``/api/create``), else the template's default. Tools are described
in the system prompt (``tool_calls``). A prompt longer than the context loses its oldest
non-system turns first, then its oldest tokens, as Ollama truncates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.local_llm import tool_calls
from services.local_llm.schemas import Message, Tool

JSON_HINT = "Answer with a JSON object only."


@dataclass
class PromptSpec:
    messages: list[Message] | None = None  # a chat
    prompt: str = ""  # a completion (``/api/generate``)
    system: str | None = None  # /api/generate's system, or the tag's default system prompt
    raw: bool = False
    tools: list[Tool] = field(default_factory=list)
    json_hint: bool = False


def chat_messages(spec: PromptSpec) -> list[dict[str, str]]:
    if spec.messages is None:
        messages = [Message(role="user", content=spec.prompt)]
    else:
        messages = list(spec.messages)
    systems = [m.content for m in messages if m.role == "system"]
    rest = [m for m in messages if m.role != "system"]
    system = "\n\n".join(systems) if systems else spec.system
    if spec.tools:
        system = tool_calls.system_prompt(spec.tools, system)
    if spec.json_hint and (system is None or "json" not in system.lower()):
        system = f"{system}\n\n{JSON_HINT}" if system else JSON_HINT
    head = [{"role": "system", "content": system}] if system is not None else []
    return head + tool_calls.render_messages(rest)


def encode(tokenizer: Any, spec: PromptSpec, num_ctx: int, reserve: int) -> list[int]:
    """Prompt ids leaving ``reserve`` tokens of the context for the answer."""
    limit = max(num_ctx - reserve, 8)
    if spec.raw:
        return list(tokenizer(spec.prompt, add_special_tokens=False)["input_ids"])[-limit:]
    messages = chat_messages(spec)
    while True:
        ids = list(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                 return_dict=True)["input_ids"])
        if len(ids) <= limit:
            return ids
        droppable = [i for i, m in enumerate(messages[:-1]) if m["role"] != "system"]
        if not droppable:
            return ids[-limit:]
        del messages[droppable[0]]
