"""Ollama's request bodies as pydantic models: wrong types are a 400, unknown keys are ignored.

Field names and meanings follow Ollama's ``docs/api.md``; see this package's README for what is
accepted but not acted on.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Options(Lenient):
    """The model options this server acts on (Ollama's defaults); others are accepted and ignored."""

    temperature: float = Field(default=0.8, ge=0)
    top_p: float = Field(default=0.9, ge=0, le=1)
    top_k: int = 40
    min_p: float = Field(default=0.0, ge=0, le=1)
    num_predict: int | None = None
    seed: int | None = None
    stop: list[str] = Field(default_factory=list)
    repeat_penalty: float = Field(default=1.1, gt=0)
    repeat_last_n: int = Field(default=64, ge=-1)
    num_ctx: int | None = Field(default=None, ge=16)

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class FunctionSpec(Lenient):
    name: str = Field(min_length=1)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class Tool(Lenient):
    type: str = "function"
    function: FunctionSpec


class ToolCallFunction(Lenient):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolCall(Lenient):
    function: ToolCallFunction


class Message(Lenient):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    images: list[Any] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_name: str | None = None
    thinking: str | None = None


Format = Literal["json", ""] | dict[str, Any] | None


class ModelRequest(Lenient):
    model: str = ""
    keep_alive: float | str | None = None

    @field_validator("model", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


class Generating(ModelRequest):
    """What chat and generate share."""

    format: Format = None
    options: Options = Field(default_factory=Options)
    stream: bool = True
    think: bool | str | None = None

    @field_validator("options", mode="before")
    @classmethod
    def _null_options(cls, value: Any) -> Any:
        return {} if value is None else value


class ChatRequest(Generating):
    messages: list[Message] = Field(default_factory=list)
    tools: list[Tool] | None = None


class GenerateRequest(Generating):
    prompt: str = ""
    suffix: str = ""
    system: str | None = None
    template: str | None = None
    context: list[int] | None = None
    raw: bool = False
    images: list[Any] | None = None


class EmbedRequest(ModelRequest):
    input: str | list[str] = Field(default_factory=list)
    truncate: bool = True
    dimensions: int | None = Field(default=None, ge=1)
    options: dict[str, Any] | None = None


class EmbeddingsRequest(ModelRequest):
    prompt: str = ""
    options: dict[str, Any] | None = None


class NamedRequest(ModelRequest):
    """show / delete: ``model`` (``name`` is the older spelling)."""

    name: str = ""
    verbose: bool = False

    def target(self) -> str:
        return self.model or self.name.strip()


class CreateRequest(ModelRequest):
    from_: str | None = Field(default=None, alias="from")
    adapters: dict[str, str] | None = None
    files: dict[str, str] | None = None
    system: str | None = None
    template: str | None = None
    license: str | list[str] | None = None
    parameters: dict[str, Any] | None = None
    messages: list[Message] | None = None
    quantize: str | None = None
    stream: bool = True
    name: str = ""  # older spelling of model

    def target(self) -> str:
        return self.model or self.name.strip()


class CopyRequest(Lenient):
    source: str = Field(min_length=1)
    destination: str = Field(min_length=1)
