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

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.api.deps import MAX_OFFSET, State
from services.api.responses import errors
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


class ToolSummary(BaseModel):
    name: str
    version: int
    signature: str
    description: str
    created_at: float


class ToolList(BaseModel):
    items: list[ToolSummary]
    total: int


class VersionSummary(BaseModel):
    version: int
    signature: str
    created_at: float
    forge_job_id: str | None


class ToolDetail(BaseModel):
    name: str
    version: int
    signature: str
    docstring: str
    parameters: dict[str, Any]
    source: str
    test_output: str
    spec: str
    created_at: float
    forge_job_id: str | None
    versions: list[VersionSummary]


class InvokeIn(BaseModel):
    args: dict[str, Any] = Field(default_factory=dict, description="keyword arguments, as JSON")
    version: int | None = Field(default=None, ge=1, description="default: the latest version")


class InvokeOut(BaseModel):
    tool: str
    version: int
    value: Any
    duration_s: float


def invoker_of(request: Request, state: State) -> Invoker:
    sandbox: Sandbox | None = getattr(request.app.state, "tool_sandbox", None)
    if sandbox is not None:
        return LocalInvoker(ToolRegistry(state.redis), sandbox)
    return RemoteInvoker(state.redis, INVOKE_TIMEOUT_S)


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ForgeJob)
async def forge_tool(spec: ToolSpec, state: State,
                     idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
    """Queue a forge job for ``spec``; 202 with its record. A repeated ``Idempotency-Key`` returns the first."""
    job, _created = await submit_tool_spec(state.redis, spec, idempotency_key=idempotency_key)
    return JSONResponse(job.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/v1/tools/jobs/{job.id}"})


@router.get("", response_model=ToolList)
async def list_tools(state: State, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                     offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> ToolList:
    """The latest version of each tool, oldest tool first."""
    registry = ToolRegistry(state.redis)
    items = [ToolSummary(name=t.name, version=t.version, signature=t.signature, description=t.description,
                         created_at=t.created_at) for t in await registry.latest(limit, offset)]
    return ToolList(items=items, total=await registry.count())


@router.get("/jobs/{job_id}", response_model=ForgeJob, responses=errors(404))
async def forge_job(job_id: str, state: State) -> ForgeJob:
    """A forge job's status, result and every attempt with its reason."""
    return await ForgeJobStore(state.redis).get(job_id)


@router.get("/{name}", response_model=ToolDetail, responses=errors(404))
async def get_tool(name: str, state: State,
                   version: Annotated[int | None, Query(ge=1)] = None) -> ToolDetail:
    """One version (default: the latest) with its source and test output, and the list of versions."""
    registry = ToolRegistry(state.redis)
    versions = await registry.versions(name)
    tool = await registry.get(name, version)
    return ToolDetail(**tool.model_dump(exclude={"version"}), version=tool.version, versions=[
        VersionSummary(version=v.version, signature=v.signature, created_at=v.created_at,
                       forge_job_id=v.forge_job_id) for v in versions])


@router.post("/{name}/invoke", response_model=InvokeOut, responses=errors(404, 502, 503, 504))
async def invoke(name: str, body: InvokeIn, state: State, request: Request) -> InvokeOut:
    """Run the tool in the sandbox with ``body.args``; its JSON return value, or why not."""
    tool = await ToolRegistry(state.redis).get(name, body.version)  # 404 before anything runs
    check_arguments(tool, body.args)  # InvalidInput: 422 before anything runs
    result = await invoker_of(request, state)(tool.name, body.args, tool.version)
    if result.ok:
        return InvokeOut(tool=tool.name, version=tool.version, value=result.value, duration_s=result.duration_s)
    raise result.exception().with_detail({
        "tool": tool.name, "version": tool.version, "error_type": result.error_type,
        "error": (result.error or "")[-4_000:], "reason": result.reason and result.reason.value})
