"""The error tree: a caller can tell which part failed, and how.

Every error BAT OS raises on purpose is a ``BatosError``, defined here and nowhere else; the
right column is the HTTP status the API answers with (``services.api.errors.STATUS``, the one
place that maps errors to statuses; nothing: an internal error, 500)::

    BatosError
    ├── LLMError                    502  the LLM could not give a usable answer
    │   ├── LLMUnreachable               the Ollama server did not answer (connection, timeout)
    │   └── LLMBadAnswer                 it answered, but with an HTTP error or nothing usable
    ├── SandboxError                502  the sandbox could not run the code
    │   └── SandboxUnavailable      503  no Docker engine, runtime or image: nothing ran
    ├── ToolCallError               502  a tool call gave no value (``detail``: the call's record)
    │   ├── ToolRaised              422  the tool's own function raised (its type: error_type)
    │   ├── ToolRunFailed           502  the run was cut short, left no readable result, or the
    │   │                                worker running it failed
    │   └── ToolCallTimeout         504  no tool-forge worker answered in time
    ├── NotFound                    404  a record (task, tool, dataset ...) does not exist
    ├── InvalidInput                422  a request or payload broke a rule; the message says which
    │   └── CodeRejected                 forged code broke a tool rule (fed back to BRICK)
    ├── Conflict                    409  the request clashes with the current state (already
    │                                    decided, nothing to roll back, sealed for another persona)
    └── FineTuneError                    a fine-tune stage failed (the worker records it, no HTTP)
        ├── TrainingError                training produced no adapter (raised in the training process)
        │   ├── DatasetError             the version is missing, empty or not in the contract format
        │   ├── BaseModelError           the base model or its tokenizer cannot be loaded
        │   ├── BackendUnavailableError  the backend's libraries are not importable in this process
        │   └── OutputExistsError        output_dir already holds an adapter (the job ran before)
        ├── TrainingFailed               the training process exited without an adapter
        ├── ModelCreationError           Ollama upload, create or show failed
        │   └── UnsupportedArchitecture  the base takes no safetensors adapter, the GGUF route is off
        └── EvaluationError              the gate could not be run (no held-out samples, no verdict)

What is data, not an exception: a sandbox run's ending (``shared.sandbox.Reason``) and a failed
tool call's ``error_type`` (``shared.sandbox.ErrorType``, a ``Reason`` value, or the tool's own
exception name); a caller that must stop raises the matching class here (``SandboxUnavailable``,
``ToolCallResult.exception()``). Outside the tree on purpose, each with its own protocol:
``services.local_llm.errors.ApiError`` (Ollama's error answers), ``services.docker_guard.policy.Refused``
(403 to the engine's client), ``cli.client.CliError`` (exit codes) and
``services.model_setup.setup.SetupError``.

Errors are raised with one message; the API answers ``{"detail": message}``, or
``{"detail": error.detail}`` when an error carries a structured ``detail`` (a failed tool call).
The class names travel too (fine-tune failure reasons, tool-call error types): a renamed class
changes what users read.
"""

from __future__ import annotations

from typing import Any, Self


class BatosError(Exception):
    """Base of every error raised on purpose by BAT OS code.

    ``detail``: a structured body for the API's answer (``{"detail": ...}``); None: the message.
    """

    detail: dict[str, Any] | None = None

    def with_detail(self, detail: dict[str, Any]) -> Self:
        """This error carrying ``detail`` (for ``raise NotFound(msg).with_detail(record)``)."""
        self.detail = detail
        return self


# -- the LLM ----------------------------------------------------------------------------------
class LLMError(BatosError):
    """The LLM could not give a usable answer."""


class LLMUnreachable(LLMError):
    """No answer from the LLM server: connection refused, reset or timed out."""


class LLMBadAnswer(LLMError):
    """The LLM server answered with an error status, an empty reply or unparseable output."""


# -- the sandbox and tool calls ---------------------------------------------------------------
class SandboxError(BatosError):
    """The sandbox refused or could not run untrusted code."""


class SandboxUnavailable(SandboxError):
    """The sandbox could not run anything: no Docker engine, no runtime or no image.

    Nobody's fault in the code: the tool forge retries the job instead of using up an attempt.
    """


class ToolCallError(BatosError):
    """A tool call returned no value; ``detail`` holds the call's record when raised by the API."""


class ToolRaised(ToolCallError):
    """The tool's own function raised; the call's ``error_type`` names the exception."""


class ToolRunFailed(ToolCallError):
    """The run was cut short (wall clock, memory, output, runtime crash), its result line was
    unreadable, or the worker running the call failed."""


class ToolCallTimeout(ToolCallError):
    """No tool-forge worker ran the call within the caller's time."""


# -- requests and records ---------------------------------------------------------------------
class NotFound(BatosError):
    """The record asked for does not exist."""


class InvalidInput(BatosError):
    """Input broke a validation rule; the message names the rule."""


class CodeRejected(InvalidInput):
    """The code broke a tool rule; the message says which and how to fix it (fed back to BRICK)."""


class Conflict(BatosError):
    """The request is well-formed but clashes with the current state (already decided, nothing to
    roll back to, swapped meanwhile, sealed for another persona, files no longer as sealed)."""


# -- fine-tuning ------------------------------------------------------------------------------
class FineTuneError(BatosError):
    """A fine-tune stage failed; the worker records ``<stage>: <class name>: <message>``."""


class TrainingError(FineTuneError):
    """Training did not produce an adapter; ``output_dir`` was left untouched."""


class DatasetError(TrainingError):
    """The dataset version is missing, empty or malformed."""


class BaseModelError(TrainingError):
    """The base model (or its tokenizer) could not be loaded."""


class BackendUnavailableError(TrainingError):
    """The requested backend's libraries cannot be imported here."""


class OutputExistsError(TrainingError):
    """``output_dir`` already exists: a finished adapter is never overwritten."""


class TrainingFailed(FineTuneError):
    """The training process exited without an adapter; the message says why."""


class ModelCreationError(FineTuneError):
    """No Ollama model was created (or it could not be verified)."""


class UnsupportedArchitecture(ModelCreationError):
    """The base's architecture takes no safetensors adapter and the GGUF route is off."""


class EvaluationError(FineTuneError):
    """The gate could not be run (no held-out samples, unreadable file, no usable verdict)."""
