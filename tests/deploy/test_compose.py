"""The compose stack for real: the CPU variant (docker-compose.yml + docker-compose.cpu.yml).

Builds the images offline (the base with deploy/docker/build_base_offline.sh when missing, the
service images FROM it with BuildKit, the sandbox image with deploy/sandbox/build_offline.sh),
brings the stack up under a unique project name and checks, in one pass to keep it short:

* ``up --wait``: every service with a healthcheck healthy, every one-shot exited 0;
* the edge (nginx): 401 without the token, 413 over 1 MiB, 400 for an oversized header;
* a task submitted over HTTP through nginx, answered by the local model;
* a tool's code run in the gVisor sandbox by the forge container, through the Docker guard;
* ``--scale cognition=3``: three tasks spread over the three containers (one job each at a time); one worker container's
  process SIGKILLed from the host mid-task (``docker kill`` would count as a manual stop and
  not restart it) and Redis restarted: every task still finishes, everything turns healthy
  again and a new task is answered;
* ``down -v`` leaves no container, volume or network of the project, and no sandbox container
  (checked in the fixture's teardown, after ``down -v``).

While it runs, iptables rules on the project's bridge keep the containers from reaching the
host's own listeners and anything beyond the bridge (``internal: true`` does not isolate here).
Prints how long the build and ``up`` took and each image's size. Needs root, Docker with runsc,
and the Compose v2 plugin (scripts/setup.sh --test installs it).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.compose, pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
FILES = ["-f", str(ROOT / "docker-compose.yml"), "-f", str(ROOT / "docker-compose.cpu.yml")]
BASE_IMAGE = os.environ.get("BATOS_TEST_BASE_IMAGE", "batos/base:bookworm")
SANDBOX_IMAGE = "batos-sandbox:latest"
TORCH_WHEEL = "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
ONE_SHOTS = {"model-setup", "sandbox-image", "sandbox-dir", "data-dirs"}
FINISHED = {"succeeded", "failed", "abandoned"}


def sh(*cmd: str, env: dict[str, str] | None = None, check: bool = True, timeout: float = 900) -> str:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} -> {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.project = f"batostest{tag}"
        self.bridge = f"bt{tag}"  # a Linux interface name: at most 15 characters
        self.port = free_port()
        self.token = secrets.token_urlsafe(32)
        self.runs = Path(f"/tmp/{self.project}/sandbox-runs")
        self.env = {
            **os.environ,
            "DOCKER_BUILDKIT": "1",
            "COMPOSE_PROJECT_NAME": self.project,
            "BATOS_BASE_IMAGE": BASE_IMAGE,
            "BATOS_API_TOKEN": self.token,
            "BATOS_HTTP_PORT": str(self.port),
            "BATOS_BRIDGE_NAME": self.bridge,
            "BATOS_SANDBOX_RUNS": str(self.runs),
            # A killed worker's job runs again within one lease: short here, 60 s by default.
            "BATOS_QUEUE_IN_PROGRESS_LEASE_S": "15",
            "BATOS_COGNITION_TASK_TIMEOUT_S": "300",
            # One task at a time per worker: three tasks land on three workers.
            "BATOS_COGNITION_MAX_JOBS": "1",
            # No tasks or tool ideas of the motivator competing with the test's for the one CPU generator.
            "BATOS_MOTIVATOR_IDLE_AFTER_S": "3600",
            "BATOS_MOTIVATOR_HOURLY_CAP": "0",
            "BATOS_MOTIVATOR_FORGE_EVERY_S": "0",
        }

    def compose(self, *args: str, check: bool = True, timeout: float = 900) -> str:
        return sh("docker", "compose", "-p", self.project, *FILES, *args, env=self.env, check=check, timeout=timeout)

    def ps(self) -> list[dict[str, Any]]:
        out = self.compose("ps", "-a", "--format", "json")
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return [r for row in rows for r in (row if isinstance(row, list) else [row])]

    def http(self, method: str, path: str, body: Any = None, token: str | None = "",
             raw: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token or self.token}"
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                text = resp.read().decode()
                return resp.status, json.loads(text) if text else None
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")

    def submit(self, text: str) -> str:
        status, body = self.http("POST", "/v1/tasks", {"text": text})
        assert status == 202, (status, body)
        return str(body["id"])

    def statuses(self, ids: list[str]) -> dict[str, str]:
        out = {}
        for task_id in ids:
            status, body = self.http("GET", f"/v1/tasks/{task_id}")
            out[task_id] = body["status"] if status == 200 else f"http-{status}"
        return out

    def wait_tasks(self, ids: list[str], timeout_s: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout_s
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            try:
                states = self.statuses(ids)
            except OSError:  # a moment of reconnecting behind nginx
                time.sleep(1)
                continue
            if all(s in FINISHED for s in states.values()):
                return states
            time.sleep(2)
        raise AssertionError(f"tasks not finished within {timeout_s:.0f} s: {states}\n{self.logs_tail()}")

    def containers(self, service: str) -> list[str]:
        out = sh("docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={self.project}",
                 "--filter", f"label=com.docker.compose.service={service}")
        return sorted(out.split())

    def logs(self, container: str) -> str:
        done = subprocess.run(["docker", "logs", container], capture_output=True, text=True, timeout=60)
        return done.stdout + done.stderr

    def logs_tail(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "30", check=False, timeout=120)

    def wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        bad: list[str] = []
        while time.monotonic() < deadline:
            bad = []
            for row in self.ps():
                service, state, health = row["Service"], row["State"], row.get("Health", "")
                if service in ONE_SHOTS:
                    if state != "exited" or int(row.get("ExitCode", 1)) != 0:
                        bad.append(f"{row['Name']}: {state} exit {row.get('ExitCode')}")
                elif state != "running" or health not in ("healthy", ""):
                    bad.append(f"{row['Name']}: {state} {health}")
            if not bad:
                return
            time.sleep(2)
        raise AssertionError(f"not healthy within {timeout_s:.0f} s: {bad}\n{self.logs_tail()}")


def iptables(*rule: str) -> None:
    subprocess.run(["iptables", *rule], check=True, capture_output=True, timeout=30)


def isolation_rules(bridge: str) -> list[list[str]]:
    return [
        ["INPUT", "-i", bridge, "-j", "DROP"],
        ["INPUT", "-i", bridge, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
        ["FORWARD", "-i", bridge, "!", "-o", bridge, "-j", "DROP"],
    ]


def build_images(stack: Stack) -> None:
    sh("bash", str(ROOT / "deploy/docker/build_base_offline.sh"), timeout=600)
    if subprocess.run(["docker", "image", "inspect", SANDBOX_IMAGE], capture_output=True).returncode != 0:
        sh("bash", str(ROOT / "deploy/sandbox/build_offline.sh"), SANDBOX_IMAGE, timeout=600)
    wheel, local = Path("/opt/wheels") / TORCH_WHEEL, ROOT / "deploy/docker/wheels" / TORCH_WHEEL
    if wheel.is_file() and not local.is_file():
        shutil.copy2(wheel, local)  # no download.pytorch.org here: the image installs the local wheel
    started = time.monotonic()
    # Only what this variant builds (sandbox-image's Dockerfile needs Docker Hub: built above instead).
    stack.compose("build", "redis", "nginx", "api", timeout=1500)
    print(f"\ncompose: images built in {time.monotonic() - started:.1f} s", flush=True)


def assert_nothing_left(project: str) -> None:
    """After ``down -v``: no container, volume or network of the project, no sandbox container."""
    label = f"label=com.docker.compose.project={project}"
    containers = sh("docker", "ps", "-aq", "--filter", label).split()
    volumes = sh("docker", "volume", "ls", "-q", "--filter", label).split()
    volumes += [v for v in sh("docker", "volume", "ls", "-q").split() if v.startswith(project)]
    networks = [n for n in sh("docker", "network", "ls", "--format", "{{.Name}}").split() if n.startswith(project)]
    # the stack's sandboxes: owned by a process inside its containers, not one of this host's (the
    # host's own tests may run sandboxes on the same engine meanwhile)
    owned = sh("docker", "ps", "-a", "--filter", "label=batos.sandbox",
               "--format", '{{.ID}} {{.Label "batos.sandbox.owner"}}').splitlines()
    rows = [row.split() for row in owned if row.strip()]
    sandboxes = [row[0] for row in rows if len(row) < 2 or row[1].split(":")[0] != socket.gethostname()]
    assert not (containers or volumes or networks or sandboxes), (containers, volumes, networks, sandboxes)
    print(f"compose: down -v left nothing of {project}", flush=True)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    version = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith(("2.", "v2.")), (
        "needs the Docker Compose v2 plugin: run scripts/setup.sh --test"
    )
    s = Stack()
    build_images(s)
    rules_added: list[list[str]] = []
    try:
        s.runs.mkdir(parents=True)
        started = time.monotonic()
        # The bridge exists once the network does: create it, fence it in, then start everything.
        s.compose("create", "--no-build", "redis")
        for rule in isolation_rules(s.bridge):
            iptables("-I", *rule)
            rules_added.append(rule)
        s.compose("up", "-d", "--wait", "--wait-timeout", "600", "--no-build", timeout=900)
        print(f"compose: up --wait took {time.monotonic() - started:.1f} s", flush=True)
        yield s
    finally:
        failed_logs = s.logs_tail() if os.environ.get("BATOS_TEST_KEEP_LOGS") else ""
        down = subprocess.run(["docker", "compose", "-p", s.project, *FILES, "down", "-v", "--remove-orphans",
                               "--timeout", "10"], env=s.env, capture_output=True, text=True, cwd=ROOT, timeout=300)
        for rule in reversed(rules_added):
            subprocess.run(["iptables", "-D", *rule], capture_output=True, timeout=30)
        shutil.rmtree(f"/tmp/{s.project}", ignore_errors=True)
        if failed_logs:
            print(failed_logs)
        assert down.returncode == 0, down.stderr
        assert_nothing_left(s.project)


def test_compose_stack(stack: Stack) -> None:
    t0 = time.monotonic()
    # Every healthcheck healthy, the one-shots done.
    stack.wait_healthy(60)
    for image in sorted({row["Image"] for row in stack.ps()} | {SANDBOX_IMAGE}):
        size = int(sh("docker", "image", "inspect", "-f", "{{.Size}}", image).strip())
        print(f"compose: image {image}: {size / 1e6:.0f} MB", flush=True)

    # The edge: only nginx is published, with its limits in front of the API.
    assert stack.http("GET", "/v1/tasks", token=None)[0] == 401
    assert stack.http("POST", "/v1/tasks", raw=b"x" * (1024 * 1024 + 10))[0] == 413
    assert stack.http("GET", "/healthz", token=None, headers={"X-Big": "a" * 10_000})[0] == 400
    api_ports = [row.get("Publishers") for row in stack.ps() if row["Service"] == "api"]
    assert all(not any(p.get("PublishedPort") for p in (pubs or [])) for pubs in api_ports), api_ports
    status, codex = stack.http("GET", "/v1/codex")
    assert status == 200 and codex["text"], (status, codex)  # deploy/codex.md is in the image

    # A task over HTTP through nginx, answered by the local model.
    first = stack.submit("Name one colour of the rainbow.")
    assert stack.wait_tasks([first], 300) == {first: "succeeded"}
    status, record = stack.http("GET", f"/v1/tasks/{first}")
    assert record["result"], record
    print(f"compose: first task answered at {time.monotonic() - t0:.1f} s", flush=True)
    # A real forge job, alongside the rest: BRICK (the 135M model) writes a tool, the forge checks
    # it and runs its tests in the sandbox. Whether the small model's code passes is not the
    # point; the job must finish without the sandbox being unavailable.
    status, forge = stack.http("POST", "/v1/tools", {"description": "Return the sum of two integers a and b.",
                                                     "name": "add_two"})
    assert status == 202, (status, forge)

    # The forge's sandbox: through the guard's socket, into gVisor, with a run folder written by
    # the forge (uid 1000) under the host path the engine bind-mounts.
    probe = (
        "from workers.tool_forge.settings import ToolForgeSettings as S; from shared.sandbox import Sandbox;"
        "r = Sandbox(S()).run('import sys; print(sum(range(10)), sys.version_info[:2])');"
        "print(r.exit_code, r.stdout.strip(), r.reason)"
    )
    out = stack.compose("exec", "-T", "tool-forge", "python", "-c", probe, timeout=120).strip()
    assert out.splitlines()[-1] == "0 45 (3, 11) ok", out
    assert not any(stack.runs.iterdir()), list(stack.runs.iterdir())  # run folders are removed

    # Three cognition workers; one killed mid-task; Redis restarted: every task still finishes.
    started = time.monotonic()
    stack.compose("up", "-d", "--wait", "--no-build", "--scale", "cognition=3", timeout=300)
    print(f"compose: scaled cognition to 3 in {time.monotonic() - started:.1f} s", flush=True)
    workers = stack.containers("cognition")
    assert len(workers) == 3, workers
    ids = [stack.submit(f"In one sentence: what is {n} plus {n}?") for n in range(3)]
    killed: str | None = None
    killed_task: str | None = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline:
        states = stack.statuses(ids)
        running = [i for i, s in states.items() if s == "running"]
        for container in workers if running else []:
            logs = stack.logs(container)
            mid = [i for i in running if i in logs]
            if mid:
                pid = sh("docker", "inspect", "-f", "{{.State.Pid}}", container).strip()
                os.kill(int(pid), 9)  # a crash, not a manual stop: the restart policy applies
                killed, killed_task = container, mid[0]
                break
        time.sleep(1)
    assert killed and killed_task, f"no task seen running: {stack.statuses(ids)}"
    time.sleep(3)
    stack.compose("restart", "redis", timeout=120)
    states = stack.wait_tasks(ids, 600)
    assert set(states.values()) == {"succeeded"}, states
    print(f"compose: 3 tasks on 3 workers, one killed, Redis restarted: done in "
          f"{time.monotonic() - started:.1f} s", flush=True)
    assert int(sh("docker", "inspect", "-f", "{{.RestartCount}}", killed).strip()) >= 1
    status, record = stack.http("GET", f"/v1/tasks/{killed_task}")
    assert record["status"] == "succeeded" and record["attempts"] >= 2, record
    served = {c: [i for i in ids if i in stack.logs(c)] for c in workers}
    assert all(served.values()), served  # the tasks spread over all three containers

    # After the Redis restart: healthy again, and a new task is answered.
    stack.wait_healthy(120)
    last = stack.submit("Say hello.")
    assert stack.wait_tasks([last], 300) == {last: "succeeded"}

    # The forge job submitted earlier has finished, and never found the sandbox unavailable.
    deadline = time.monotonic() + 300
    while True:
        status, job = stack.http("GET", f"/v1/tools/jobs/{forge['id']}")
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            break
        time.sleep(3)
    outcomes = [(a["outcome"], a["reason"][:120]) for a in job["attempts"]]
    print(f"compose: forge job {job['status']}: {outcomes}", flush=True)
    assert job["status"] not in ("queued", "running"), job
    assert "unavailable" not in json.dumps(job).lower(), job
    print(f"compose: checks done in {time.monotonic() - t0:.1f} s", flush=True)
