"""The ``batos`` Typer app: one command group per area of the HTTP API.

Every failure is one line on stderr, ``error: ...``: exit 1 when the API answered with an error
(or the task / fine-tune waited on failed), 2 when the API could not be reached.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from typer.core import TyperGroup

from cli import render
from cli.client import EXIT_API_ERROR, Client, CliError, error_message, resolve
from cli.events import Event, EventStream, eta, line

POLL_S = 2.0  # how often a wait re-reads the record besides listening to events
DRAIN_S = 0.3  # after the record says it ended: how long to wait for the stream's trailing events
TASK_EVENTS = ("persona_answered", "task_completed", "task_failed", "high_cognitive_dissonance")
FINE_TUNE_END_EVENTS = ("model_tuned", "model_rejected", "fine_tune_failed", "fine_tune_superseded")
FINE_TUNE_TERMINAL = ("swapped", "rejected", "failed", "superseded")
TASK_STATUSES = ("queued", "running", "succeeded", "failed")
PIPED_WIDTH = 160
console = Console(highlight=False)


class BatosGroup(TyperGroup):
    """Turns a ``CliError`` anywhere below into one line on stderr and its exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as exc:
            print(f"error: {exc.message}", file=sys.stderr, flush=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


app = typer.Typer(cls=BatosGroup, help="BAT OS engine from the command line, over its HTTP API.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
tools_app = typer.Typer(help="Forge tools from a spec, list them, call one.", no_args_is_help=True)
fine_tune_app = typer.Typer(help="Fine-tunes: list, start, watch.", no_args_is_help=True)
personas_app = typer.Typer(help="The personas' current models; roll one back.")
codex_app = typer.Typer(help="The codex and the amendments proposed to it (a human decides).")
app.add_typer(tools_app, name="tools")
app.add_typer(fine_tune_app, name="fine-tune")
app.add_typer(personas_app, name="personas")
app.add_typer(codex_app, name="codex")


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(envvar="BATOS_URL", show_envvar=True,
                                            help="API URL (else `url` in the config file, else "
                                                 "http://127.0.0.1:8080)")] = None,
    token: Annotated[str | None, typer.Option(envvar="BATOS_API_TOKEN", show_envvar=True,
                                              help="bearer token (else `token` in the config file, else "
                                                   "var/api_token)")] = None,
) -> None:
    """Config file: BATOS_CONFIG, else ~/.config/batos/config.toml, with `url` and `token` keys."""
    ctx.obj = {"url": url, "token": token}
    if not console.is_terminal:  # piped: rich would cut tables at 80 columns
        columns = os.environ.get("COLUMNS", "")
        console.width = int(columns) if columns.isdigit() else PIPED_WIDTH


def client(ctx: typer.Context, timeout_s: float = 30.0) -> Client:
    root_ctx = ctx.find_root()
    options = root_ctx.obj or {}
    return Client(resolve(options.get("url"), options.get("token")), timeout_s=timeout_s)


def next_event(stream: EventStream, wait_s: float) -> Event | None:
    """The next event within ``wait_s``; once the stream has ended, just wait (polling takes over)."""
    if stream.closed:
        time.sleep(max(wait_s, 0.0))
        return None
    return stream.next(wait_s)


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


# --- tasks -----------------------------------------------------------------------------------------------
@app.command()
def task(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="what to ask the personas")],
    wait: Annotated[bool, typer.Option("--wait", "-w", help="follow the task until it is answered")] = False,
    timeout: Annotated[float, typer.Option(help="with --wait: give up after this many seconds")] = 600.0,
    idempotency_key: Annotated[str | None, typer.Option(help="a repeat with the same key returns the first task")
                               ] = None,
) -> None:
    """Submit a task. With --wait: follow it and print each persona's answer and the dissonance.

    --wait prints BRICK's and ROBIN's answers and ALFRED's dissonance as each arrives
    (persona_answered events), then the task's end (task_completed or task_failed); it also
    re-reads GET /v1/tasks/{id} every 2 s, and prints from the finished record whatever the
    stream did not bring. Exit 1 if the task failed.
    """
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    with client(ctx) as api:
        if not wait:
            record = api.post("/v1/tasks", json={"text": text}, headers=headers)
            console.print(f"task {record['id']} {record['status']}")
            return
        with EventStream(api, TASK_EVENTS) as stream:  # subscribed before submitting: nothing is missed
            record = api.post("/v1/tasks", json={"text": text}, headers=headers)
            task_id, status = record["id"], record["status"]
            console.print(f"task {task_id} {status}")
            deadline = time.monotonic() + timeout
            next_poll = time.monotonic() + POLL_S
            shown: dict[str, int] = {}  # persona -> the attempt whose answer was printed as it came
            while status not in ("succeeded", "failed"):
                now = time.monotonic()
                if now > deadline:
                    raise CliError(f"task {task_id} is still {status} after {timeout:g} s")
                wait_s = min(next_poll, deadline) - now
                event = next_event(stream, wait_s)
                if event is not None and event.data.get("task_id") == task_id:
                    if event.type == "persona_answered":
                        shown[str(event.data.get("persona"))] = int(event.data.get("attempt") or 1)
                        console.print(render.persona_answer(event.data))
                        continue
                    console.print(line(event))
                    if event.type in ("task_completed", "task_failed"):
                        break
                if time.monotonic() >= next_poll:
                    record = api.get(f"/v1/tasks/{task_id}")
                    if record["status"] != status:
                        status = record["status"]
                        console.print(f"task {task_id} {status}")
                    next_poll = time.monotonic() + POLL_S
        record = api.get(f"/v1/tasks/{task_id}")
        final = {persona for persona, attempt in shown.items() if attempt == record.get("attempts")}
        console.print(render.task_answer(record, shown=final))  # what the stream did not bring
        if record["status"] == "failed":
            raise typer.Exit(EXIT_API_ERROR)


@app.command()
def tasks(
    ctx: typer.Context,
    task_id: Annotated[str | None, typer.Argument(help="show this task in full")] = None,
    status: Annotated[str | None, typer.Option(help="queued, running, succeeded or failed")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="the API's JSON")] = False,
) -> None:
    """List tasks, newest first (or show one)."""
    with client(ctx) as api:
        if task_id is not None:
            record = api.get(f"/v1/tasks/{task_id}")
            print_json(record) if as_json else console.print(render.task_detail(record))
            return
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status:
            params["status"] = status
        body = api.get("/v1/tasks", params=params)
        print_json(body) if as_json else console.print(render.tasks_table(body["items"], body["total"]))


# --- events ----------------------------------------------------------------------------------------------
@app.command()
def events(
    ctx: typer.Context,
    type_: Annotated[list[str] | None, typer.Option("--type", "-t", help="only this event type (repeatable)")] = None,
    max_: Annotated[int | None, typer.Option("--max", min=1, help="stop after this many events")] = None,
    for_: Annotated[float | None, typer.Option("--for", min=0, help="stop after this many seconds")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON envelope per line")] = False,
) -> None:
    """Follow the event bus live, one readable line per event (Ctrl-C to stop)."""
    seen = 0
    with client(ctx) as api, EventStream(api, type_ or ()) as stream:
        deadline = time.monotonic() + for_ if for_ is not None else None
        while max_ is None or seen < max_:
            wait_s = 1.0 if deadline is None else deadline - time.monotonic()
            if wait_s <= 0:
                break
            event = stream.next(wait_s)
            if event is None:
                if stream.closed:
                    if stream.failure is not None:
                        raise stream.failure
                    raise CliError("the API closed the event stream", 2)
                continue
            print(event.as_json(), flush=True) if as_json else console.print(line(event), soft_wrap=True)
            seen += 1


# --- tools -----------------------------------------------------------------------------------------------
@tools_app.command("list")
def tools_list(ctx: typer.Context, limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
               as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The latest version of each tool."""
    with client(ctx) as api:
        body = api.get("/v1/tools", params={"limit": limit})
        print_json(body) if as_json else console.print(render.tools_table(body["items"], body["total"]))


@tools_app.command("show")
def tools_show(ctx: typer.Context, name: str, version: Annotated[int | None, typer.Option(min=1)] = None) -> None:
    """One tool's signature, versions and source."""
    with client(ctx) as api:
        params = {"version": version} if version else {}
        console.print(render.tool_detail(api.get(f"/v1/tools/{name}", params=params)))


@tools_app.command("forge")
def tools_forge(
    ctx: typer.Context,
    description: Annotated[str, typer.Argument(help="what the tool should do")],
    name: Annotated[str | None, typer.Option(help="the function name it must have")] = None,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="follow the forge job to its end")] = False,
    timeout: Annotated[float, typer.Option(help="with --wait: give up after this many seconds")] = 900.0,
) -> None:
    """Send a tool spec to the forge (BRICK writes it, the sandbox tests it)."""
    spec: dict[str, Any] = {"description": description}
    if name:
        spec["name"] = name
    with client(ctx) as api:
        job = api.post("/v1/tools", json=spec)
        console.print(f"forge job {job['id']} {job['status']}")
        if not wait:
            return
        deadline = time.monotonic() + timeout
        while job["status"] in ("queued", "running"):
            if time.monotonic() > deadline:
                raise CliError(f"forge job {job['id']} is still {job['status']} after {timeout:g} s")
            time.sleep(POLL_S)
            job = api.get(f"/v1/tools/jobs/{job['id']}")
        console.print(render.forge_job(job))
        if job["status"] != "succeeded":
            raise typer.Exit(EXIT_API_ERROR)


@tools_app.command("job")
def tools_job(ctx: typer.Context, job_id: str) -> None:
    """A forge job's status and attempts."""
    with client(ctx) as api:
        console.print(render.forge_job(api.get(f"/v1/tools/jobs/{job_id}")))


def parse_args(pairs: list[str], raw: str | None) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if raw:
        try:
            loaded = json.loads(raw)
        except ValueError as exc:
            raise CliError(f"--args is not JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise CliError("--args must be a JSON object")
        args.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--arg {pair!r} is not KEY=VALUE")
        try:
            args[key] = json.loads(value)
        except ValueError:
            args[key] = value  # a bare word is a string
    return args


@tools_app.command("invoke")
def tools_invoke(
    ctx: typer.Context,
    name: str,
    arg: Annotated[list[str] | None, typer.Option("--arg", "-a", help="KEY=VALUE (VALUE as JSON, else a string)")
                   ] = None,
    args_json: Annotated[str | None, typer.Option("--args", help="all arguments as one JSON object")] = None,
    version: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """Call a tool in the sandbox and print its JSON value."""
    body: dict[str, Any] = {"args": parse_args(arg or [], args_json)}
    if version:
        body["version"] = version
    with client(ctx, timeout_s=120.0) as api:
        out = api.post(f"/v1/tools/{name}/invoke", json=body)
        print(json.dumps(out["value"]))
        print(f"{out['tool']} v{out['version']} in {out['duration_s']:.2f} s", file=sys.stderr)


# --- datasets ----------------------------------------------------------------------------------------------
@app.command()
def datasets(
    ctx: typer.Context,
    version: Annotated[str | None, typer.Argument(help="show this version and a page of its samples")] = None,
    split: Annotated[str, typer.Option(help="all, train or heldout")] = "all",
    limit: Annotated[int, typer.Option(min=1, max=200)] = 5,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The golden dataset's versions (newest first), or one version's samples."""
    with client(ctx) as api:
        if version is not None:
            body = api.get(f"/v1/datasets/{version}", params={"split": split, "limit": limit, "offset": offset})
            print_json(body) if as_json else console.print(render.dataset_detail(body))
            return
        body = api.get("/v1/datasets")
        print_json(body) if as_json else console.print(render.datasets_table(body["items"]))


@app.command()
def curate(ctx: typer.Context) -> None:
    """Ask the running curators to curate now."""
    with client(ctx) as api:
        run = api.post("/v1/curation/run")
        console.print(f"curation run {run['request']}: {run['curators_notified']} curator(s) notified, "
                      f"{run['pending']} pending, {run['lag']} not yet read")


# --- fine-tunes ----------------------------------------------------------------------------------------------
@fine_tune_app.command("list")
def fine_tune_list(ctx: typer.Context, persona: Annotated[str | None, typer.Option()] = None,
                   limit: Annotated[int, typer.Option(min=1, max=500)] = 20) -> None:
    """Fine-tunes, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if persona:
        params["persona"] = persona.upper()
    with client(ctx) as api:
        console.print(render.fine_tunes_table(api.get("/v1/fine-tunes", params=params)["items"]))


@fine_tune_app.command("show")
def fine_tune_show(ctx: typer.Context, fine_tune_id: str) -> None:
    """One fine-tune: state, progress, evaluation."""
    with client(ctx) as api:
        console.print(render.fine_tune_detail(api.get(f"/v1/fine-tunes/{fine_tune_id}")))


@fine_tune_app.command("start")
def fine_tune_start(
    ctx: typer.Context,
    persona: Annotated[str, typer.Argument(help="BRICK, ROBIN or ALFRED")],
    dataset_version: Annotated[str, typer.Argument(help="a sealed dataset version, e.g. v000003")],
    watch: Annotated[bool, typer.Option("--watch", "-w", help="then watch it to its end")] = False,
) -> None:
    """Queue a fine-tune of PERSONA on a sealed dataset version."""
    with client(ctx) as api:
        record = api.post("/v1/fine-tunes", json={"persona": persona, "dataset_version": dataset_version})
        console.print(f"fine-tune {record['id']} {record['state']}"
                      f" ({record['persona']} on {record['dataset_version']})")
        if watch:
            watch_fine_tune(api, record["id"], timeout_s=24 * 3600.0)


@fine_tune_app.command("watch")
def fine_tune_watch(
    ctx: typer.Context,
    fine_tune_id: str,
    timeout: Annotated[float, typer.Option(help="give up after this many seconds")] = 24 * 3600.0,
) -> None:
    """A live progress bar (step, loss, ETA) from fine_tune_progress events, until the fine-tune ends.

    Exit 0 when it ended swapped, 1 when it was rejected, failed or superseded.
    """
    with client(ctx) as api:
        watch_fine_tune(api, fine_tune_id, timeout_s=timeout)


def watch_fine_tune(api: Client, fine_tune_id: str, timeout_s: float) -> None:
    path = f"/v1/fine-tunes/{fine_tune_id}"
    record = api.get(path)  # 404 before subscribing
    if record["state"] not in FINE_TUNE_TERMINAL:
        with EventStream(api, ("fine_tune_progress", *FINE_TUNE_END_EVENTS)) as stream:
            record = api.get(path)  # subscribed now: anything after this read arrives as an event
            follow_fine_tune(api, stream, record, timeout_s)
        record = api.get(path)
    end_of_fine_tune(record)


def follow_fine_tune(api: Client, stream: EventStream, record: dict[str, Any], timeout_s: float) -> None:
    fine_tune_id, state = record["id"], record["state"]
    p = record.get("progress") or {}
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("loss {task.fields[loss]}"), TextColumn("eta {task.fields[eta]}"),
                        console=console)
    deadline = time.monotonic() + timeout_s
    next_poll = time.monotonic() + POLL_S
    with progress:
        shown = render.fine_tune_state(record)  # the state, and while training its phase (loading_base first)
        bar = progress.add_task(f"{record['persona']} {fine_tune_id} [{shown}]", total=p.get("max_steps") or None,
                                completed=p.get("step", 0), loss=render.num(p.get("loss"), 4), eta=eta(p.get("eta_s")))
        while state not in FINE_TUNE_TERMINAL:
            now = time.monotonic()
            if now > deadline:
                raise CliError(f"fine-tune {fine_tune_id} is still {state} after {timeout_s:g} s")
            wait_s = min(next_poll, deadline) - now
            if show_fine_tune_event(progress, bar, fine_tune_id, next_event(stream, wait_s)):
                return
            if time.monotonic() >= next_poll:
                record = api.get(f"/v1/fine-tunes/{fine_tune_id}")
                state = record["state"]
                if render.fine_tune_state(record) != shown:
                    shown = render.fine_tune_state(record)
                    progress.update(bar, description=f"{record['persona']} {fine_tune_id} [{shown}]")
                next_poll = time.monotonic() + POLL_S
        # ended as the record says: show what the stream still holds (it may trail the record a little)
        drain_until = time.monotonic() + 5 * DRAIN_S
        while time.monotonic() < drain_until:
            event = stream.next(DRAIN_S)
            if event is None or show_fine_tune_event(progress, bar, fine_tune_id, event):
                break


def show_fine_tune_event(progress: Progress, bar: TaskID, fine_tune_id: str, event: Event | None) -> bool:
    """Move the bar (or print the end) for one of the fine-tune's events; whether it was the end."""
    if event is None or event.data.get("fine_tune_id") != fine_tune_id:
        return False
    if event.type != "fine_tune_progress":
        console.print(line(event), soft_wrap=True)
        return True
    d = event.data
    progress.update(bar, total=d.get("max_steps") or None, completed=d.get("step", 0),
                    loss=render.num(d.get("loss"), 4), eta=eta(d.get("eta_s")))
    if not console.is_terminal:  # piped: a line per tick, the bar alone says little
        console.print(line(event), soft_wrap=True)
    return False


def end_of_fine_tune(record: dict[str, Any]) -> None:
    state = record["state"]
    if state == "swapped":
        console.print(f"fine-tune {record['id']} swapped: {record['persona']} now speaks through "
                      f"{record.get('model_tag')}")
        return
    reason = f": {record['reason']}" if record.get("reason") else ""
    console.print(f"fine-tune {record['id']} {state}{reason}")
    raise typer.Exit(EXIT_API_ERROR)


# --- personas ----------------------------------------------------------------------------------------------
@personas_app.callback(invoke_without_command=True)
def personas(ctx: typer.Context) -> None:
    """Each persona's current model (and the previous one, for a rollback)."""
    if ctx.invoked_subcommand is None:
        with client(ctx) as api:
            console.print(render.personas_table(api.get("/v1/personas")))


@personas_app.command("rollback")
def rollback(ctx: typer.Context, name: Annotated[str, typer.Argument(help="BRICK, ROBIN or ALFRED")]) -> None:
    """Restore the persona's previous model."""
    with client(ctx) as api:
        p = api.post(f"/v1/personas/{name}/rollback")
        console.print(f"{p['name']} rolled back: now {p['model']} (replaced {p.get('previous_model')})")


# --- codex ---------------------------------------------------------------------------------------------------
@codex_app.callback(invoke_without_command=True)
def codex(ctx: typer.Context) -> None:
    """The codex's current text and version."""
    if ctx.invoked_subcommand is None:
        with client(ctx) as api:
            body = api.get("/v1/codex")
            console.print(f"codex v{body['version']} (updated {render.when(body.get('updated_at'))})\n")
            console.print(body["text"], markup=False)


@codex_app.command("proposals")
def proposals(ctx: typer.Context,
              status: Annotated[str | None, typer.Option(help="pending, approved or rejected")] = None,
              limit: Annotated[int, typer.Option(min=1, max=500)] = 50) -> None:
    """Amendments the system proposed, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if status:
        params["status"] = status
    with client(ctx) as api:
        console.print(render.proposals_table(api.get("/v1/codex/proposals", params=params)["items"]))


@codex_app.command("show")
def proposal_show(ctx: typer.Context, proposal_id: str) -> None:
    """One proposal in full."""
    with client(ctx) as api:
        console.print(render.proposal_detail(api.get(f"/v1/codex/proposals/{proposal_id}")))


def decide(ctx: typer.Context, proposal_id: str, verb: str, note: str) -> None:
    with client(ctx) as api:
        p = api.post(f"/v1/codex/proposals/{proposal_id}/{verb}", json={"note": note})
        applied = f": codex is now v{p['applied_version']}" if p.get("applied_version") else ""
        console.print(f"proposal {p['id']} {p['status']}{applied}")


@codex_app.command("approve")
def approve(ctx: typer.Context, proposal_id: str,
            note: Annotated[str, typer.Option(help="why, for the record")] = "") -> None:
    """Apply the amendment (a new codex version)."""
    decide(ctx, proposal_id, "approve", note)


@codex_app.command("reject")
def reject(ctx: typer.Context, proposal_id: str,
           note: Annotated[str, typer.Option(help="why, for the record")] = "") -> None:
    """Close the proposal without changing the codex."""
    decide(ctx, proposal_id, "reject", note)


# --- status --------------------------------------------------------------------------------------------------
@app.command()
def status(ctx: typer.Context) -> None:
    """The system at a glance (GET /v1/status): ok, degraded or down and why; Redis, the LLM server and
    the sandbox; each queue's depth, running jobs, oldest waiting job and workers alive; the services
    alive; tasks by status; each persona's model. Exit 1 when the system is down (Redis away)."""
    with client(ctx, timeout_s=15.0) as api:
        response = api.request("GET", "/v1/status", ok_statuses=(503,))
        try:
            report = response.json()
        except ValueError:  # uvicorn's own 503 (too many connections) is text
            raise CliError(error_message(response)) from None
        if report.get("status") == "down":
            console.print(render.status_summary(report, api.target.url))
            raise CliError(f"the system is down: redis {report.get('redis')}")
        counts = {s: api.get("/v1/tasks", params={"status": s, "limit": 1})["total"] for s in TASK_STATUSES}
        oldest = None
        if counts["queued"]:
            page = api.get("/v1/tasks", params={"status": "queued", "limit": 1, "offset": counts["queued"] - 1})
            oldest = page["items"][0].get("created_at") if page["items"] else None
        console.print(render.status_summary(report, api.target.url, counts, oldest))
        console.print(render.queues_table(report.get("queues") or []))
        console.print(render.personas_table(report.get("personas") or []))
