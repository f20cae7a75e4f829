"""Rich tables and panels for what the API returns (plain data in, renderables out)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text


def when(ts: Any) -> str:
    if not isinstance(ts, int | float) or ts <= 0:
        return "-"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def ago(ts: Any, now: float | None = None) -> str:
    if not isinstance(ts, int | float) or ts <= 0:
        return "-"
    seconds = max(0, int((now or time.time()) - ts))
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def short(text: Any, limit: int = 60) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def num(value: Any, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "-"


def tasks_table(items: list[dict[str, Any]], total: int) -> Table:
    table = Table(title=f"tasks ({len(items)} of {total})", title_justify="left")
    for column in ("id", "status", "source", "created", "dissonance", "text"):
        table.add_column(column, no_wrap=column in ("id", "status", "created"))
    for t in items:
        result = t.get("result") or {}
        table.add_row(t["id"], t["status"], t.get("source", ""), ago(t.get("created_at")),
                      num(result.get("dissonance")), short(t.get("text")))
    return table


def persona_answer(said: dict[str, Any]) -> RenderableType:
    """One persona's answer as it comes (a ``persona_answered`` event, or a stored contribution);
    ALFRED's is the dissonance verdict."""
    if said.get("persona") == "ALFRED" and said.get("dissonance") is not None:
        reason = said.get("content")
        return Text(f"dissonance {num(said['dissonance'])}" + (f": {reason}" if reason else ""))
    attempt = f", attempt {said['attempt']}" if (said.get("attempt") or 1) > 1 else ""
    return Panel(Text(str(said.get("content", ""))), title=f"{said.get('persona')} ({said.get('model')}{attempt})",
                 title_align="left", subtitle=f"{num(said.get('duration_s'))} s", subtitle_align="right")


def task_answer(task: dict[str, Any], shown: set[str] | frozenset[str] = frozenset()) -> RenderableType:
    """A finished task: each persona's contribution, ALFRED's dissonance, the final answer; what
    ``shown`` names (personas already printed as they answered) is left out."""
    result = task.get("result") or {}
    parts: list[RenderableType] = []
    for c in result.get("contributions") or []:
        if c.get("persona") not in shown:
            parts.append(persona_answer(c))
    if result.get("dissonance") is not None and "ALFRED" not in shown:
        parts.append(persona_answer({"persona": "ALFRED", "dissonance": result["dissonance"],
                                     "content": result.get("dissonance_reason")}))
    for note in result.get("degraded") or []:
        parts.append(Text(f"degraded: {note}"))
    if result.get("proposal_id"):
        parts.append(Text(f"codex proposal: {result['proposal_id']}"))
    if task.get("status") == "failed":
        parts.append(Text(f"failed: {task.get('error') or 'no reason given'}"))
    return Group(*parts)


def task_detail(task: dict[str, Any]) -> RenderableType:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for key in ("id", "status", "source", "text", "caused_by", "depth", "attempts"):
        if task.get(key) not in (None, ""):
            head.add_row(key, str(task[key]))
    head.add_row("created", when(task.get("created_at")))
    if task.get("finished_at"):
        head.add_row("finished", when(task.get("finished_at")))
    return Group(head, task_answer(task))


def tools_table(items: list[dict[str, Any]], total: int) -> Table:
    table = Table(title=f"tools ({len(items)} of {total})", title_justify="left")
    for column in ("name", "version", "signature", "description", "created"):
        table.add_column(column, no_wrap=column in ("name", "version", "created"))
    for t in items:
        table.add_row(t["name"], str(t["version"]), short(t.get("signature"), 70), short(t.get("description")),
                      when(t.get("created_at")))
    return table


def tool_detail(tool: dict[str, Any]) -> RenderableType:
    versions = ", ".join(f"v{v['version']}" for v in tool.get("versions", []))
    head = Text(f"{tool['name']} v{tool['version']}  {tool.get('signature', '')}\nversions: {versions}")
    return Group(head, Panel(Text(str(tool.get("source", ""))), title="source", title_align="left"))


def forge_job(job: dict[str, Any]) -> RenderableType:
    table = Table(title=f"forge job {job['id']}: {job['status']}", title_justify="left")
    for column in ("attempt", "outcome", "model", "reason"):
        table.add_column(column)
    for a in job.get("attempts", []):
        table.add_row(str(a.get("number")), a.get("outcome", ""), a.get("model", ""), short(a.get("reason"), 90))
    extra = []
    if job.get("tool_name"):
        extra.append(Text(f"tool: {job['tool_name']} v{job.get('version')}"))
    if job.get("error"):
        extra.append(Text(f"error: {short(job['error'], 300)}"))
    return Group(table, *extra)


def datasets_table(items: list[dict[str, Any]]) -> Table:
    table = Table(title=f"dataset versions ({len(items)})", title_justify="left")
    for column in ("version", "state", "samples", "train/heldout", "persona", "votes", "created", "sealed"):
        table.add_column(column, no_wrap=True)
    for d in items:
        split = f"{d['train_count']}/{d['heldout_count']}" if d.get("train_count") is not None else "-"
        votes = " ".join(f"{k}:{v}" for k, v in (d.get("votes") or {}).items())
        table.add_row(d["version"], d["state"], str(d.get("sample_count", 0)), split, d.get("persona") or "-",
                      votes, when(d.get("created_at")), when(d.get("sealed_at")))
    return table


def dataset_detail(body: dict[str, Any]) -> RenderableType:
    v = body["version"]
    head = Text(f"{v['version']}: {v['state']}, {v.get('sample_count', 0)} samples, persona {v.get('persona') or '-'}"
                f", sha256 {v.get('sha256') or '-'}\n{body['split']} samples {body['offset']}.."
                f"{body['offset'] + len(body['samples'])}:")
    rows = [Text(short(json.dumps(s.get("messages", s)), 200)) for s in body["samples"]]
    return Group(head, *rows)


def fine_tune_state(f: dict[str, Any]) -> str:
    """``training (loading_base)`` while the base model loads: the steps alone would say 0 of N."""
    phase = f.get("phase")
    return f"{f['state']} ({phase})" if phase and f.get("state") == "training" else str(f["state"])


def fine_tunes_table(items: list[dict[str, Any]]) -> Table:
    table = Table(title=f"fine-tunes ({len(items)})", title_justify="left")
    for column in ("id", "persona", "dataset", "state", "step", "loss", "model", "created", "reason"):
        table.add_column(column, no_wrap=column != "reason")
    for f in items:
        p = f.get("progress") or {}
        table.add_row(f["id"], f["persona"], f["dataset_version"], fine_tune_state(f),
                      f"{p.get('step', 0)}/{p.get('max_steps', 0)}", num(p.get("loss"), 4), f.get("model_tag") or "-",
                      ago(f.get("created_at")), short(f.get("reason"), 50))
    return table


def fine_tune_detail(f: dict[str, Any]) -> RenderableType:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    p = f.get("progress") or {}
    rows = [("id", f["id"]), ("persona", f["persona"]), ("dataset", f["dataset_version"]),
            ("state", fine_tune_state(f)),
            ("progress", f"step {p.get('step', 0)}/{p.get('max_steps', 0)}, loss {num(p.get('loss'), 4)}"),
            ("model", f.get("model_tag") or "-"), ("evaluated against", f.get("previous_model") or "-"),
            ("created", when(f.get("created_at"))), ("finished", when(f.get("finished_at")))]
    if f.get("evaluation"):
        rows.append(("evaluation", short(json.dumps(f["evaluation"]), 200)))
    if f.get("reason"):
        rows.append(("reason", str(f["reason"])))
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def personas_table(items: list[dict[str, Any]]) -> Table:
    table = Table(title="personas", title_justify="left")
    for column in ("name", "model", "previous", "default", "updated"):
        table.add_column(column, no_wrap=True)
    for p in items:
        table.add_row(p["name"], p["model"], p.get("previous_model") or "-", p.get("default_model", "-"),
                      when(p.get("updated_at")))
    return table


def proposals_table(items: list[dict[str, Any]]) -> Table:
    table = Table(title=f"codex proposals ({len(items)})", title_justify="left")
    for column in ("id", "status", "title", "amendment", "from task", "created", "repeats"):
        table.add_column(column, no_wrap=column in ("id", "status", "created"))
    for p in items:
        table.add_row(p["id"], p["status"], short(p.get("title"), 40), short(p.get("amendment"), 60),
                      p.get("task_id", "-"), ago(p.get("created_at")), str(p.get("repeats", 0)))
    return table


def proposal_detail(p: dict[str, Any]) -> RenderableType:
    lines = [f"{p['id']}: {p['status']} (codex v{p.get('based_on_version')})", f"title: {p.get('title')}",
             f"amendment: {p.get('amendment')}", f"rationale: {p.get('rationale') or '-'}",
             f"from task: {p.get('task_id')}"]
    if p.get("decided_at"):
        lines.append(f"decided: {when(p['decided_at'])}" + (f" ({p['note']})" if p.get("note") else ""))
    if p.get("applied_version"):
        lines.append(f"applied as codex v{p['applied_version']}")
    return Text("\n".join(lines))


# --- status ---------------------------------------------------------------------------------------------------
STATUS_STYLE = {"ok": "green", "degraded": "yellow", "down": "bold red"}


def seconds(value: Any) -> str:
    """A duration in a few characters: ``4.2s``, ``3m05s``, ``2h10m``; ``-`` when there is none."""
    if not isinstance(value, int | float):
        return "-"
    if value < 60:
        return f"{value:.1f}s"
    whole = int(value)
    if whole < 3_600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3_600}h{whole % 3_600 // 60:02d}m"


def reachable(part: dict[str, Any]) -> Text:
    """``reachable``, ``unreachable: <why>`` or ``unknown: <why>`` (the sandbox when no forge worker probed)."""
    if part.get("reachable") is True:
        return Text("reachable", style="green")
    if part.get("reachable") is False:
        return Text(f"unreachable: {part.get('error') or 'no reason given'}", style="red")
    return Text(str(part.get("error") or "unknown"), style="yellow")


def status_summary(report: dict[str, Any], url: str, task_counts: dict[str, int] | None = None,
                   oldest_queued: float | None = None) -> Table:
    """The verdict and its reasons, Redis, the LLM server, the sandbox, the services and the tasks."""
    table = Table(title=f"BAT OS at {url}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    verdict = str(report.get("status", "?"))
    table.add_row("system", Text(verdict, style=STATUS_STYLE.get(verdict, "")))
    for reason in report.get("reasons") or []:
        table.add_row("", Text(f"- {reason}"))
    table.add_row("redis", str(report.get("redis", "?")))
    table.add_row("llm", reachable(report.get("llm") or {}))
    sandbox = report.get("sandbox") or {}
    line = reachable(sandbox)
    if sandbox.get("checked_at"):
        line.append(f" (probed {ago(sandbox['checked_at'])})", style="dim")
    table.add_row("sandbox", line)
    services = report.get("services") or []
    if services:
        table.add_row("services", ", ".join(f"{s['name']} {s['alive']} alive" for s in services))
    if task_counts is not None:
        table.add_row("tasks", ", ".join(f"{n} {s}" for s, n in task_counts.items()))
    if oldest_queued:
        table.add_row("oldest queued task", ago(oldest_queued))
    return table


def queues_table(queues: list[dict[str, Any]]) -> Table:
    """Each worker queue: depth, running jobs, how long the oldest waiting job waits, workers alive."""
    table = Table(title="queues", title_justify="left")
    for column in ("kind", "queue", "depth", "running", "oldest waiting", "workers alive"):
        table.add_column(column, no_wrap=True, justify="right" if column in ("depth", "running") else "left")
    for q in queues:
        alive = int(q.get("workers_alive") or 0)
        table.add_row(q["kind"], q["queue"], str(q.get("depth", 0)), str(q.get("running", 0)),
                      seconds(q.get("oldest_age_s")), Text(str(alive), style="" if alive else "bold red"))
    return table
