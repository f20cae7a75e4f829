"""LLM access: one small interface over Ollama's HTTP API (the official async client)."""

from shared.llm.client import ChatBackend, ChatReply, LLMClient, ToolCall, system_and_user

__all__ = ["ChatBackend", "ChatReply", "LLMClient", "ToolCall", "system_and_user"]
