"""``services.api.errors``: the one table from errors to statuses, and the bodies it answers with."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.api.errors import STATUS, add_error_handlers, detail_of, status_of
from shared import errors

EXPECTED = {
    "NotFound": 404, "InvalidInput": 422, "CodeRejected": 422, "Conflict": 409,
    "LLMError": 502, "LLMUnreachable": 502, "LLMBadAnswer": 502,
    "SandboxError": 502, "SandboxUnavailable": 503,
    "ToolCallError": 502, "ToolRaised": 422, "ToolRunFailed": 502, "ToolCallTimeout": 504,
    # the worker records these; the API never raises them: an internal error if it ever did
    "BatosError": 500, "FineTuneError": 500, "TrainingError": 500, "DatasetError": 500, "BaseModelError": 500,
    "BackendUnavailableError": 500, "OutputExistsError": 500, "TrainingFailed": 500, "ModelCreationError": 500,
    "UnsupportedArchitecture": 500, "EvaluationError": 500,
}


def test_every_error_of_the_tree_has_its_status() -> None:
    tree = {name for name, cls in vars(errors).items() if isinstance(cls, type) and issubclass(cls, errors.BatosError)}
    assert tree == set(EXPECTED)  # a new class gets its line here and, if the API raises it, in STATUS
    for name, code in EXPECTED.items():
        assert status_of(getattr(errors, name)("x")) == code, name
    assert status_of(RedisConnectionError("down")) == status_of(RedisTimeoutError("slow")) == 503
    assert status_of(ValueError("a bug")) == 500
    assert all(issubclass(cls, errors.BatosError) or cls in (RedisConnectionError, RedisTimeoutError)
               for cls in STATUS)


def test_the_body_is_the_message_or_the_detail() -> None:
    assert detail_of(errors.Conflict("codex proposal p is already rejected")) == "codex proposal p is already rejected"
    assert detail_of(RedisConnectionError("refused")) == "state store unavailable: refused"
    record = {"tool": "divide", "version": 1, "error_type": "ValueError", "error": "division by zero",
              "reason": "error"}
    assert detail_of(errors.ToolRaised("division by zero").with_detail(record)) == record


@pytest.mark.parametrize(("error", "code", "body"), [
    (errors.NotFound("task t not found"), 404, "task t not found"),
    (errors.Conflict("ROBIN has no previous model to roll back to"), 409,
     "ROBIN has no previous model to roll back to"),
    (errors.InvalidInput("divide needs b"), 422, "divide needs b"),
    (errors.SandboxUnavailable("no engine").with_detail({"error_type": "SandboxUnavailable"}), 503,
     {"error_type": "SandboxUnavailable"}),
    (errors.LLMUnreachable("ollama down"), 502, "ollama down"),
    (errors.TrainingFailed("a bug if the API raised it"), 500, "internal error"),
])
async def test_a_route_raising_an_error_answers_its_status(error: Exception, code: int, body: object) -> None:
    app = FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        raise error

    add_error_handlers(app, [r for r in app.routes if isinstance(r, APIRoute)])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.get("/boom")
    assert (answer.status_code, answer.json()) == (code, {"detail": body})
