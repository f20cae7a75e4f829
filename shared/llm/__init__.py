"""LLM access: one small interface over Ollama's HTTP API (the official async client).

- ``chat``: the chat vocabulary (``ChatReply``, ``ToolCall``, ``system_and_user``), the
  ``ChatBackend`` protocol and ``persona_context`` (whose call it is, for the metrics)
- ``structured``: the one parser of an LLM's JSON answers (``read_structured``, ``parse_structured``)
- ``models``: ``ModelInfo``, what the server says about a model
- ``progress``: ``PullProgress``, what the server reports while it pulls a model
- ``client``: ``LLMClient``, chat, structured output, embeddings and model management over Ollama
"""

from shared.llm.chat import ChatBackend, ChatReply, ToolCall, current_persona, persona_context, system_and_user
from shared.llm.client import LLMClient
from shared.llm.models import ModelInfo
from shared.llm.progress import PullProgress
from shared.llm.structured import Unusable, parse_structured, read_structured

__all__ = ["ChatBackend", "ChatReply", "LLMClient", "ModelInfo", "PullProgress", "ToolCall", "Unusable",
           "current_persona", "parse_structured", "persona_context", "read_structured", "system_and_user"]
