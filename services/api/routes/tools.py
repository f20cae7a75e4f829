"""``/v1/tools``: submit a tool spec to the forge, read tools and forge jobs, invoke a tool.

The API never runs a tool's code, nor holds the Docker engine: it checks the call against the
registry (unknown tool 404, arguments that do not fit 422) and hands it to a tool-forge worker
(``RemoteInvoker``), which runs it in the sandbox. A ``Sandbox`` placed on
``app.state.tool_sandbox`` before start-up makes the API run calls in it itself (tests). A
failed call is raised as its ``shared.errors`` class with the call's record as ``detail``
(``ToolCallResult.exception``), so ``services.api.errors`` gives the status: the tool raising
422 with its error type; the run timing out, exceeding memory or output 502; no sandbox 503;
no worker answering in time 504.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import MAX_OFFSET, State
from services.api.responses import error, errors
from shared.tools import (
    ForgeJob,
    ForgeJobStore,
    Invoker,
    LocalInvoker,
    RemoteInvoker,
    ToolRegistry,
    ToolSpec,
    check_arguments,
    submit_tool_spec,
)

if TYPE_CHECKING:
    from shared.sandbox.runner import Sandbox

router = APIRouter(prefix="/v1/tools", tags=["tools"])
INVOKE_TIMEOUT_S = 60.0  # queueing at a busy worker plus the sandbox's own wall clock


SIGNATURE = "add(a: int, b: int) -> int"
SOURCE = 'def add(a: int, b: int) -> int:\n    """Add two integers."""\n    return a + b\n'
PARAMETERS: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
              "required": ["a", "b"], "additionalProperties": False}
JOB_ID = "6f1d2c3b4a5e4f60a7b8c9d0e1f2a3b4"


class ToolSummary(BaseModel):
    """A tool's latest version, in brief."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "add", "version": 1, "signature": SIGNATURE, "description": "Add two integers.",
        "created_at": 1767225605.0}]})

    name: str = Field(description="the function's name: how it is called")
    version: int = Field(description="the latest version")
    signature: str = Field(description="the function's signature")
    description: str = Field(description="the first line of its docstring")
    created_at: float = Field(description="Unix time (s) this version was registered")


class ToolList(BaseModel):
    """A page of tools (each at its latest version) and how many there are."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [ToolSummary.model_json_schema()["examples"][0]], "total": 1}]})

    items: list[ToolSummary] = Field(description="oldest tool first")
    total: int = Field(description="tools registered, on every page")


class ToolVersionSummary(BaseModel):
    """One registered version of a tool, in brief."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "version": 1, "signature": SIGNATURE, "created_at": 1767225605.0, "forge_job_id": JOB_ID}]})

    version: int = Field(description="1 for the first")
    signature: str = Field(description="the function's signature in this version")
    created_at: float = Field(description="Unix time (s) it was registered")
    forge_job_id: str | None = Field(description="the forge job that made it")


class ToolDetail(BaseModel):
    """One version of a tool, in full, and the list of its versions."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "add", "version": 1, "signature": SIGNATURE, "docstring": "Add two integers.",
        "parameters": PARAMETERS, "source": SOURCE, "test_output": "1 passed in 0.01s",
        "spec": "adds two integers and returns their sum", "created_at": 1767225605.0, "forge_job_id": JOB_ID,
        "versions": [ToolVersionSummary.model_json_schema()["examples"][0]]}]})

    name: str = Field(description="the function's name: how it is called")
    version: int = Field(description="this version")
    signature: str = Field(description="the function's signature")
    docstring: str = Field(description="the function's docstring")
    parameters: dict[str, Any] = Field(description="the JSON Schema its arguments are checked against")
    source: str = Field(description="the function's source code")
    test_output: str = Field(description="its tests' output in the sandbox when it was forged")
    spec: str = Field(description="the spec it was forged from")
    created_at: float = Field(description="Unix time (s) this version was registered")
    forge_job_id: str | None = Field(description="the forge job that made it")
    versions: list[ToolVersionSummary] = Field(description="every version, oldest first")


class InvokeIn(BaseModel):
    """A call of a tool: its arguments, and optionally which version."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"args": {"a": 2, "b": 2}}]})

    args: dict[str, Any] = Field(default_factory=dict, description="keyword arguments, as JSON",
                                 examples=[{"a": 2, "b": 2}])
    version: int | None = Field(default=None, ge=1, description="default: the latest version", examples=[1])


class InvokeOut(BaseModel):
    """What the call returned."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"tool": "add", "version": 1, "value": 4, "duration_s": 0.21}]})

    tool: str = Field(description="the tool called")
    version: int = Field(description="the version that ran")
    value: Any = Field(description="its return value, as JSON")
    duration_s: float = Field(description="seconds the call took in the sandbox")


def invoker_of(request: Request, state: State) -> Invoker:
    sandbox: Sandbox | None = getattr(request.app.state, "tool_sandbox", None)
    if sandbox is not None:
        return LocalInvoker(ToolRegistry(state.redis), sandbox)
    return RemoteInvoker(state.redis, INVOKE_TIMEOUT_S)


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ForgeJob, summary="Forge a tool",
             response_description="the forge job, queued (or the job first created with this Idempotency-Key)",
             responses={202: {"headers": {"Location": {"description": "the forge job: /v1/tools/jobs/{id}",
                                                       "schema": {"type": "string"}}}}})
async def forge_tool(spec: ToolSpec, state: State, idempotency_key: Annotated[str | None, Header(
        max_length=200, description="a repeated key returns the job first created with it", examples=["tool-add-1"],
)] = None) -> JSONResponse:
    """Queue a forge job for ``spec``; 202 with its record and ``Location``. BRICK writes the function
    and its tests, the sandbox runs them, and on success the tool is registered (``tool_name``,
    ``version``); poll ``GET /v1/tools/jobs/{id}``. A repeated ``Idempotency-Key`` returns the first job."""
    job, _created = await submit_tool_spec(state.redis, spec, idempotency_key=idempotency_key)
    return JSONResponse(job.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/v1/tools/jobs/{job.id}"})


@router.get("", response_model=ToolList, summary="List tools")
async def list_tools(state: State, limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 100,
                     offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="tools to skip")] = 0) -> ToolList:
    """The latest version of each registered tool, oldest tool first, a page at a time."""
    registry = ToolRegistry(state.redis)
    items = [ToolSummary(name=t.name, version=t.version, signature=t.signature, description=t.description,
                         created_at=t.created_at) for t in await registry.latest(limit, offset)]
    return ToolList(items=items, total=await registry.count())


@router.get("/jobs/{job_id}", response_model=ForgeJob, responses=errors(404), summary="Read a forge job")
async def forge_job(job_id: Annotated[str, Path(description="the forge job's id", examples=[JOB_ID])],
                    state: State) -> ForgeJob:
    """A forge job's status, result and every attempt with its reason (404 if unknown)."""
    return await ForgeJobStore(state.redis).get(job_id)


@router.get("/{name}", response_model=ToolDetail, responses=errors(404), summary="Read a tool")
async def get_tool(name: Annotated[str, Path(description="the tool's name", examples=["add"])], state: State,
                   version: Annotated[int | None, Query(ge=1, description="default: the latest")] = None) -> ToolDetail:
    """One version of a tool (default: the latest) with its source and test output, and the list of
    its versions (404 if there is no such tool or version)."""
    registry = ToolRegistry(state.redis)
    versions = await registry.versions(name)
    tool = await registry.get(name, version)
    return ToolDetail(**tool.model_dump(exclude={"version"}), version=tool.version, versions=[
        ToolVersionSummary(version=v.version, signature=v.signature, created_at=v.created_at,
                       forge_job_id=v.forge_job_id) for v in versions])


@router.post("/{name}/invoke", response_model=InvokeOut, summary="Call a tool", responses={
    **errors(404), 422: error(422, "invalid body, arguments that do not fit the tool's parameters, or the tool "
                                   "raised (detail: the call's record with error_type and error)"),
    502: error(502, "the run timed out or exceeded its memory or output limit (detail: the call's record)"),
    503: error(503, "no sandbox, Redis unavailable, or too many connections"),
    504: error(504, "no tool-forge worker answered in time")})
async def invoke(name: Annotated[str, Path(description="the tool's name", examples=["add"])], body: InvokeIn,
                 state: State, request: Request) -> InvokeOut:
    """Run the tool in the sandbox with ``body.args`` (checked against its parameters first); its JSON
    return value, or why not: the tool raising 422, the run cut short 502, no sandbox 503, no worker
    answering in time 504, each with the call's record as ``detail``."""
    tool = await ToolRegistry(state.redis).get(name, body.version)  # 404 before anything runs
    check_arguments(tool, body.args)  # InvalidInput: 422 before anything runs
    result = await invoker_of(request, state)(tool.name, body.args, tool.version)
    if result.ok:
        return InvokeOut(tool=tool.name, version=tool.version, value=result.value, duration_s=result.duration_s)
    raise result.exception().with_detail({
        "tool": tool.name, "version": tool.version, "error_type": result.error_type,
        "error": (result.error or "")[-4_000:], "reason": result.reason and result.reason.value})
