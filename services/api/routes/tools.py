"""``/v1/tools``: submit a tool spec to the forge, read tools and forge jobs, invoke a tool.

Invocation runs the tool's registered source in the sandbox (``shared.tools.invoke_tool``); the
API never imports it. The sandbox is made on first use from ``BATOS_SANDBOX_*`` settings, or is
the ``Sandbox`` placed on ``app.state.tool_sandbox`` before start-up (tests). Errors: unknown
tool or job 404; arguments that do not fit the tool 422; the tool raising 422 with its error;
the tool timing out, exceeding memory or output 502; no sandbox 503.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.api.deps import State
from shared.errors import InvalidInput
from shared.sandbox import Reason, Sandbox, SandboxSettings
from shared.tools import ForgeJob, ForgeJobStore, ToolRegistry, ToolSpec, invoke_tool, submit_tool_spec

router = APIRouter(prefix="/v1/tools", tags=["tools"])
_TOOL_FAILURES = {Reason.OK.value, Reason.ERROR.value}  # the function itself raised


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


def sandbox_of(request: Request) -> Sandbox:
    box: Sandbox | None = getattr(request.app.state, "tool_sandbox", None)
    if box is None:
        box = request.app.state.tool_sandbox = Sandbox(SandboxSettings())
    return box


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ForgeJob)
async def forge_tool(spec: ToolSpec, state: State,
                     idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
    """Queue a forge job for ``spec``; 202 with its record. A repeated ``Idempotency-Key`` returns the first."""
    job, _created = await submit_tool_spec(state.redis, spec, idempotency_key=idempotency_key)
    return JSONResponse(job.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/v1/tools/jobs/{job.id}"})


@router.get("", response_model=ToolList)
async def list_tools(state: State, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                     offset: Annotated[int, Query(ge=0)] = 0) -> ToolList:
    """The latest version of each tool, oldest tool first."""
    registry = ToolRegistry(state.redis)
    items = [ToolSummary(name=t.name, version=t.version, signature=t.signature, description=t.description,
                         created_at=t.created_at) for t in await registry.latest(limit, offset)]
    return ToolList(items=items, total=await registry.count())


@router.get("/jobs/{job_id}", response_model=ForgeJob)
async def forge_job(job_id: str, state: State) -> ForgeJob:
    """A forge job's status, result and every attempt with its reason."""
    return await ForgeJobStore(state.redis).get(job_id)


@router.get("/{name}", response_model=ToolDetail)
async def get_tool(name: str, state: State,
                   version: Annotated[int | None, Query(ge=1)] = None) -> ToolDetail:
    """One version (default: the latest) with its source and test output, and the list of versions."""
    registry = ToolRegistry(state.redis)
    versions = await registry.versions(name)
    tool = await registry.get(name, version)
    return ToolDetail(**tool.model_dump(exclude={"version"}), version=tool.version, versions=[
        VersionSummary(version=v.version, signature=v.signature, created_at=v.created_at,
                       forge_job_id=v.forge_job_id) for v in versions])


@router.post("/{name}/invoke", response_model=InvokeOut)
async def invoke(name: str, body: InvokeIn, state: State, request: Request) -> InvokeOut:
    """Run the tool in the sandbox with ``body.args``; its JSON return value, or why not."""
    try:
        tool, result = await invoke_tool(ToolRegistry(state.redis), sandbox_of(request), name, body.args,
                                         version=body.version)
    except InvalidInput as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    if result.ok:
        duration = result.sandbox.duration_s if result.sandbox else 0.0
        return InvokeOut(tool=tool.name, version=tool.version, value=result.value, duration_s=duration)
    detail = {"tool": tool.name, "version": tool.version, "error_type": result.error_type,
              "error": (result.error or "")[-4_000:]}
    if result.error_type == "SandboxUnavailable":
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail)
    run_reason = result.sandbox.reason.value if result.sandbox else Reason.ERROR.value
    if run_reason in _TOOL_FAILURES and result.error_type not in ("ProtocolError",):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)
    raise HTTPException(status.HTTP_502_BAD_GATEWAY, detail)
