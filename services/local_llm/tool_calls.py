"""Tool calling: how tools are shown to the model, the grammar its answer follows, and parsing.

The tools go into the system prompt in the common Hermes/Qwen style: a
``<tools>`` list and the instruction to answer with ``<tool_call>{"name": ..., "arguments":
...}</tool_call>``. The answer is then decoded under one EBNF grammar (xgrammar):

    root   ::= calls | text
    calls  ::= call | call "\\n" call | call "\\n" call "\\n" call      (up to 3 in parallel)
    call   ::= "<tool_call>\\n{\\"name\\": \\"NAME_i\\", \\"arguments\\": " ARGS_i "}\\n</tool_call>"
               (one alternative per tool)
    text   ::= [^<] [^]*            (or, with ``format``, that format's JSON grammar)

so the model chooses at its first token between prose and a call; once it starts a call, the
name can only be one of the given tools and the arguments are JSON valid under that tool's
``parameters`` schema (xgrammar's JSON-schema converter, as for ``format``). A grammar was
chosen over xgrammar's structural tags (text with triggered calls inside) because an answer
then is either a reply or calls, which is what Ollama returns (``content`` empty with calls).
Earlier turns are rendered the same way (assistant ``tool_calls`` as ``<tool_call>`` blocks,
``tool`` results as ``<tool_response>`` in a user turn), so a conversation teaches the format.
"""

from __future__ import annotations

import json
import re
from typing import Any

from services.local_llm.schemas import Message, Tool

MAX_PARALLEL_CALLS = 3
CALL_OPEN = '<tool_call>\n{"name": '
CALL_CLOSE = "}\n</tool_call>"
CALL_RE = re.compile(r"<tool_call>\n(\{.*?\})\n</tool_call>", re.DOTALL)

INSTRUCTIONS = (
    "You are a function calling AI model. You are provided with function signatures within <tools></tools> "
    "XML tags. You may call one or more functions to assist with the user query; if none fits, answer in "
    "plain text. For each function call return a JSON object with the function name and arguments within "
    "<tool_call></tool_call> XML tags as follows:\n"
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)


def system_prompt(tools: list[Tool], system: str | None) -> str:
    listing = "\n".join(json.dumps({"type": "function", "function": t.function.model_dump()}) for t in tools)
    head = f"{system}\n\n" if system else ""
    return f"{head}{INSTRUCTIONS}\n<tools>\n{listing}\n</tools>"


def render_call(name: str, arguments: dict[str, Any]) -> str:
    return f"{CALL_OPEN}{json.dumps(name)}, \"arguments\": {json.dumps(arguments)}{CALL_CLOSE}"


def render_messages(messages: list[Message]) -> list[dict[str, str]]:
    """Chat-template messages: tool calls and tool results written in the format above."""
    out: list[dict[str, str]] = []
    for m in messages:
        if m.role == "tool":
            name = f' name="{m.tool_name}"' if m.tool_name else ""
            out.append({"role": "user", "content": f"<tool_response{name}>\n{m.content}\n</tool_response>"})
        elif m.role == "assistant" and m.tool_calls:
            calls = "\n".join(render_call(c.function.name, c.function.arguments) for c in m.tool_calls)
            out.append({"role": "assistant", "content": f"{m.content}\n{calls}" if m.content else calls})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


def parse(text: str) -> tuple[str, list[dict[str, Any]]]:
    """``(content, tool_calls)`` of an answer: Ollama's ``[{"function": {"name", "arguments"}}]``."""
    if not text.startswith("<tool_call>"):
        return text, []
    calls = []
    for raw in CALL_RE.findall(text):
        try:
            call = json.loads(raw)
        except json.JSONDecodeError:  # only a call cut off by a client's stop string
            continue
        calls.append({"function": {"name": call["name"], "arguments": call.get("arguments") or {}}})
    return "", calls


def grammar(xgr: Any, tools: list[Tool], text: Any) -> Any:
    """The xgrammar ``Grammar`` above; ``text`` is the grammar of a non-call answer."""
    def literal(s: str) -> Any:
        return xgr.Grammar.from_ebnf(f"root ::= {json.dumps(s)}")

    calls = []
    for tool in tools:
        params = tool.function.parameters or {"type": "object"}
        args = xgr.Grammar.from_json_schema(json.dumps(params), any_whitespace=False, strict_mode=True)
        head = literal(f'{CALL_OPEN}{json.dumps(tool.function.name)}, "arguments": ')
        calls.append(xgr.Grammar.concat(head, args, literal(CALL_CLOSE)))
    one = xgr.Grammar.union(*calls) if len(calls) > 1 else calls[0]
    sequences = [one]
    for _ in range(MAX_PARALLEL_CALLS - 1):
        sequences.append(xgr.Grammar.concat(sequences[-1], literal("\n"), one))
    return xgr.Grammar.union(*sequences, text)
