"""The hostile corpus: programs that try to escape or exhaust the sandbox, and what each gets.

All programs run once, concurrently, in the real gVisor sandbox (module fixture); each test then
asserts its program's specific outcome and that the run was over within timeout + SLACK_S
(a bound that holds on a busy 2-core machine; bench/bench_sandbox_kill.py measures promptness).
"""

from __future__ import annotations

import os
import socket
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from shared.sandbox import Reason, Sandbox, SandboxResult
from shared.sandbox.runner import container_user
from tests.shared.sandbox.conftest import CANARY_VAR, SLACK_S, TIMEOUT_S, Listener

ENDS_BY_ITSELF_S = 30.0

pytestmark = pytest.mark.docker

Check = Callable[[SandboxResult, "Context"], None]


@dataclass(frozen=True)
class Context:
    canary: str
    cap: int
    uid: int


@dataclass(frozen=True)
class Case:
    """A hostile program and what must come of it. One that ends by itself (or by the memory limit, or
    its output cap) gets a wall clock that a loaded machine cannot run out; one that never ends gets
    the short ``TIMEOUT_S`` its kill is checked against."""

    code: str
    check: Check
    timeout_s: float = ENDS_BY_ITSELF_S


def _reports(*needles: str) -> Check:
    """The program exited 0 and printed every needle (what it observed from inside)."""

    def check(r: SandboxResult, ctx: Context) -> None:
        assert r.reason is Reason.OK, (r.reason, r.stderr[-800:])
        for needle in needles:
            assert needle in r.stdout, (needle, r.stdout[-800:])

    return check


def _reason(*reasons: Reason) -> Check:
    def check(r: SandboxResult, ctx: Context) -> None:
        assert r.reason in reasons, (r.reason, r.exit_code, r.stderr[-800:])

    return check


def _denied(r: SandboxResult, ctx: Context) -> None:
    assert r.reason is Reason.OK, r.stderr
    assert r.stdout.startswith("denied E") and "WROTE" not in r.stdout, r.stdout


def _killed_by_memory_limit(r: SandboxResult, ctx: Context) -> None:
    assert r.reason is Reason.KILLED_OOM and r.exit_code == 137 and not r.ok, (r.reason, r.exit_code)


def _segfault(r: SandboxResult, ctx: Context) -> None:
    assert r.reason is Reason.ERROR and r.exit_code == 139, (r.reason, r.exit_code)


def _killed_at_timeout(r: SandboxResult, ctx: Context) -> None:
    assert r.reason is Reason.TIMEOUT and r.exit_code == 137 and not r.ok


def _truncated(r: SandboxResult, ctx: Context) -> None:
    assert r.reason is Reason.OUTPUT_TRUNCATED and not r.ok
    # The cap counts what is returned: replacement characters and escapes included.
    assert len(r.stdout.encode()) <= ctx.cap and len(r.stderr.encode()) <= ctx.cap
    assert len(r.stdout) + len(r.stderr) > 0
    assert all(c in "\n\t" or unicodedata.category(c) != "Cc" for c in r.stdout + r.stderr)


def _escaped(r: SandboxResult, ctx: Context) -> None:
    assert r.reason is Reason.OK, r.stderr
    assert r.stdout.startswith("\\x1b]0;pwned\\x07\\x1b[2J\\x00"), r.stdout[:80]
    assert "\\xc2\\x9b" not in r.stdout and "\\x9b" in r.stdout  # C1 CSI (U+009B) escaped
    assert all(c in "\n\t" or unicodedata.category(c) != "Cc" for c in r.stdout)


def _no_canary(r: SandboxResult, ctx: Context) -> None:
    assert r.reason is Reason.OK, r.stderr
    assert CANARY_VAR not in r.stdout and ctx.canary not in r.stdout
    assert "env-keys:" in r.stdout


def _only_sandbox_processes(r: SandboxResult, ctx: Context) -> None:
    assert r.reason is Reason.OK, r.stderr
    pids = [int(p) for p in r.stdout.split("pids:")[1].split()[0].split(",")]
    assert pids == [1, 2], pids  # the watchdog and the program: no host process is visible
    assert f"release:{os.uname().release}" not in r.stdout  # gVisor's kernel, not the host's
    assert f"node:{socket.gethostname()}" not in r.stdout and "node:sandbox" in r.stdout


def _fill(path: str) -> str:
    return f"""
import errno
n = 0
try:
    with open({path!r}, "wb") as f:
        while n < 1 << 30:
            f.write(b"x" * (1 << 20)); f.flush(); n += 1 << 20
    print("wrote", n)
except OSError as e:
    print("stopped", errno.errorcode.get(e.errno), n)
"""


def _bounded_fill(r: SandboxResult, ctx: Context) -> None:
    # Either the 64 MiB size limit (ENOSPC) or the memory limit (SIGKILL) stops it: never 1 GiB.
    if r.reason is Reason.OK:
        assert "stopped ENOSPC" in r.stdout, r.stdout
        assert int(r.stdout.split()[-1]) <= 64 * 1024 * 1024
    else:
        assert r.reason is Reason.KILLED_OOM, r.reason


def _denied_write(path: str) -> str:
    return f"""
import errno
try:
    with open({path!r}, "w") as f:
        f.write("pwned")
    print("WROTE")
except OSError as e:
    print("denied", errno.errorcode.get(e.errno))
"""


CORPUS: dict[str, Case] = {
    "connect_host_loopback": Case(
        """
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
    print("CONNECTED")
except OSError as e:
    print("blocked", type(e).__name__)
""",
        _reports("blocked ConnectionRefusedError"),
    ),
    "only_loopback_interface": Case(
        "import socket; print('ifaces', [n for _, n in socket.if_nameindex()])",
        _reports("ifaces ['lo']"),
    ),
    "dns_lookup": Case(
        """
import socket
try:
    print("RESOLVED", socket.getaddrinfo("batos-sandbox-probe.invalid", 80))
except OSError as e:
    print("lookup failed", type(e).__name__)
print("resolv.conf", repr(open("/etc/resolv.conf").read()))
""",
        _reports("lookup failed gaierror", "resolv.conf ''"),
    ),
    "raw_socket": Case(
        """
import socket
try:
    socket.socket(socket.AF_PACKET, socket.SOCK_RAW); print("RAW")
except OSError as e:
    print("raw denied", e.errno)
""",
        _reports("raw denied 1"),
    ),
    "write_root": Case(_denied_write("/pwned"), _denied),
    "write_app": Case(_denied_write("/app/main.py"), _denied),
    "write_app_new_file": Case(_denied_write("/app/new.py"), _denied),
    "write_usr": Case(_denied_write("/usr/lib/python3.11/os.py"), _denied),
    "fill_tmp": Case(_fill("/tmp/fill"), _bounded_fill),
    "fill_dev_shm": Case(_fill("/dev/shm/fill"), _bounded_fill),
    "memory_bomb": Case(
        "blocks = []\nwhile True:\n    blocks.append(bytearray(1 << 20))",
        _killed_by_memory_limit,
    ),
    "fork_bomb": Case(
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        _reason(Reason.KILLED_OOM, Reason.TIMEOUT), TIMEOUT_S,
    ),
    "thread_bomb": Case(
        "import threading, time\nwhile True:\n    try:\n"
        "        threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()\n"
        "    except Exception:\n        pass",
        _reason(Reason.KILLED_OOM, Reason.TIMEOUT), TIMEOUT_S,
    ),
    "kills_the_watchdog": Case(
        "import os, signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):\n"
        "    os.kill(1, s)\nimport time\ntime.sleep(10**9)",
        _reason(Reason.KILLED_OOM, Reason.TIMEOUT), TIMEOUT_S,
    ),
    "terminal_escapes": Case(
        "import os\nos.write(1, b'\\x1b]0;pwned\\x07\\x1b[2J\\x00\\x9b\\xc2\\x9b' + bytes(range(256)))",
        _escaped,
    ),
    "invalid_utf8_flood": Case("import os\nos.write(1, b'\\xff' * (1 << 20))", _truncated),
    "infinite_loop": Case("while True:\n    pass", _killed_at_timeout, TIMEOUT_S),
    "sleep_forever": Case("import time\ntime.sleep(10**9)", _killed_at_timeout, TIMEOUT_S),
    "ignores_sigterm": Case(
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.1)",
        _killed_at_timeout, TIMEOUT_S,
    ),
    "closes_output_and_hangs": Case(
        "import os, time\nos.close(1)\nos.close(2)\ntime.sleep(10**9)", _killed_at_timeout, TIMEOUT_S
    ),
    "output_100mb": Case(
        "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(chunk)", _truncated
    ),
    "output_1gb_stderr": Case(
        "import os\nchunk = b'y' * (1 << 20)\nfor _ in range(1024):\n    os.write(2, chunk)", _truncated
    ),
    "env_canary": Case(
        """
import os
print("env-keys:", sorted(os.environ))
print(dict(os.environ))
for p in ("/proc/self/environ", "/proc/1/environ"):
    print(open(p, "rb").read())
""",
        _no_canary,
    ),
    "proc_probe": Case(
        """
import os
print("pids:" + ",".join(sorted(p for p in os.listdir("/proc") if p.isdigit())))
u = os.uname()
print(f"release:{u.release} node:{u.nodename}")
print(open("/proc/1/cmdline", "rb").read())
""",
        _only_sandbox_processes,
    ),
    "sys_and_host_files": Case(
        """
import os
print("net", sorted(os.listdir("/sys/class/net")))
for p in ("/sys/class/dmi/id/product_uuid", "/etc/machine-id", "/etc/shadow", "/var/run/docker.sock",
          "/run/docker.sock", "/work", "/root", "/home"):
    print(p, "present" if os.path.exists(p) else "absent")
""",
        _reports(
            "net ['lo']",
            "/sys/class/dmi/id/product_uuid absent",
            "/etc/machine-id absent",
            "/etc/shadow absent",
            "/var/run/docker.sock absent",
            "/run/docker.sock absent",
            "/work absent",
        ),
    ),
    "setuid_root": Case(
        """
import os
print("uid", os.getuid(), os.geteuid())
try:
    os.setuid(0); print("ROOT")
except PermissionError as e:
    print("setuid denied", e.errno)
""",
        _reports("setuid denied 1"),
    ),
    "ctypes_syscalls": Case(
        """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print("setuid", libc.setuid(0), ctypes.get_errno())
print("mount", libc.mount(b"none", b"/mnt", b"tmpfs", 0, None), ctypes.get_errno())
print("chroot", libc.chroot(b"/tmp"), ctypes.get_errno())
""",
        _reports("setuid -1 1", "mount -1 1", "chroot -1 1"),
    ),
    "ctypes_segfault": Case(
        "import ctypes\nctypes.string_at(0)",
        _segfault,
    ),
}


@pytest.fixture(scope="module")
def corpus_runs(
    sandbox: Sandbox, canary: str, host_listener: Listener
) -> dict[str, tuple[SandboxResult, float]]:
    """Run the whole corpus, four at a time; name -> (result, wall seconds seen by the caller)."""

    def one(name: str) -> tuple[str, tuple[SandboxResult, float]]:
        case = CORPUS[name]
        t0 = time.monotonic()
        result = sandbox.run(case.code, args=[str(host_listener.port)], timeout_s=case.timeout_s)
        return name, (result, time.monotonic() - t0)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, CORPUS))


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_program_is_contained(
    name: str, corpus_runs: dict[str, tuple[SandboxResult, float]], canary: str, sandbox: Sandbox
) -> None:
    result, wall = corpus_runs[name]
    case = CORPUS[name]
    assert wall <= case.timeout_s + SLACK_S, f"{name} took {wall:.2f}s"
    assert result.duration_s <= wall
    assert result.reason is not Reason.SANDBOX_UNAVAILABLE, result.message
    uid = container_user(sandbox.settings)[0]
    case.check(result, Context(canary=canary, cap=sandbox.settings.sandbox_output_cap_bytes, uid=uid))
    if name == "setuid_root":
        assert f"uid {uid} {uid}" in result.stdout and uid != 0, result.stdout


def test_host_listener_was_never_reached(
    corpus_runs: dict[str, tuple[SandboxResult, float]], host_listener: Listener
) -> None:
    with socket.create_connection(("127.0.0.1", host_listener.port), timeout=2):
        pass  # the host itself can connect, so the sandbox's refusal is the sandbox's doing
    deadline = time.monotonic() + 2
    while host_listener.accepted < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert host_listener.accepted == 1


def test_sandbox_still_works_after_the_corpus(
    corpus_runs: dict[str, tuple[SandboxResult, float]], sandbox: Sandbox
) -> None:
    result = sandbox.run("print('still here')")
    assert result.ok and result.stdout == "still here\n"
