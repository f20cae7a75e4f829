"""``make run`` (scripts/run_local.sh) as a user runs it: supervised, restarted, stopped by Ctrl-C.

The real script runs in its own session with an isolated environment: its own Redis, the
Ollama-protocol fake (so no local LLM server starts), a free API port, and every piece of local
state (logs, supervisord's socket and pid file, data) under the test's ``tmp_path`` through
``BATOS_VAR_DIR``. The cognition worker is killed with SIGKILL: supervisord starts it again and a
task submitted over HTTP is answered. Then SIGINT goes to the script's process group, as Ctrl-C
does: supervisord stops every process (SIGTERM, then SIGKILL after stopwaitsecs) and exits, and no
process it started is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.support.fake_ollama import Answer, FakeOllama, _instance_of
from tests.support.processes import REPO
from tests.support.redis_server import RedisServer, free_port
from tests.workers.cognition.helpers import personas, who

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TOKEN = "run-local-test-token"
PROGRAMS = ["api", "cognition", "motivator", "curator", "tool-forge", "fine-tune"]
CONF = REPO / "deploy" / "supervisord.conf"
T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], within_s: float, what: str, every: float = 0.5) -> T:
    deadline = time.monotonic() + within_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within_s} s (last: {value!r})")
        time.sleep(every)


def alive(pid: int) -> bool:
    """The pid runs (a zombie awaiting its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def descendants(root: int) -> set[int]:
    """Every live process below ``root`` in the process tree, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class Run:
    """The script's process, supervisorctl against its socket, and the API over HTTP."""

    def __init__(self, tmp_path: Path, redis_url: str, ollama_host: str):
        self.var = tmp_path / "var"
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BATOS_")}
        self.env.update({
            "BATOS_REDIS_URL": redis_url, "BATOS_OLLAMA_HOST": ollama_host, "BATOS_API_TOKEN": TOKEN,
            "BATOS_API_HOST": "127.0.0.1", "BATOS_API_PORT": str(self.port),
            "BATOS_DATA_DIR": str(tmp_path / "data"), "BATOS_VAR_DIR": str(self.var),
            "BATOS_MOTIVATOR_IDLE_AFTER_S": "3600",  # no proactive tasks: less load, only the test's task
        })
        self.socket = self.var / "supervisor.sock"
        assert len(str(self.socket)) < 100, f"a unix socket path must be short: {self.socket}"
        self.output_path = tmp_path / "run_local.out"
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10,
                                 headers={"Authorization": f"Bearer {TOKEN}"})

    def start(self) -> None:
        with self.output_path.open("wb") as out:
            self.process = subprocess.Popen(["bash", str(REPO / "scripts" / "run_local.sh")], cwd=REPO, env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)

    def kill_everything(self, started: set[int]) -> None:
        """After the test, whatever happened: SIGKILL supervisord and every process it started."""
        assert self.process is not None
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        for pid in started | descendants(self.process.pid):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.http.close()

    def status(self) -> dict[str, tuple[str, int | None]]:
        """``supervisorctl status``, as the operator runs it: name -> (state, pid)."""
        result = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(CONF), "-s", f"unix://{self.socket}",
             "status"], env=self.env, capture_output=True, text=True, timeout=30)
        states: dict[str, tuple[str, int | None]] = {}
        for line in result.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and ":" in parts[0]:  # group:program
                pid = int(parts[3].rstrip(",")) if parts[1] == "RUNNING" and parts[2] == "pid" else None
                states[parts[0].split(":", 1)[1]] = (parts[1], pid)
        return states

    def running(self) -> dict[str, int] | None:
        """Each program's pid once all of them are RUNNING."""
        states = self.status()
        if all(states.get(name, ("", None))[0] == "RUNNING" for name in PROGRAMS):
            return {name: states[name][1] for name in PROGRAMS}  # type: ignore[misc]
        return None

    def healthy(self) -> bool:
        try:
            return self.http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def output(self) -> str:
        text = self.output_path.read_text(errors="replace") if self.output_path.exists() else ""
        logs = ""
        for log in sorted((self.var / "log").glob("*.log")) if (self.var / "log").exists() else []:
            logs += f"\n--- {log.name}\n{log.read_text(errors='replace')[-1500:]}"
        return f"--- run_local.sh\n{text[-4000:]}{logs}"


@pytest.fixture
def fake(fake_ollama: FakeOllama) -> FakeOllama:
    """The personas answer a task; any other structured request (the curator's judge) gets a valid instance."""
    script = personas()

    def answer(body: dict[str, Any]) -> Answer:
        if body.get("messages") and who(body) in ("BRICK", "ROBIN", "ALFRED-DissonanceVerdict", "ALFRED-CodexDraft"):
            return script(body)
        if isinstance(body.get("format"), dict):
            return json.dumps(_instance_of(body["format"]))
        return "ok"

    fake_ollama.on_chat(answer)
    return fake_ollama


@pytest.fixture
def redis_url() -> Iterator[str]:
    server = RedisServer()
    server.start()
    yield server.url
    server.stop()


def test_make_run_restarts_and_stops(tmp_path: Path, redis_url: str, fake: FakeOllama) -> None:
    run = Run(tmp_path, redis_url, fake.host)
    started: set[int] = set()  # every process seen below supervisord
    run.start()
    assert run.process is not None
    supervisord = run.process.pid  # the script execs supervisord: same pid, leader of its own group
    try:
        wait_for(run.healthy, 180, f"the API answering /healthz\n{run.output()}")
        pids = wait_for(run.running, 180, f"every program RUNNING\n{run.output()}")
        assert run.status()["llm-server"][0] == "STOPPED", "BATOS_OLLAMA_HOST is set: no local LLM server"
        started |= set(pids.values()) | descendants(supervisord)
        assert "workers.cognition" in cmdline(pids["cognition"])

        # a crash: supervisord starts the worker again
        old = pids["cognition"]
        os.kill(old, signal.SIGKILL)

        def restarted() -> int | None:
            _, pid = run.status().get("cognition", ("", None))
            if pid is not None and pid != old and alive(pid) and "workers.cognition" in cmdline(pid):
                return pid
            return None

        new = wait_for(restarted, 30, f"a new cognition worker\n{run.output()}")
        assert not alive(old)
        started |= {new} | descendants(supervisord)
        assert run.process.poll() is None, "the rest keeps running"
        assert all(alive(pids[name]) for name in PROGRAMS if name != "cognition")

        # ... and it answers a task submitted over HTTP
        created = run.http.post("/v1/tasks", json={"text": "What is 2 + 2?"})
        assert created.status_code == 202, created.text
        task_id = created.json()["id"]

        def finished() -> dict[str, Any] | None:
            task = run.http.get(f"/v1/tasks/{task_id}").json()
            return task if task["status"] in ("succeeded", "failed") else None

        task = wait_for(finished, 180, f"task {task_id} finished\n{run.output()}")
        assert task["status"] == "succeeded", (task, run.output())
        assert (run.var / "log" / "cognition.log").read_text().count("make run: starting cognition") == 2
        started |= descendants(supervisord)

        # Ctrl-C: SIGINT to the foreground process group
        os.killpg(supervisord, signal.SIGINT)
        try:
            run.process.wait(timeout=50)
        except subprocess.TimeoutExpired:
            pytest.fail(f"supervisord still running 50 s after SIGINT\n{run.output()}")
        left = {pid: cmdline(pid) for pid in sorted(started) if alive(pid)}
        assert not left, f"left running after Ctrl-C: {left}\n{run.output()}"
        assert not run.socket.exists() or not run.running()
    finally:
        run.kill_everything(started)


def test_make_run_starts_the_redis_it_needs_and_stops_it_on_ctrl_c(tmp_path: Path, fake: FakeOllama) -> None:
    """No Redis answers at a local URL: supervisord runs redis-server (first), and Ctrl-C stops it
    with the rest (last), its data kept in the var folder; the port is free afterwards."""
    port = free_port()
    run = Run(tmp_path, f"redis://127.0.0.1:{port}/0", fake.host)
    run.start()
    assert run.process is not None
    supervisord = run.process.pid
    started: set[int] = set()
    try:
        wait_for(run.healthy, 180, f"the API answering /healthz\n{run.output()}")
        wait_for(lambda: run.status().get("redis", ("", None))[0] == "RUNNING", 60, f"redis RUNNING\n{run.output()}")
        redis_pid = run.status()["redis"][1]
        assert redis_pid is not None and "redis-server" in cmdline(redis_pid), cmdline(redis_pid or 0)
        assert "make run starts (and on Ctrl-C stops) redis-server" in run.output()
        ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, timeout=10)
        assert ping.stdout.strip() == "PONG"
        started |= descendants(supervisord)

        os.killpg(supervisord, signal.SIGINT)
        try:
            run.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"supervisord still running 60 s after SIGINT\n{run.output()}")
        left = {pid: cmdline(pid) for pid in sorted(started) if alive(pid)}
        assert not left, f"left running after Ctrl-C: {left}\n{run.output()}"
        ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, timeout=10)
        assert ping.stdout.strip() != "PONG", "the Redis make run started is still answering"
        assert (run.var / "redis" / "appendonlydir").is_dir()  # its data stays for the next run
    finally:
        run.kill_everything(started)
