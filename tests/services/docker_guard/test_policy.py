"""The guard's policy without Docker: the runner's own create passes, every attack is refused by its rule."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.docker_guard import wire
from services.docker_guard.policy import (
    Peer,
    Policy,
    Refused,
    body_length,
    check_container,
    check_create,
    decide,
    verify_run_folder,
)
from shared.sandbox.reaper import LABEL, OWNER_LABEL
from tests.services.docker_guard.conftest import body_doc, guard_settings, runner_create

CID = "0123456789abcdef" * 4
JSON = [("Content-Type", "application/json")]


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return Policy.from_settings(guard_settings(tmp_path))


@pytest.fixture
def create(tmp_path: Path) -> tuple[str, list[tuple[str, str]], bytes]:
    return runner_create(guard_settings(tmp_path))


# -- what the runner sends -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "run",
    [{}, {"stdin": "data", "files": {"pkg/helper.py": "x = 1"}, "args": ["a", "b c"]}, {"timeout_s": 599.0}],
    ids=["plain", "stdin-files-args", "longest-timeout"],
)
def test_the_runners_create_is_allowed(tmp_path: Path, run: dict[str, Any]) -> None:
    settings = guard_settings(tmp_path)
    target, headers, body = runner_create(settings, **run)
    allowed = decide(Policy.from_settings(settings), "POST", target, headers, body)
    assert allowed.action == "container.create" and allowed.target == "/v1.41/containers/create"
    assert json.loads(allowed.body) == json.loads(body)  # forwarded as checked, re-encoded


def test_the_runners_create_with_a_host_workdir_is_allowed(tmp_path: Path) -> None:
    # the forge in a container: the engine sees the run folder under the host path
    settings = guard_settings(tmp_path, sandbox_host_workdir="/srv/batos/sandbox-runs")
    target, headers, body = runner_create(settings)
    assert body_doc(body)["HostConfig"]["Binds"][0].startswith("/srv/batos/sandbox-runs/batos-sandbox-")
    decide(Policy.from_settings(settings), "POST", target, headers, body)
    with pytest.raises(Refused) as refused:  # the same request against a guard without it
        decide(Policy.from_settings(guard_settings(tmp_path)), "POST", target, headers, body)
    assert refused.value.rule == "create.HostConfig.Binds"


def test_the_callers_own_user_is_allowed_but_never_root(tmp_path: Path, create: tuple[str, Any, bytes]) -> None:
    policy = Policy.from_settings(guard_settings(tmp_path))
    doc = body_doc(create[2])
    doc["User"] = "1000:1000"  # the runner's choice when the forge runs as uid 1000
    body = json.dumps(doc).encode()
    check_create(policy, body, Peer(pid=7, uid=1000, gid=1000))
    for peer in (Peer(), Peer(pid=7, uid=1001, gid=1001), Peer(pid=7, uid=0, gid=0)):
        with pytest.raises(Refused, match=r"create\.User"):
            check_create(policy, body, peer)
    doc["User"] = "0:0"
    with pytest.raises(Refused, match=r"create\.User"):
        check_create(policy, json.dumps(doc).encode(), Peer(pid=7, uid=0, gid=0))


# -- attacks on create -----------------------------------------------------------------------------
Mutation = Callable[[dict[str, Any]], None]


def _host(key: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        doc["HostConfig"][key] = value

    return mutate


def _top(key: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        doc[key] = value

    return mutate


def _drop_host(key: str) -> Mutation:
    return lambda doc: doc["HostConfig"].pop(key)


def _bind(index: int, make: Callable[[str], str]) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        binds = doc["HostConfig"]["Binds"]
        binds[index] = make(binds[index])

    return mutate


def _root(spec: str) -> str:
    return spec.split(":")[0].rsplit("/", 1)[0]


ATTACKS: dict[str, tuple[Mutation, str]] = {
    "privileged": (_host("Privileged", True), "create.HostConfig.Privileged"),
    "privileged false is still a field": (_host("Privileged", False), "create.HostConfig.Privileged"),
    "bind host root": (_bind(0, lambda s: "/:/app:ro"), "create.HostConfig.Binds"),
    "bind docker.sock": (_bind(1, lambda s: "/var/run/docker.sock:/etc/resolv.conf:ro"), "create.HostConfig.Binds"),
    "bind writable": (_bind(0, lambda s: s.replace(":ro", ":rw")), "create.HostConfig.Binds"),
    "bind without mode": (_bind(0, lambda s: s.removesuffix(":ro")), "create.HostConfig.Binds"),
    "bind traversal": (_bind(0, lambda s: _root(s) + "/../../../etc:/app:ro"), "create.HostConfig.Binds"),
    "bind another folder": (_bind(0, lambda s: "/etc/batos-sandbox-x/app:/app:ro"), "create.HostConfig.Binds"),
    "bind to another target": (_bind(0, lambda s: s.replace(":/app:", ":/usr/lib:")), "create.HostConfig.Binds"),
    "bind propagation": (_bind(0, lambda s: s + ",rshared"), "create.HostConfig.Binds"),
    "bind extra": (lambda d: d["HostConfig"]["Binds"].append("/:/host:ro"), "create.HostConfig.Binds"),
    "binds of two run folders": (
        _bind(1, lambda s: s.replace("batos-sandbox-", "batos-sandbox-other")), "create.HostConfig.Binds"),
    "mounts api": (_host("Mounts", [{"Type": "bind", "Source": "/", "Target": "/host"}]), "create.HostConfig.Mounts"),
    "volumes from": (_host("VolumesFrom", ["other"]), "create.HostConfig.VolumesFrom"),
    "runtime runc": (_host("Runtime", "runc"), "create.HostConfig.Runtime"),
    "runtime default": (_drop_host("Runtime"), "create.HostConfig.Runtime"),
    "network host": (_host("NetworkMode", "host"), "create.HostConfig.NetworkMode"),
    "network bridge": (_host("NetworkMode", "bridge"), "create.HostConfig.NetworkMode"),
    "network of another container": (_host("NetworkMode", f"container:{CID}"), "create.HostConfig.NetworkMode"),
    "network default": (_drop_host("NetworkMode"), "create.HostConfig.NetworkMode"),
    "networking config": (_top("NetworkingConfig", {"EndpointsConfig": {"bridge": {}}}), "create.NetworkingConfig"),
    "cap add": (_host("CapAdd", ["SYS_ADMIN"]), "create.HostConfig.CapAdd"),
    "cap drop nothing": (_host("CapDrop", []), "create.HostConfig.CapDrop"),
    "pid host": (_host("PidMode", "host"), "create.HostConfig.PidMode"),
    "ipc host": (_host("IpcMode", "host"), "create.HostConfig.IpcMode"),
    "uts host": (_host("UTSMode", "host"), "create.HostConfig.UTSMode"),
    "userns host": (_host("UsernsMode", "host"), "create.HostConfig.UsernsMode"),
    "cgroupns host": (_host("CgroupnsMode", "host"), "create.HostConfig.CgroupnsMode"),
    "cgroup parent": (_host("CgroupParent", "/"), "create.HostConfig.CgroupParent"),
    "devices": (_host("Devices", [{"PathOnHost": "/dev/kvm", "PathInContainer": "/dev/kvm",
                                  "CgroupPermissions": "rwm"}]), "create.HostConfig.Devices"),
    "device requests": (_host("DeviceRequests", [{"Count": -1}]), "create.HostConfig.DeviceRequests"),
    "device cgroup rules": (_host("DeviceCgroupRules", ["a *:* rwm"]), "create.HostConfig.DeviceCgroupRules"),
    "seccomp unconfined": (_host("SecurityOpt", ["no-new-privileges", "seccomp=unconfined"]),
                           "create.HostConfig.SecurityOpt"),
    "apparmor unconfined": (_host("SecurityOpt", ["apparmor=unconfined"]), "create.HostConfig.SecurityOpt"),
    "masked paths unmasked": (_host("MaskedPaths", []), "create.HostConfig.MaskedPaths"),
    "sysctls": (_host("Sysctls", {"net.ipv4.ip_forward": "1"}), "create.HostConfig.Sysctls"),
    "ports": (_host("PortBindings", {"80/tcp": [{"HostPort": "8080"}]}), "create.HostConfig.PortBindings"),
    "exposed ports": (_top("ExposedPorts", {"80/tcp": {}}), "create.ExposedPorts"),
    "extra hosts": (_host("ExtraHosts", ["x:1.2.3.4"]), "create.HostConfig.ExtraHosts"),
    "oom kill disabled": (_host("OomKillDisable", True), "create.HostConfig.OomKillDisable"),
    "restart policy": (_host("RestartPolicy", {"Name": "always"}), "create.HostConfig.RestartPolicy"),
    "writable root": (_host("ReadonlyRootfs", False), "create.HostConfig.ReadonlyRootfs"),
    "huge memory": (_host("Memory", 64 << 30), "create.HostConfig.Memory"),
    "no memory limit": (_host("Memory", 0), "create.HostConfig.Memory"),
    "memory as text": (_host("Memory", "256m"), "create.HostConfig.Memory"),
    "unlimited swap": (_host("MemorySwap", -1), "create.HostConfig.MemorySwap"),
    "unlimited pids": (_host("PidsLimit", -1), "create.HostConfig.PidsLimit"),
    "no pids limit": (_host("PidsLimit", 0), "create.HostConfig.PidsLimit"),
    "more pids": (_host("PidsLimit", 1 << 20), "create.HostConfig.PidsLimit"),
    "more cpus": (_host("NanoCpus", 16_000_000_000), "create.HostConfig.NanoCpus"),
    "cpu as bool": (_host("NanoCpus", True), "create.HostConfig.NanoCpus"),
    "huge shm": (_host("ShmSize", 8 << 30), "create.HostConfig.ShmSize"),
    "json-file logs": (_host("LogConfig", {"Type": "json-file", "Config": {}}), "create.HostConfig.LogConfig"),
    "exec tmpfs": (_host("Tmpfs", {"/tmp": "rw,size=64m"}), "create.HostConfig.Tmpfs"),
    "tmpfs exec override": (_host("Tmpfs", {"/tmp": "rw,nosuid,nodev,noexec,size=64m,mode=1777,exec"}),
                            "create.HostConfig.Tmpfs"),
    "tmpfs elsewhere": (_host("Tmpfs", {"/tmp": "rw,nosuid,nodev,noexec,size=64m,mode=1777", "/run": ""}),
                        "create.HostConfig.Tmpfs"),
    "another image": (_top("Image", "s8-base-bookworm-py311:latest"), "create.Image"),
    "image by digest": (_top("Image", "batos-sandbox@sha256:" + "0" * 64), "create.Image"),
    "user root": (_top("User", "0:0"), "create.User"),
    "user root by name": (_top("User", "root"), "create.User"),
    "no user": (_top("User", ""), "create.User"),
    "uid without gid": (_top("User", "64999"), "create.User"),
    "root group": (_top("User", "64999:0"), "create.User"),
    "tty": (_top("Tty", True), "create.Tty"),
    "open stdin": (_top("OpenStdin", True), "create.OpenStdin"),
    "no sandbox label": (_top("Labels", {OWNER_LABEL: "x"}), "create.Labels"),
    "extra label": (lambda d: d["Labels"].update({"com.docker.compose.project": "batos"}), "create.Labels"),
    "host environment": (lambda d: d["Env"].append("AWS_SECRET=x"), "create.Env"),
    "another command": (_top("Cmd", ["python3", "-c", "import os"]), "create.Cmd"),
    "watchdog never ends": (lambda d: d["Cmd"].__setitem__(4, "99999999.000"), "create.Cmd"),
    "entrypoint": (_top("Entrypoint", ["/bin/sh"]), "create.Entrypoint"),
    "working dir": (_top("WorkingDir", "/"), "create.WorkingDir"),
    "hostname": (_top("Hostname", "host"), "create.Hostname"),
    "anonymous volume": (lambda d: d["Volumes"].update({"/data": {}}), "create.Volumes"),
    "old-style top-level host config": (_top("Privileged", True), "create.Privileged"),
    "host config not an object": (_top("HostConfig", []), "create.HostConfig"),
    "case variant key (Go matches it)": (_host("runtime", "runc"), "create.json"),
    "case variant emptying a key": (_host("networkmode", ""), "create.json"),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_create_attacks_are_refused_by_their_rule(
    name: str, policy: Policy, create: tuple[str, list[tuple[str, str]], bytes]
) -> None:
    mutate, rule = ATTACKS[name]
    target, headers, body = create
    doc = copy.deepcopy(body_doc(body))
    mutate(doc)
    with pytest.raises(Refused) as refused:
        decide(policy, "POST", target, headers, json.dumps(doc).encode())
    assert refused.value.rule == rule, refused.value
    assert f"[{rule}]" in refused.value.message


@pytest.mark.parametrize(
    ("edit", "rule"),
    [
        (lambda t: t.replace('"Runtime":"runsc"', '"Runtime":"runsc","Runtime":"runc"'), "create.json"),
        (lambda t: t.replace('"Runtime":"runsc"', '"Runtime":"runsc","RUNTIME":""'), "create.json"),
        (lambda t: t.replace('"Memory":268435456', '"Memory":NaN'), "create.json"),
        (lambda t: "[" + t + "]", "create.json"),
        (lambda t: t[:-1], "create.json"),
    ],
    ids=["duplicate key", "case duplicate", "NaN", "not an object", "truncated"],
)
def test_create_bodies_go_would_read_otherwise_are_refused(
    policy: Policy, create: tuple[str, list[tuple[str, str]], bytes], edit: Callable[[str], str], rule: str
) -> None:
    target, headers, body = create
    text = json.dumps(body_doc(body), separators=(",", ":"))
    assert '"Runtime":"runsc"' in text
    with pytest.raises(Refused) as refused:
        decide(policy, "POST", target, headers, edit(text).encode())
    assert refused.value.rule == rule


def test_create_needs_json_and_no_query(policy: Policy, create: tuple[str, list[tuple[str, str]], bytes]) -> None:
    target, headers, body = create
    with pytest.raises(Refused, match=r"create\.query"):
        decide(policy, "POST", target + "?name=evil", headers, body)
    with pytest.raises(Refused, match=r"create\.content_type"):
        decide(policy, "POST", target, [("Content-Type", "application/x-www-form-urlencoded")], body)


# -- other endpoints -------------------------------------------------------------------------------
LABEL_FILTER = "filters=%7B%22label%22%3A+%5B%22batos.sandbox%3D1%22%5D%7D"


@pytest.mark.parametrize(
    ("method", "target", "action"),
    [
        ("GET", "/_ping", "_ping"),
        ("HEAD", "/_ping", "_ping"),
        ("GET", "/version", "version"),
        ("GET", "/v1.41/info", "info"),
        ("GET", "/v1.41/images/batos-sandbox:latest/json", "image.inspect"),
        ("GET", f"/v1.41/containers/json?limit=-1&all=1&size=0&trunc_cmd=0&{LABEL_FILTER}", "containers.list"),
        ("GET", f"/v1.41/containers/{CID}/json", "container.inspect"),
        ("POST", f"/v1.41/containers/{CID}/start", "container.start"),
        ("POST", f"/v1.41/containers/{CID}/attach?logs=0&stdout=1&stderr=1&stream=1", "container.attach"),
        ("POST", f"/v1.41/containers/{CID}/wait", "container.wait"),
        ("POST", f"/v1.41/containers/{CID}/kill", "container.kill"),
        ("POST", f"/v1.41/containers/{CID}/kill?signal=SIGKILL", "container.kill"),
        ("DELETE", f"/v1.41/containers/{CID}?v=False&link=False&force=True", "container.remove"),
    ],
)
def test_what_the_sandbox_needs_is_allowed(policy: Policy, method: str, target: str, action: str) -> None:
    allowed = decide(policy, method, target, [], b"")
    assert allowed.action == action
    assert allowed.container == (CID if action.startswith("container.") and action != "container.create" else None)


@pytest.mark.parametrize(
    ("method", "target", "body", "rule"),
    [
        ("POST", f"/v1.41/containers/{CID}/exec", b"", "endpoint"),
        ("POST", "/v1.41/images/create?fromImage=alpine&tag=latest", b"", "endpoint"),
        ("POST", "/v1.41/volumes/create", b'{"Name": "evil"}', "endpoint"),
        ("POST", "/v1.41/volumes/create", b"", "endpoint"),
        ("GET", "/v1.41/images/json", b"", "endpoint"),
        ("GET", "/v1.41/images/alpine:latest/json", b"", "endpoint"),
        ("GET", "/v1.41/containers/json?all=1", b"", "containers.list"),
        ("GET", "/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22x%3D1%22%5D%7D", b"", "containers.list"),
        ("POST", f"/v1.41/containers/{CID}/kill?signal=SIGTERM", b"", "kill.signal"),
        ("POST", f"/v1.41/containers/{CID}/kill?signal=15", b"", "kill.signal"),
        ("POST", f"/v1.41/containers/{CID}/attach?stream=1&stdin=1", b"", "attach.stdin"),
        ("GET", f"/v1.41/containers/{CID}/attach/ws?stdin=1", b"", "endpoint"),
        ("POST", f"/v1.41/containers/{CID}/start", b'{"Privileged": true}', "http.body"),
        ("POST", f"/v1.23/containers/{CID}/start", b"", "api_version"),
        ("POST", "/v2.0/containers/create", b"", "api_version"),
        ("GET", "/v1.40/info", b"", "api_version"),
        ("POST", f"/v1.41/containers/{CID}/update", b"", "endpoint"),
        ("POST", f"/v1.41/commit?container={CID}", b"", "endpoint"),
        ("PUT", f"/v1.41/containers/{CID}/archive?path=/app", b"", "endpoint"),
        ("GET", f"/v1.41/containers/{CID}/logs", b"", "endpoint"),
        ("POST", f"/v1.41/containers/{CID}/rename?name=x", b"", "endpoint"),
        ("DELETE", "/v1.41/containers/victim?force=1", b"", "container.id"),
        ("DELETE", f"/v1.41/containers/{CID[:12]}?force=1", b"", "container.id"),
        ("DELETE", f"/v1.41/containers/{CID}?link=1", b"", "remove.link"),
        ("POST", f"/v1.41/containers/{CID}/wait?condition=x", b"", "wait.query"),
        ("GET", "/v1.41/../containers/json", b"", "path"),
        ("GET", "/v1.41/_ping/../containers/json", b"", "path"),
        ("POST", "/v1.41/containers%2Fcreate", b"", "path"),
        ("GET", "/v1.41/images/batos-sandbox:latest%2F..%2F..%2Fjson", b"", "path"),
        ("GET", "//containers/json", b"", "path"),
        ("GET", "/v1.41/./info", b"", "path"),
        ("GET", "/_ping?x=1&x=2", b"", "query"),
        ("GET", "/_ping;x", b"", "path"),
        ("POST", "/v1.41/networks/create", b"", "endpoint"),
        ("POST", "/v1.41/build", b"", "endpoint"),
        ("POST", "/v1.41/plugins/pull", b"", "endpoint"),
        ("GET", "/v1.41/events", b"", "endpoint"),
        ("GET", "/v1.41/containers/create", b"", "endpoint"),
        ("HEAD", "/info", b"", "endpoint"),
    ],
)
def test_other_requests_are_refused(policy: Policy, method: str, target: str, body: bytes, rule: str) -> None:
    with pytest.raises(Refused) as refused:
        decide(policy, method, target, JSON, body)
    assert refused.value.rule == rule, refused.value


@pytest.mark.parametrize(
    ("headers", "rule"),
    [
        ([("Transfer-Encoding", "chunked")], "http.transfer_encoding"),
        ([("Content-Length", "10"), ("Transfer-Encoding", "chunked")], "http.transfer_encoding"),
        ([("Content-Length", "10"), ("content-length", "11")], "http.content_length"),
        ([("Content-Length", "-1")], "http.content_length"),
        ([("Content-Length", "1e3")], "http.content_length"),
        ([("Content-Length", str(64 << 20))], "http.body_size"),
    ],
)
def test_body_framing(headers: list[tuple[str, str]], rule: str) -> None:
    with pytest.raises(Refused) as refused:
        body_length(headers, 1 << 20)
    assert refused.value.rule == rule
    assert body_length([("content-length", "12")], 1 << 20) == 12 and body_length([], 1 << 20) == 0


@pytest.mark.parametrize(
    "head",
    [
        b"GET http://docker/containers/json HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /_ping HTTP/1.1\r\nHost: x\r\n folded: value\r\n\r\n",
        b"GET /_ping HTTP/2\r\n\r\n",
        b"GET  /_ping HTTP/1.1\r\n\r\n",
        b"BREW /_ping HTTP/1.1\r\n\r\n",
        b"GET /_ping HTTP/1.1\r\nBad Header: x\r\n\r\n",
        "GET /_ping HTTP/1.1\r\nX: \u00e9\r\n\r\n".encode(),
    ],
)
def test_malformed_heads_are_refused(head: bytes) -> None:
    with pytest.raises(Refused):
        wire.parse_request_head(head)


def test_a_refusal_is_a_403_with_a_json_message() -> None:
    raw = wire.refusal(Refused("create.HostConfig.Privileged", "HostConfig.Privileged is not allowed"))
    status, body = wire.parse_response(raw)
    assert status == 403
    assert json.loads(body)["message"].startswith("refused by the BAT OS docker guard [create.HostConfig.Privileged]")


# -- existing containers ---------------------------------------------------------------------------
def _inspect(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "Config": {"Image": "batos-sandbox:latest", "Labels": {LABEL: "1", OWNER_LABEL: "h:1:2"}},
        "HostConfig": {"Runtime": "runsc", "NetworkMode": "none", "Privileged": False, "CapAdd": None,
                       "ReadonlyRootfs": True},
    }
    for key, value in changes.items():
        section, field = key.split("__")
        doc[section][field] = value
    return doc


def test_only_sandbox_containers_may_be_touched(policy: Policy) -> None:
    check_container(policy, _inspect())
    variants: list[dict[str, Any]] = [
        {"Config__Labels": {}}, {"Config__Image": "postgres:16"}, {"HostConfig__Runtime": "runc"},
        {"HostConfig__NetworkMode": "host"}, {"HostConfig__Privileged": True},
        {"HostConfig__CapAdd": ["ALL"]}, {"HostConfig__ReadonlyRootfs": False},
    ]
    for changes in variants:
        with pytest.raises(Refused) as refused:
            check_container(policy, _inspect(**changes))
        assert refused.value.rule == "container.not_sandbox"


def test_a_run_folder_through_a_symlink_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "batos-sandbox-real"
    (real / "app").mkdir(parents=True)
    (real / "resolv.conf").write_text("")
    verify_run_folder(str(real / "app"))
    verify_run_folder(str(real / "resolv.conf"))
    os.symlink("/", tmp_path / "batos-sandbox-evil")
    os.symlink("/etc", real / "etc-link")
    for source in (tmp_path / "batos-sandbox-evil" / "app", real / "etc-link"):
        with pytest.raises(Refused, match=r"create\.run_folder"):
            verify_run_folder(str(source))
