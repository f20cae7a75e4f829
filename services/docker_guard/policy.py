"""What the guard lets through: pure functions over a request's method, target, headers and body.

Allowed (anything else is refused with the name of the rule that refused it):

* ``GET|HEAD /_ping``, ``GET /version``, ``GET /info`` (``Sandbox.probe``, the SDK's version check);
* ``GET /images/<sandbox image>/json`` (the probe), nothing else about images;
* ``GET /containers/json`` only filtered on the sandbox label (``reap_leftovers``);
* ``POST /containers/create`` with exactly the body ``shared.sandbox.runner`` sends: the sandbox
  image, the watchdog command, the fixed environment, a non-root numeric user, the sandbox labels,
  the runtime, ``network none``, read-only root, ``CapDrop ALL``, ``no-new-privileges``, memory =
  memory+swap, CPUs, pids and ``/dev/shm`` within the settings, the ``none`` log driver, the one
  ``/tmp`` tmpfs, and two read-only binds of one run folder under the workdir at ``/app`` and
  ``/etc/resolv.conf``. Every other field is refused, whatever its value; the body forwarded is
  the guard's own re-encoding of what it checked (duplicate or case-variant keys are refused: Go
  matches JSON keys case-insensitively and keeps the last);
* on a container named by its full 64-hex id that is a sandbox container (checked by inspecting
  it upstream: ``check_container``): inspect, start, attach (stdout/stderr only, never stdin),
  wait, kill with SIGKILL only, remove.

Requests: an API version prefix ``/v1.41`` or later (or none), a canonical path (no ``..``, ``.``,
``//`` or percent-escapes), a query without duplicate or unknown keys, a ``Content-Length`` body
(no ``Transfer-Encoding``), a body only on create.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from docker.utils import parse_bytes

from services.docker_guard.settings import DockerGuardSettings
from shared.sandbox.reaper import LABEL, OWNER_LABEL
from shared.sandbox.runner import SANDBOX_ENV, WATCHDOG_GRACE_S
from shared.sandbox.watchdog import WATCHDOG_SOURCE
from shared.sandbox.workspace import MOUNT, PREFIX

MIN_API_MINOR = 41  # older versions change what create and start accept (HostConfig on start, cgroupns host)
RESOLV_CONF = "/etc/resolv.conf"
HOSTNAME = "sandbox"
FULL_ID = re.compile(r"[0-9a-f]{64}")
SAFE_PATH = re.compile(r"/[A-Za-z0-9._:@/-]*")
VERSIONED = re.compile(r"/v(\d{1,3})\.(\d{1,3})(/.*)")
USER = re.compile(r"([0-9]{1,10}):([0-9]{1,10})")
DEADLINE = re.compile(r"[0-9]{1,9}\.[0-9]{3}")
RUN_FOLDER = re.escape(PREFIX) + r"[A-Za-z0-9_]{1,64}"
MAX_OWNER_LABEL = 256
FALSY = frozenset({"", "0", "no", "false", "none"})  # the engine's httputils.BoolValue
KILL_SIGNALS = frozenset({"", "9", "KILL", "SIGKILL"})
WAIT_CONDITIONS = frozenset({"not-running", "next-exit", "removed"})
LIST_FILTERS = ({"label": [f"{LABEL}=1"]}, {"label": {f"{LABEL}=1": True}})


class Refused(Exception):
    """A request the guard does not let through; ``rule`` names the check that refused it."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail

    @property
    def message(self) -> str:
        return f"refused by the BAT OS docker guard [{self.rule}]: {self.detail}"


@dataclass(frozen=True)
class Peer:
    """The connecting process (SO_PEERCRED); None fields when unknown."""

    pid: int | None = None
    uid: int | None = None
    gid: int | None = None


@dataclass(frozen=True)
class Allowed:
    """A request to forward: ``target`` and ``body`` are the guard's own canonical versions."""

    action: str
    method: str
    target: str
    body: bytes = b""
    container: str | None = None  # a full id that must pass ``check_container`` first
    upgrade: bool = False  # a hijacked attach stream


@dataclass(frozen=True)
class Policy:
    """The hardened values a create must match (from the same settings the forge's sandbox reads)."""

    image: str
    runtime: str
    python: str
    memory: int
    nano_cpus: int
    pids_limit: int
    tmpfs_size: int
    tmpfs_options: str
    host_workdir: str
    uid: int
    gid: int
    max_deadline_s: float
    max_body_bytes: int

    @classmethod
    def from_settings(cls, s: DockerGuardSettings) -> Policy:
        return cls(
            image=s.sandbox_image,
            runtime=s.sandbox_runtime,
            python=s.sandbox_python,
            memory=int(parse_bytes(s.sandbox_memory)),
            nano_cpus=s.sandbox_nano_cpus,
            pids_limit=s.sandbox_pids_limit,
            tmpfs_size=int(parse_bytes(s.sandbox_tmpfs_size)),
            # exactly the runner's string: later options would override earlier ones ("exec")
            tmpfs_options=f"rw,nosuid,nodev,noexec,size={s.sandbox_tmpfs_size},mode=1777",
            host_workdir=s.host_workdir(),
            uid=s.sandbox_uid,
            gid=s.sandbox_gid,
            # Sandbox.run refuses timeouts >= sandbox_reap_after_s; the watchdog adds its grace
            max_deadline_s=s.sandbox_reap_after_s + WATCHDOG_GRACE_S,
            max_body_bytes=s.docker_guard_max_body_bytes,
        )

    def allowed_users(self, peer: Peer) -> set[tuple[int, int]]:
        """The sandbox user, and the connecting process's own (the runner's choice when not root)."""
        users = {(self.uid, self.gid)}
        if peer.uid and peer.gid:  # never 0
            users.add((peer.uid, peer.gid))
        return users


# -- framing and target --------------------------------------------------------------------------
def body_length(headers: list[tuple[str, str]], max_body: int) -> int:
    """The request body's length from its headers; refuses chunked and ambiguous framing."""
    lengths = [v for k, v in headers if k.lower() == "content-length"]
    if any(k.lower() == "transfer-encoding" for k, _ in headers):
        raise Refused("http.transfer_encoding", "Transfer-Encoding (chunked) bodies are not accepted")
    if len(lengths) > 1:
        raise Refused("http.content_length", "more than one Content-Length")
    if not lengths:
        return 0
    if not lengths[0].strip().isdigit() or len(lengths[0].strip()) > 12:
        raise Refused("http.content_length", f"bad Content-Length {lengths[0][:40]!r}")
    n = int(lengths[0])
    if n > max_body:
        raise Refused("http.body_size", f"a body of {n} bytes (at most {max_body})")
    return n


def split_target(target: str) -> tuple[str, str, list[tuple[str, str]]]:
    """(version prefix or "", path without it, query pairs) of a canonical origin-form target."""
    path, _, query = target.partition("?")
    if not SAFE_PATH.fullmatch(path):
        raise Refused("path", f"not a plain absolute path: {target[:200]!r}")
    parts = path.split("/")[1:]
    if any(p in ("", ".", "..") for p in parts) and path != "/":
        raise Refused("path", f"empty, '.' or '..' segment: {path[:200]!r}")
    version = ""
    m = VERSIONED.fullmatch(path)
    if m:
        if int(m[1]) != 1 or int(m[2]) < MIN_API_MINOR:
            raise Refused("api_version", f"API version v{m[1]}.{m[2]} (at least v1.{MIN_API_MINOR})")
        version, path = f"/v{int(m[1])}.{int(m[2])}", m[3]
    if "#" in query or ";" in query:
        raise Refused("query", "'#' or ';' in the query")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query), errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise Refused("query", f"malformed query {query[:200]!r}") from None
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise Refused("query", f"a parameter given twice: {sorted(keys)}")
    return version, path, pairs


def _query(pairs: list[tuple[str, str]], allowed: set[str], rule: str) -> dict[str, str]:
    extra = {k for k, _ in pairs} - allowed
    if extra:
        raise Refused(rule, f"query parameters {sorted(extra)} are not allowed")
    return dict(pairs)


def _falsy(value: str | None) -> bool:
    return value is None or value.strip().lower() in FALSY


def _target(version: str, path: str, query: dict[str, str]) -> str:
    return version + path + ("?" + urlencode(query) if query else "")


# -- requests ------------------------------------------------------------------------------------
def decide(
    policy: Policy,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    peer: Peer = Peer(),
) -> Allowed:
    """The request to forward, or ``Refused``; a container id in the result still needs checking."""
    version, path, pairs = split_target(target)
    allowed = _route(policy, method, version, path, pairs, headers, body, peer)
    if body and allowed.action != "container.create":
        raise Refused("http.body", f"a body is only accepted on create, not on {method} {path[:200]}")
    return allowed


def _route(
    policy: Policy,
    method: str,
    version: str,
    path: str,
    pairs: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    body: bytes,
    peer: Peer,
) -> Allowed:
    if path in ("/_ping", "/version", "/info") and (method == "GET" or (method == "HEAD" and path == "/_ping")):
        _query(pairs, set(), "query")
        return Allowed(path.strip("/"), method, version + path)
    if method == "GET" and path == f"/images/{policy.image}/json":
        _query(pairs, set(), "query")
        return Allowed("image.inspect", method, version + path)
    if method == "GET" and path == "/containers/json":
        q = _query(pairs, {"all", "limit", "size", "trunc_cmd", "filters"}, "containers.list")
        q["filters"] = _check_list_filters(q.get("filters"))  # forwarded as checked
        return Allowed("containers.list", method, _target(version, path, q))
    if method == "POST" and path == "/containers/create":
        _query(pairs, set(), "create.query")
        if _content_type(headers) != "application/json":
            raise Refused("create.content_type", "the body must be application/json")
        canonical = check_create(policy, body, peer)
        return Allowed("container.create", method, version + path, body=canonical)

    m = re.fullmatch(r"/containers/([^/]+)(?:/([a-z]+))?", path)
    if m:
        cid, op = m[1], m[2]
        action = {("GET", "json"): "inspect", ("POST", "start"): "start", ("POST", "attach"): "attach",
                  ("POST", "wait"): "wait", ("POST", "kill"): "kill", ("DELETE", None): "remove"}.get((method, op))
        if action is not None:
            if not FULL_ID.fullmatch(cid):
                raise Refused("container.id", f"containers are named by their full 64-hex id, not {cid[:80]!r}")
            q = _container_query(action, pairs)
            upgrade = action == "attach" and _header(headers, "upgrade").lower() == "tcp"
            return Allowed(f"container.{action}", method, _target(version, path, q), container=cid, upgrade=upgrade)
    raise Refused("endpoint", f"{method} {path[:200]} is not an operation of the sandbox")


def _header(headers: list[tuple[str, str]], name: str) -> str:
    return next((v.strip() for k, v in headers if k.lower() == name), "")


def _content_type(headers: list[tuple[str, str]]) -> str:
    return _header(headers, "content-type").split(";")[0].strip().lower()


def _check_list_filters(raw: str | None) -> str:
    try:
        filters = json.loads(raw) if raw is not None else None
    except (ValueError, RecursionError):
        filters = None
    if filters not in LIST_FILTERS:
        raise Refused("containers.list", f"only the sandbox label filter {LABEL}=1 is allowed, not {raw!r:.200}")
    return json.dumps(filters)


def _container_query(action: str, pairs: list[tuple[str, str]]) -> dict[str, str]:
    allowed = {"inspect": {"size"}, "start": set(), "wait": {"condition"}, "kill": {"signal"},
               "attach": {"logs", "stream", "stdout", "stderr", "stdin"}, "remove": {"v", "force", "link"}}[action]
    q = _query(pairs, allowed, f"{action}.query")
    if action == "attach" and not _falsy(q.get("stdin")):
        raise Refused("attach.stdin", "attaching the container's stdin is not allowed")
    if action == "kill" and q.get("signal", "").upper() not in KILL_SIGNALS:
        raise Refused("kill.signal", f"only SIGKILL may be sent, not {q.get('signal')!r:.40}")
    if action == "wait" and q.get("condition", "not-running") not in WAIT_CONDITIONS:
        raise Refused("wait.query", f"bad wait condition {q.get('condition')!r:.40}")
    if action == "remove" and not _falsy(q.get("link")):
        raise Refused("remove.link", "removing links is not allowed")
    return q


# -- create --------------------------------------------------------------------------------------
def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key.lower() in seen:
            raise Refused("create.json", f"key {key!r} given twice (or in two cases)")
        seen.add(key.lower())
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise Refused("create.json", f"{name} is not JSON")


def parse_create_body(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body.decode("utf-8"), object_pairs_hook=_object, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Refused("create.json", "the body is not a JSON object") from None
    if not isinstance(doc, dict):
        raise Refused("create.json", "the body is not a JSON object")
    return doc


TOP_REQUIRED = ("Image", "Cmd", "Env", "User", "Labels", "WorkingDir", "Hostname", "HostConfig")
TOP_OPTIONAL = ("AttachStdin", "AttachStdout", "AttachStderr", "OpenStdin", "StdinOnce", "Tty",
                "NetworkDisabled", "Volumes")
HOST_REQUIRED = ("Runtime", "NetworkMode", "ReadonlyRootfs", "CapDrop", "SecurityOpt", "Memory",
                 "MemorySwap", "NanoCpus", "PidsLimit", "LogConfig")
HOST_OPTIONAL = ("ShmSize", "Tmpfs", "Binds")


def _keys(doc: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...], where: str) -> None:
    for key in doc:
        if key not in required and key not in optional:
            raise Refused(f"create.{where}{key}", f"{where}{key} is not allowed")
    for key in required:
        if key not in doc:
            raise Refused(f"create.{where}{key}", f"{where}{key} is required")


def _int_in(value: Any, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def check_create(policy: Policy, body: bytes, peer: Peer = Peer()) -> bytes:
    """The canonical create body to forward when ``body`` is exactly a sandbox container; else Refused."""
    doc = parse_create_body(body)
    _keys(doc, TOP_REQUIRED, TOP_OPTIONAL, "")
    _check_config(policy, doc, peer)
    host = doc["HostConfig"]
    if not isinstance(host, dict):
        raise Refused("create.HostConfig", "HostConfig must be an object")
    _keys(host, HOST_REQUIRED, HOST_OPTIONAL, "HostConfig.")
    _check_host_config(policy, host, doc.get("Volumes"))
    return json.dumps(doc, separators=(",", ":")).encode("ascii")


def _check_config(policy: Policy, doc: dict[str, Any], peer: Peer) -> None:
    if doc["Image"] != policy.image:
        raise Refused("create.Image", f"image {doc['Image']!r:.200} (only {policy.image!r})")
    _check_cmd(policy, doc["Cmd"])
    env = doc["Env"]
    want = sorted(f"{k}={v}" for k, v in SANDBOX_ENV.items())
    if not isinstance(env, list) or sorted(map(str, env)) != want or not all(isinstance(e, str) for e in env):
        raise Refused("create.Env", f"the environment must be exactly {want}")
    m = USER.fullmatch(doc["User"]) if isinstance(doc["User"], str) else None
    if not m or (int(m[1]), int(m[2])) not in policy.allowed_users(peer):
        raise Refused("create.User", f"user {doc['User']!r:.80}: a non-root numeric uid:gid, the sandbox's "
                      f"{policy.uid}:{policy.gid} or the caller's own")
    labels = doc["Labels"]
    owner = labels.get(OWNER_LABEL) if isinstance(labels, dict) else None
    if (
        not isinstance(labels, dict) or set(labels) != {LABEL, OWNER_LABEL} or labels[LABEL] != "1"
        or not isinstance(owner, str) or not 0 < len(owner) <= MAX_OWNER_LABEL or not owner.isprintable()
    ):
        raise Refused("create.Labels", f"labels must be exactly {LABEL}=1 and {OWNER_LABEL}=<owner>")
    if doc["WorkingDir"] != MOUNT:
        raise Refused("create.WorkingDir", f"working dir must be {MOUNT}")
    if doc["Hostname"] != HOSTNAME:
        raise Refused("create.Hostname", f"hostname must be {HOSTNAME!r}")
    for key in ("AttachStdin", "OpenStdin", "StdinOnce", "Tty"):
        if doc.get(key, False) is not False:
            raise Refused(f"create.{key}", f"{key} must be false (no stdin, no tty)")
    for key in ("AttachStdout", "AttachStderr", "NetworkDisabled"):
        if not isinstance(doc.get(key, False), bool):
            raise Refused(f"create.{key}", f"{key} must be a boolean")


def _check_cmd(policy: Policy, cmd: Any) -> None:
    prefix = [policy.python, "-B", "-c", WATCHDOG_SOURCE]
    if not isinstance(cmd, list) or len(cmd) < 6 or cmd[:4] != prefix:
        raise Refused("create.Cmd", "the command must be the sandbox watchdog")
    if not all(isinstance(a, str) and "\x00" not in a for a in cmd):
        raise Refused("create.Cmd", "arguments must be strings without NUL")
    deadline = cmd[4]
    if not DEADLINE.fullmatch(deadline) or not 0 < float(deadline) <= policy.max_deadline_s:
        raise Refused("create.Cmd", f"watchdog deadline {deadline!r:.40} (0 < s <= {policy.max_deadline_s:g})")
    if cmd[5] not in ("0", "1"):
        raise Refused("create.Cmd", "the watchdog's stdin flag must be 0 or 1")


def _check_host_config(policy: Policy, h: dict[str, Any], volumes: Any) -> None:
    exact = {"Runtime": policy.runtime, "NetworkMode": "none", "CapDrop": ["ALL"],
             "SecurityOpt": ["no-new-privileges"]}
    for key, want in exact.items():
        if h[key] != want:
            raise Refused(f"create.HostConfig.{key}", f"{key} {h[key]!r:.200} (only {want!r})")
    if h["ReadonlyRootfs"] is not True:
        raise Refused("create.HostConfig.ReadonlyRootfs", "the root file system must be read-only")
    if not _int_in(h["Memory"], 1, policy.memory):
        raise Refused("create.HostConfig.Memory", f"memory {h['Memory']!r:.40} (1..{policy.memory} bytes)")
    if h["MemorySwap"] != h["Memory"] or type(h["MemorySwap"]) is not int:
        raise Refused("create.HostConfig.MemorySwap", "memory+swap must equal memory (no swap)")
    if not _int_in(h["NanoCpus"], 1, policy.nano_cpus):
        raise Refused("create.HostConfig.NanoCpus", f"NanoCpus {h['NanoCpus']!r:.40} (1..{policy.nano_cpus})")
    if not _int_in(h["PidsLimit"], 1, policy.pids_limit):
        raise Refused("create.HostConfig.PidsLimit", f"pids limit {h['PidsLimit']!r:.40} (1..{policy.pids_limit})")
    if "ShmSize" in h and not _int_in(h["ShmSize"], 1, policy.tmpfs_size):
        raise Refused("create.HostConfig.ShmSize", f"shm size {h['ShmSize']!r:.40} (1..{policy.tmpfs_size})")
    log_config = h["LogConfig"]
    if not isinstance(log_config, dict) or set(log_config) - {"Type", "Config"} or log_config.get("Type") != "none" \
            or log_config.get("Config") not in (None, {}):
        raise Refused("create.HostConfig.LogConfig", "the log driver must be 'none'")
    if "Tmpfs" in h and h["Tmpfs"] != {"/tmp": policy.tmpfs_options}:
        raise Refused("create.HostConfig.Tmpfs", f"tmpfs must be exactly /tmp {policy.tmpfs_options!r}")
    destinations = _check_binds(policy, h.get("Binds"))
    if volumes is not None and (
        not isinstance(volumes, dict) or set(volumes) != destinations or any(v != {} for v in volumes.values())
    ):
        raise Refused("create.Volumes", f"volumes must be exactly the bind targets {sorted(destinations)}")


def _check_binds(policy: Policy, binds: Any) -> set[str]:
    """The bind targets; refuses anything but read-only binds of one run folder's app/ and resolv.conf."""
    if binds is None:
        return set()
    if not isinstance(binds, list) or not all(isinstance(b, str) for b in binds):
        raise Refused("create.HostConfig.Binds", "binds must be a list of strings")
    workdir = policy.host_workdir.rstrip("/")
    specs = {MOUNT: "app", RESOLV_CONF: "resolv.conf"}
    roots: set[str] = set()
    seen: set[str] = set()
    for spec in binds:
        m = re.fullmatch(rf"({re.escape(workdir)}/{RUN_FOLDER})/(app|resolv\.conf):(/app|/etc/resolv\.conf):ro", spec)
        if not m or specs[m[3]] != m[2] or m[3] in seen:
            raise Refused("create.HostConfig.Binds", f"bind {spec!r:.300}: only <run folder>/app:{MOUNT}:ro and "
                          f"<run folder>/resolv.conf:{RESOLV_CONF}:ro, the run folder in {workdir}/")
        roots.add(m[1])
        seen.add(m[3])
    if len(roots) > 1:
        raise Refused("create.HostConfig.Binds", "both binds must come from the same run folder")
    return seen


def run_folders(body: bytes) -> list[str]:
    """The bind sources of an allowed create body (for ``verify_run_folder``)."""
    doc = json.loads(body)
    return [spec.split(":")[0] for spec in doc["HostConfig"].get("Binds") or []]


def verify_run_folder(source: str) -> None:
    """Refuse a bind source that is, or lies under, a symlink (needs the host path visible here).

    The run folder is written by the forge: a compromised one could make it a symlink to any host
    folder. Checked just before the create is forwarded (a race remains; the binds stay read-only).
    """
    parent = os.path.dirname(os.path.dirname(source))
    for path, want in ((os.path.dirname(source), stat.S_ISDIR), (source, None)):
        try:
            st = os.lstat(path)
        except OSError as exc:
            raise Refused("create.run_folder", f"{path}: {exc.strerror}") from None
        kind_ok = want(st.st_mode) if want else (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode))
        if not kind_ok:
            raise Refused("create.run_folder", f"{path} is a symlink or not a plain file/folder")
    if os.path.realpath(source) != source or os.path.realpath(parent) != parent:
        raise Refused("create.run_folder", f"{source} goes through a symlink")


# -- an existing container -----------------------------------------------------------------------
def check_container(policy: Policy, inspect: Any) -> None:
    """Refuse unless ``inspect`` (the engine's container JSON) is a sandbox container."""
    cfg = inspect.get("Config") or {} if isinstance(inspect, dict) else {}
    h = inspect.get("HostConfig") or {} if isinstance(inspect, dict) else {}
    if not isinstance(cfg, dict) or not isinstance(h, dict):
        raise Refused("container.not_sandbox", "not a container")
    problems = []
    if (cfg.get("Labels") or {}).get(LABEL) != "1":
        problems.append(f"no {LABEL}=1 label")
    if cfg.get("Image") != policy.image:
        problems.append("another image")
    if h.get("Runtime") != policy.runtime:
        problems.append(f"runtime {h.get('Runtime')!r}")
    if h.get("NetworkMode") != "none":
        problems.append(f"network {h.get('NetworkMode')!r}")
    if h.get("Privileged") or h.get("CapAdd") or h.get("ReadonlyRootfs") is not True:
        problems.append("not hardened")
    if problems:
        raise Refused("container.not_sandbox", "not a sandbox container: " + ", ".join(problems))
