"""The error tree: a caller can tell which part failed, and how.

    BatosError
    ├── LLMError
    │   ├── LLMUnreachable      the Ollama server did not answer (connection, timeout)
    │   └── LLMBadAnswer        it answered, but with an HTTP error or nothing usable
    ├── SandboxError            the sandbox refused or could not run the code
    ├── NotFound                a record (task, tool, dataset ...) does not exist
    └── InvalidInput            a request or payload broke a rule; the message says which
"""

from __future__ import annotations


class BatosError(Exception):
    """Base of every error raised on purpose by BAT OS code."""


class LLMError(BatosError):
    """The LLM could not give a usable answer."""


class LLMUnreachable(LLMError):
    """No answer from the LLM server: connection refused, reset or timed out."""


class LLMBadAnswer(LLMError):
    """The LLM server answered with an error status, an empty reply or unparseable output."""


class SandboxError(BatosError):
    """The sandbox refused or could not run untrusted code."""


class NotFound(BatosError):
    """The record asked for does not exist."""


class InvalidInput(BatosError):
    """Input broke a validation rule; the message names the rule."""
