"""The guard as its own process in front of the real engine, attacked through its socket with the SDK.

Every refused create is checked on the engine directly: no container carrying the attack's marker
exists afterwards. The real ``Sandbox`` runs through the guard (programs, a timeout, stdin and
files, the reaper, the probe).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from docker.types import LogConfig, Mount

from shared.sandbox import Reason, SandboxSettings
from shared.sandbox.reaper import LABEL, OWNER_LABEL
from shared.sandbox.runner import SANDBOX_ENV, Sandbox
from shared.sandbox.watchdog import WATCHDOG_SOURCE
from tests.support.processes import REPO, ServiceProcess

pytestmark = pytest.mark.docker

IMAGE = "batos-sandbox:latest"


class Guard:
    def __init__(self, process: ServiceProcess, sock: str, workdir: Path) -> None:
        self.process = process
        self.socket = sock
        self.url = f"unix://{sock}"
        self.workdir = workdir


@pytest.fixture(scope="module")
def guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guard]:
    base = tmp_path_factory.mktemp("guard")
    workdir = base / "runs"
    workdir.mkdir()
    sock = str(base / "docker.sock")
    env = {
        "BATOS_DOCKER_GUARD_SOCKET": sock,
        "BATOS_DOCKER_GUARD_UPSTREAM": "unix:///var/run/docker.sock",
        "BATOS_SANDBOX_WORKDIR": str(workdir),
        "BATOS_DOCKER_GUARD_VERIFY_RUN_FOLDER": "true",  # the run folders are visible here
        "BATOS_LOG_LEVEL": "INFO",
    }
    process = ServiceProcess("services.docker_guard", env, name="docker-guard").start()
    try:
        process.wait_for_output('"docker_guard.listening"', timeout=30)
        yield Guard(process, sock, workdir)
    finally:
        assert process.stop() == 0, process.output()[-3000:]
        assert not os.path.exists(sock)
        output = process.output()
        assert "Traceback" not in output and "docker_guard.error" not in output, output[-3000:]


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    client = docker.from_env(timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="module")
def via_guard(guard: Guard) -> Iterator[Any]:
    client = docker.DockerClient(base_url=guard.url, timeout=60)
    yield client
    client.close()


def _hardened(guard: Guard, marker: str) -> dict[str, Any]:
    """The runner's create, as SDK keyword arguments, for an idle container tagged with ``marker``."""
    root = guard.workdir / f"batos-sandbox-{marker.replace('-', '_')}"
    (root / "app").mkdir(parents=True, exist_ok=True)
    (root / "resolv.conf").touch()
    return dict(
        image=IMAGE,
        command=["python3", "-B", "-c", WATCHDOG_SOURCE, "30.000", "0", marker],
        runtime="runsc", network_mode="none", read_only=True,
        tmpfs={"/tmp": "rw,nosuid,nodev,noexec,size=64m,mode=1777"}, shm_size="64m",
        mem_limit="256m", memswap_limit="256m", nano_cpus=1_000_000_000, pids_limit=4096,
        cap_drop=["ALL"], security_opt=["no-new-privileges"], user="64999:64999",
        environment=dict(SANDBOX_ENV), hostname="sandbox", working_dir="/app",
        volumes={str(root / "app"): {"bind": "/app", "mode": "ro"},
                 str(root / "resolv.conf"): {"bind": "/etc/resolv.conf", "mode": "ro"}},
        labels={LABEL: "1", OWNER_LABEL: f"guard-test:{marker}"},
        log_config=LogConfig(type=LogConfig.types.NONE),
    )  # fmt: skip


def _marked(engine: Any, marker: str) -> list[Any]:
    """Containers on the engine whose command or labels carry ``marker`` (whoever made them)."""
    return [c for c in engine.containers.list(all=True, sparse=True)
            if marker in json.dumps(c.attrs.get("Command", "")) or marker in json.dumps(c.attrs.get("Labels"))]


def _refused(call: Callable[[], Any], rule: str) -> docker.errors.APIError:
    with pytest.raises(docker.errors.APIError) as caught:
        call()
    error = caught.value
    assert error.status_code == 403, error
    assert f"[{rule}]" in str(error.explanation), error.explanation
    return error


# -- the real sandbox through the guard -----------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox(guard: Guard) -> Sandbox:
    settings = SandboxSettings(sandbox_docker_base_url=guard.url, sandbox_workdir=str(guard.workdir),
                               sandbox_timeout_s=5.0)
    return Sandbox(settings)


def test_the_sandbox_runs_through_the_guard(sandbox: Sandbox, engine: Any) -> None:
    assert sandbox.probe() is None
    assert sandbox.reap_leftovers() >= 0
    result = sandbox.run("print(sum(range(10)))")
    assert result.reason is Reason.OK and result.stdout == "45\n", result
    result = sandbox.run(
        "import sys, helper\nprint(helper.twice(sys.stdin.read()), sys.argv[1:])\nsys.exit(3)",
        files={"helper.py": "def twice(s):\n    return s * 2\n"}, args=["a", "b c"], stdin="xy",
    )
    assert result.reason is Reason.ERROR and result.exit_code == 3 and result.stdout == "xyxy ['a', 'b c']\n"


def test_a_timeout_through_the_guard_kills_and_removes(sandbox: Sandbox, engine: Any) -> None:
    started = time.monotonic()
    result = sandbox.run("import time\nprint('started', flush=True)\ntime.sleep(60)", timeout_s=1.5)
    assert result.reason is Reason.TIMEOUT and result.stdout == "started\n", result
    assert time.monotonic() - started < 1.5 + 15
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _own_containers(engine):
        time.sleep(0.2)
    assert not _own_containers(engine)  # removed in the background, through the guard


def _own_containers(engine: Any) -> list[Any]:
    from shared.sandbox.reaper import owner_id

    found: list[Any] = engine.containers.list(all=True, sparse=True, filters={"label": f"{OWNER_LABEL}={owner_id()}"})
    return found


# -- attacks on create ----------------------------------------------------------------------------
CREATE_ATTACKS: dict[str, tuple[Callable[[dict[str, Any], Path], None], str]] = {
    "privileged": (lambda kw, root: kw.update(privileged=True), "create.HostConfig.Privileged"),
    "bind host root": (lambda kw, root: kw.update(volumes={"/": {"bind": "/app", "mode": "ro"}}),
                       "create.HostConfig.Binds"),
    "bind docker.sock": (lambda kw, root: kw["volumes"].update({"/var/run/docker.sock": {
        "bind": "/etc/resolv.conf", "mode": "ro"}}), "create.HostConfig.Binds"),
    "writable bind": (lambda kw, root: kw.update(volumes={str(root / "app"): {"bind": "/app", "mode": "rw"}}),
                      "create.HostConfig.Binds"),
    "mount api": (lambda kw, root: kw.update(mounts=[Mount("/host", "/", type="bind", read_only=True)]),
                  "create.HostConfig.Mounts"),
    "runtime runc": (lambda kw, root: kw.update(runtime="runc"), "create.HostConfig.Runtime"),
    "network host": (lambda kw, root: kw.update(network_mode="host"), "create.HostConfig.NetworkMode"),
    "cap add": (lambda kw, root: kw.update(cap_add=["SYS_ADMIN"]), "create.HostConfig.CapAdd"),
    "pid host": (lambda kw, root: kw.update(pid_mode="host"), "create.HostConfig.PidMode"),
    "devices": (lambda kw, root: kw.update(devices=["/dev/kvm:/dev/kvm:rwm"]), "create.HostConfig.Devices"),
    "another image": (lambda kw, root: kw.update(image="s8-base-bookworm-py311:latest"), "create.Image"),
    "user root": (lambda kw, root: kw.update(user="0:0"), "create.User"),
    "seccomp unconfined": (lambda kw, root: kw.update(security_opt=["seccomp=unconfined"]),
                           "create.HostConfig.SecurityOpt"),
    "no label": (lambda kw, root: kw.update(labels={}), "create.Labels"),
    "a name": (lambda kw, root: kw.update(name="guard-test-named"), "create.query"),
    "run folder is a symlink": (lambda kw, root: _symlink_run_folder(kw, root), "create.run_folder"),
}


def _symlink_run_folder(kwargs: dict[str, Any], root: Path) -> None:
    """A forge that makes the program folder a symlink to a host folder (here: /etc)."""
    evil = root.with_name(root.name + "_evil")
    evil.mkdir()
    (evil / "resolv.conf").touch()
    os.symlink("/etc", evil / "app")
    kwargs["volumes"] = {str(evil / "app"): {"bind": "/app", "mode": "ro"},
                         str(evil / "resolv.conf"): {"bind": "/etc/resolv.conf", "mode": "ro"}}


@pytest.mark.parametrize("name", list(CREATE_ATTACKS))
def test_create_attacks_are_refused_and_create_nothing(name: str, guard: Guard, via_guard: Any, engine: Any) -> None:
    marker = f"guard-attack-{uuid.uuid4().hex[:12]}"
    kwargs = _hardened(guard, marker)
    mutate, rule = CREATE_ATTACKS[name]
    mutate(kwargs, guard.workdir / f"batos-sandbox-{marker.replace('-', '_')}")
    _refused(lambda: via_guard.containers.create(**kwargs), rule)
    assert _marked(engine, marker) == []
    assert f'"rule": "{rule}"' in guard.process.output()  # every refusal is logged with its rule


# -- a sandbox container made through the guard, and what may not be done to it --------------------
@pytest.fixture
def idle_sandbox(guard: Guard, via_guard: Any, engine: Any) -> Iterator[tuple[Any, str]]:
    marker = f"guard-idle-{uuid.uuid4().hex[:12]}"
    container = via_guard.containers.create(**_hardened(guard, marker))
    yield container, marker
    try:
        engine.containers.get(container.id).remove(force=True)
    except docker.errors.NotFound:
        pass


def test_operations_on_a_sandbox_container(idle_sandbox: tuple[Any, str], via_guard: Any, engine: Any) -> None:
    container, marker = idle_sandbox
    assert [c.id for c in _marked(engine, marker)] == [container.id]  # what the attack tests look for
    api = via_guard.api
    _refused(lambda: api.exec_create(container.id, ["sh"]), "endpoint")
    _refused(lambda: api.kill(container.id, signal="SIGTERM"), "kill.signal")
    _refused(lambda: api.attach_socket(container.id, params={"stdin": 1, "stream": 1}), "attach.stdin")
    _refused(lambda: api.update_container(container.id, mem_limit="4g"), "endpoint")
    _refused(lambda: api.put_archive(container.id, "/app", b"x"), "endpoint")
    _refused(lambda: api.commit(container.id), "endpoint")
    _refused(lambda: api.remove_container(container.id[:12], force=True), "container.id")
    assert api.inspect_container(container.id)["HostConfig"]["Runtime"] == "runsc"
    api.remove_container(container.id, force=True)  # its own remove is allowed
    with pytest.raises(docker.errors.NotFound):
        engine.containers.get(container.id)


def test_engine_wide_requests_are_refused(via_guard: Any, engine: Any) -> None:
    _refused(lambda: via_guard.containers.list(all=True), "containers.list")
    _refused(lambda: via_guard.images.pull("alpine", tag="latest"), "endpoint")
    _refused(lambda: via_guard.images.list(), "endpoint")
    name = f"guard-test-{uuid.uuid4().hex[:8]}"
    _refused(lambda: via_guard.volumes.create(name), "endpoint")
    assert name not in [v.name for v in engine.volumes.list()]
    _refused(lambda: via_guard.networks.list(), "endpoint")
    # the reaper's own listing works: only sandbox containers
    listed = via_guard.containers.list(all=True, filters={"label": f"{LABEL}=1"}, sparse=True)
    assert all(c.attrs["Labels"][LABEL] == "1" for c in listed)


@pytest.fixture
def victim(engine: Any) -> Iterator[Any]:
    """A container made on the engine directly, not a sandbox one (no label), never started."""
    container = engine.containers.create(IMAGE, ["python3", "-c", "1"], runtime="runsc", network_mode="none",
                                         name=f"guard-victim-{uuid.uuid4().hex[:8]}")
    yield container
    container.remove(force=True)


def test_other_containers_are_out_of_reach(victim: Any, via_guard: Any, engine: Any) -> None:
    api = via_guard.api
    _refused(lambda: api.remove_container(victim.id, force=True), "container.not_sandbox")
    _refused(lambda: api.kill(victim.id), "container.not_sandbox")
    _refused(lambda: api.inspect_container(victim.id), "container.not_sandbox")
    _refused(lambda: api.start(victim.id), "container.not_sandbox")
    _refused(lambda: api.remove_container(victim.name, force=True), "container.id")
    assert engine.containers.get(victim.id).status == "created"


def test_a_labelled_runc_container_is_out_of_reach_too(engine: Any, via_guard: Any) -> None:
    impostor = engine.containers.create(IMAGE, ["python3", "-c", "1"], runtime="runc", network_mode="none",
                                        read_only=True, labels={LABEL: "1"})
    try:
        _refused(lambda: via_guard.api.start(impostor.id), "container.not_sandbox")
        assert engine.containers.get(impostor.id).status == "created"
    finally:
        impostor.remove(force=True)


# -- raw requests ---------------------------------------------------------------------------------
def _raw(guard: Guard, request: bytes) -> tuple[int, bytes]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(guard.socket)
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_path_tricks_and_chunked_bodies_are_refused(guard: Guard, engine: Any) -> None:
    marker = f"guard-raw-{uuid.uuid4().hex[:12]}"
    body = json.dumps({"Image": IMAGE, "Cmd": ["python3", "-c", "1", marker], "Labels": {LABEL: "1"},
                       "HostConfig": {"Privileged": True, "Runtime": "runc", "Binds": ["/:/host"]}}).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    cases = {
        "dot-dot": b"GET /v1.41/../containers/json HTTP/1.1\r\nHost: d\r\n\r\n",
        "dot-dot after ping": b"GET /v1.41/_ping/../containers/json HTTP/1.1\r\nHost: d\r\n\r\n",
        "encoded slash": b"POST /v1.41/containers%2Fcreate HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n",
        "absolute form": b"GET http://docker/containers/json?all=1 HTTP/1.1\r\nHost: d\r\n\r\n",
        "chunked create": b"POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json"
                          b"\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
        "old API start": b"POST /v1.23/containers/%s/start HTTP/1.1\r\nHost: d\r\n\r\n" % (b"0" * 64),
        "form body": b"POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: "
                     b"application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
    }
    for name, request in cases.items():
        status, answer = _raw(guard, request)
        assert status == 403, (name, answer)
        assert json.loads(answer)["message"].startswith("refused by the BAT OS docker guard ["), name
    # a refused request smuggling a second one behind it: only the refusal comes back
    status, answer = _raw(guard, b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n"
                          b"POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 2\r\n\r\n{}")
    assert status == 200 and answer.endswith(b"OK") and b"HTTP/1.1" not in answer
    assert _marked(engine, marker) == []


def test_socket_permissions_and_health_check(guard: Guard, tmp_path: Path) -> None:
    st = os.stat(guard.socket)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    assert st.st_gid == (1000 if os.geteuid() == 0 else os.getegid())  # the forge's group in compose
    env = {**os.environ, "BATOS_DOCKER_GUARD_SOCKET": guard.socket}
    check = [sys.executable, "-m", "services.docker_guard", "--check"]
    ok = subprocess.run(check, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    env["BATOS_DOCKER_GUARD_SOCKET"] = str(tmp_path / "missing.sock")
    bad = subprocess.run(check, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "missing.sock" in bad.stderr


FORGE_AS_1000 = r"""
import json, sys, docker
from shared.sandbox.settings import SandboxSettings
from shared.sandbox.runner import Sandbox
url, workdir = sys.argv[1], sys.argv[2]
box = Sandbox(SandboxSettings(sandbox_docker_base_url=url, sandbox_workdir=workdir))
result = box.run("import os\nprint(os.getuid(), os.getgid())")
client = docker.DockerClient(base_url=url)
refusals = {}
for name, extra in {"privileged": {"privileged": True}, "root": {"user": "0:0"}, "runc": {"runtime": "runc"},
                    "network host": {"network_mode": "host"}}.items():
    try:
        client.containers.create("batos-sandbox:latest", ["python3"], **extra)
        refusals[name] = "created"
    except docker.errors.APIError as exc:
        refusals[name] = exc.status_code
print(json.dumps({"probe": box.probe(), "reason": result.reason.value, "stdout": result.stdout,
                  "refusals": refusals}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a process as uid 1000 (as in compose)")
def test_a_forge_running_as_uid_1000_as_in_compose(engine: Any) -> None:
    base = Path(tempfile.mkdtemp(prefix="batos-guard-forge-"))
    try:
        base.chmod(0o755)
        workdir = base / "runs"
        workdir.mkdir(mode=0o777)
        workdir.chmod(0o777)
        sock = str(base / "sock" / "docker.sock")
        env = {"BATOS_DOCKER_GUARD_SOCKET": sock, "BATOS_SANDBOX_WORKDIR": str(workdir)}
        process = ServiceProcess("services.docker_guard", env, name="docker-guard-1000").start()
        try:
            process.wait_for_output('"docker_guard.listening"', timeout=30)
            run = subprocess.run(
                ["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", sys.executable, "-c", FORGE_AS_1000,
                 f"unix://{sock}", str(workdir)],
                cwd=REPO, env={**os.environ, "HOME": str(base)}, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
        finally:
            process.stop()
        assert run.returncode == 0, run.stderr[-3000:]
        report = json.loads(run.stdout.strip().splitlines()[-1])
        # the sandbox runs as the forge's own uid (SO_PEERCRED tells the guard who asks)
        assert report["probe"] is None and report["reason"] == "ok" and report["stdout"] == "1000 1000\n"
        assert report["refusals"] == {"privileged": 403, "root": 403, "runc": 403, "network host": 403}
    finally:
        shutil.rmtree(base, ignore_errors=True)
