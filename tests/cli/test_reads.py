"""``batos`` against the real API: tasks, tools, datasets, personas, codex, and its errors (status: test_status)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from services.api.settings import ApiSettings
from shared.stores.codex import CodexProposal, CodexStore, proposal_id_for
from shared.tools import ToolRegistry, check_tool_code
from tests.cli.conftest import Batos
from tests.support.redis_server import free_port
from tests.support.tool_sources import DIVIDE
from tests.workers.fine_tune.fixtures import seal_dataset
from workers.tool_forge.settings import DEFAULT_ALLOWED_IMPORTS

REPO = Path(__file__).resolve().parents[2]


async def test_a_submitted_task_is_listed_and_shown(batos: Batos) -> None:
    submitted = await batos("task", "What is 2 + 2?")
    assert submitted.exit_code == 0, submitted.output
    [word, task_id, status] = submitted.stdout.split()
    assert (word, status) == ("task", "queued") and len(task_id) == 32

    listed = await batos("tasks")
    assert listed.exit_code == 0, listed.output
    assert task_id in listed.stdout and "What is 2 + 2?" in listed.stdout and "tasks (1 of 1)" in listed.stdout
    assert task_id in (await batos("tasks", "--status", "queued")).stdout
    assert task_id not in (await batos("tasks", "--status", "failed")).stdout
    shown = await batos("tasks", task_id)
    assert shown.exit_code == 0 and "What is 2 + 2?" in shown.stdout and "queued" in shown.stdout


async def test_api_errors_are_one_line_and_exit_1(batos: Batos) -> None:
    wrong = await batos("tasks", token="wrong-token")
    assert wrong.exit_code == 1 and wrong.stdout == ""
    [line] = wrong.stderr.splitlines()
    assert line.startswith("error: 401 missing or wrong bearer token (token from: BATOS_API_TOKEN;")

    missing = await batos("tasks", "abc")
    assert (missing.exit_code, missing.stderr) == (1, "error: 404 task abc not found\n")

    invalid = await batos("tasks", "--status", "weird")
    assert invalid.exit_code == 1 and invalid.stderr.startswith("error: 422 query.status: ")
    assert len(invalid.stderr.splitlines()) == 1


async def test_an_unreachable_api_exits_2(batos: Batos) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = await batos("tasks", url=url)
    assert (result.exit_code, result.stderr) == (
        2, f"error: cannot reach the BAT OS API at {url} (is it running? make run)\n")


async def test_python_dash_m_cli_runs_the_same_app(batos: Batos) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = {"PATH": "/usr/bin:/bin", "BATOS_URL": url, "BATOS_API_TOKEN": "t", "BATOS_CONFIG": str(batos.config)}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "cli", "personas"], cwd=REPO, env=env,
                                   capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == f"error: cannot reach the BAT OS API at {url} (is it running? make run)\n"


async def test_tools_list_show_and_a_failed_invoke(batos: Batos, redis) -> None:
    assert "tools (0 of 0)" in (await batos("tools", "list")).stdout
    await ToolRegistry(redis).register(check_tool_code(DIVIDE, DEFAULT_ALLOWED_IMPORTS))

    listed = await batos("tools", "list")
    assert listed.exit_code == 0 and "divide" in listed.stdout and "tools (1 of 1)" in listed.stdout
    shown = await batos("tools", "show", "divide")
    assert shown.exit_code == 0 and "def divide(a: float, b: float)" in shown.stdout
    unknown = await batos("tools", "invoke", "nope", "--arg", "a=1")
    assert unknown.exit_code == 1 and unknown.stderr.startswith("error: 404 ") and len(unknown.stderr.splitlines()) == 1
    bad = await batos("tools", "invoke", "divide", "--arg", "a=1", "--arg", "c=2")
    assert bad.exit_code == 1 and bad.stderr.startswith("error: 422 ")


async def test_datasets_list_and_one_version(batos: Batos, api_settings: ApiSettings) -> None:
    seal_dataset(api_settings.data_dir, "v000003", persona="ROBIN")
    listed = await batos("datasets")
    assert listed.exit_code == 0, listed.output
    assert "v000003" in listed.stdout and "sealed" in listed.stdout and "ROBIN" in listed.stdout
    one = await batos("datasets", "v000003", "--limit", "2")
    assert one.exit_code == 0 and "v000003: sealed, 20 samples" in one.stdout
    assert (await batos("datasets", "v000404")).exit_code == 1


async def test_personas_and_a_refused_rollback(batos: Batos) -> None:
    listed = await batos("personas")
    assert listed.exit_code == 0, listed.output
    for name in ("BRICK", "ROBIN", "ALFRED"):
        assert name in listed.stdout
    assert "llama3.2:3b" in listed.stdout
    refused = await batos("personas", "rollback", "brick")
    assert refused.exit_code == 1 and refused.stderr.startswith("error: 409 ")
    assert len(refused.stderr.splitlines()) == 1


async def test_codex_proposals_approve_and_reject(batos: Batos, redis) -> None:
    store = CodexStore(redis)
    keep, _ = await store.propose(CodexProposal(id=proposal_id_for("t1"), task_id="t1", title="Be candid",
                                                amendment="Be candid, always.", based_on_version=1))
    drop, _ = await store.propose(CodexProposal(id=proposal_id_for("t2"), task_id="t2", title="Be vague",
                                                amendment="Be vague, always.", based_on_version=1))

    pending = await batos("codex", "proposals", "--status", "pending")
    assert pending.exit_code == 0 and keep.id in pending.stdout and drop.id in pending.stdout
    approved = await batos("codex", "approve", keep.id, "--note", "good")
    assert (approved.exit_code, approved.stdout) == (0, f"proposal {keep.id} approved: codex is now v2\n")
    rejected = await batos("codex", "reject", drop.id)
    assert (rejected.exit_code, rejected.stdout) == (0, f"proposal {drop.id} rejected\n")
    again = await batos("codex", "approve", drop.id)
    assert again.exit_code == 1 and again.stderr.startswith("error: 409 ") and "already rejected" in again.stderr
    codex = await batos("codex")
    assert codex.exit_code == 0 and "codex v2" in codex.stdout and "Be candid, always." in codex.stdout

