"""The errors a request can end in, each with the HTTP status Ollama gives it.

    ApiError                 {"error": message} with .status
    ├── BadRequest     400   malformed body, wrong types, unsupported field, bad adapter, bad schema
    ├── ModelNotFound  404   "model 'x' not found" (Ollama's wording)
    ├── BlobNotFound   404   HEAD of a blob this server does not have
    ├── ServerBusy     503   the waiting queue is full (Ollama's "server busy ..." message)
    ├── LoadFailed     500   the model could not be loaded (Ollama answers a failed load with 500)
    └── ClientGone     499   the client went away before its answer (Ollama's "request canceled")
"""

from __future__ import annotations


class ApiError(Exception):
    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    status = 400


class ModelNotFound(ApiError):
    status = 404

    def __init__(self, name: str):
        super().__init__(f"model '{name}' not found")


class BlobNotFound(ApiError):
    status = 404


class ServerBusy(ApiError):
    status = 503


class LoadFailed(ApiError):
    status = 500


class ClientGone(ApiError):
    """The client disconnected before its answer (Ollama answers a canceled request 499)."""

    status = 499

    def __init__(self) -> None:
        super().__init__("request canceled")
