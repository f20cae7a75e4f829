"""Sandbox.run on ordinary programs, its hardening as the engine sees it, and a missing engine."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from shared.sandbox import Reason, Sandbox, SandboxResult
from shared.sandbox.reaper import LABEL, OWNER_LABEL, owner_id
from shared.sandbox.runner import container_user
from shared.sandbox.settings import GVISOR_MIN_PIDS
from tests.shared.sandbox.conftest import SLACK_S, TIMEOUT_S, make_settings

pytestmark = pytest.mark.docker


def test_ok_program_output_and_exit_code(sandbox: Sandbox) -> None:
    result = sandbox.run("print('héllo ✓')")
    assert result.ok and result.reason is Reason.OK and result.exit_code == 0
    assert result.stdout == "héllo ✓\n" and result.stderr == ""
    assert 0 < result.duration_s < 10 + SLACK_S  # a sanity bound: speed is in bench_sandbox


def test_error_exit_code_with_traceback(sandbox: Sandbox) -> None:
    result = sandbox.run("raise ValueError('bad input')")
    assert not result.ok and result.reason is Reason.ERROR and result.exit_code == 1
    assert "ValueError: bad input" in result.stderr


def test_silent_failure_is_an_error(sandbox: Sandbox) -> None:
    result = sandbox.run("import sys\nsys.exit(3)")
    assert not result.ok and result.reason is Reason.ERROR and result.exit_code == 3
    assert result.stderr == ""


def test_stderr_with_exit_zero_is_success(sandbox: Sandbox) -> None:
    # The seed judged success by "stderr is empty"; success is the exit code.
    result = sandbox.run("import sys, warnings\nwarnings.warn('careful')\nprint('fine', file=sys.stderr)")
    assert result.ok and "careful" in result.stderr and "fine" in result.stderr


def test_files_args_and_stdin(sandbox: Sandbox) -> None:
    code = "import sys, helper\nprint(helper.twice(sys.stdin.read()), sys.argv[1:])"
    result = sandbox.run(
        code, files={"helper.py": "def twice(s):\n    return s * 2\n"}, args=["a", "b c"], stdin="xy"
    )
    assert result.ok, result.stderr
    assert result.stdout == "xyxy ['a', 'b c']\n"


def test_files_cannot_escape_the_run_folder(sandbox: Sandbox) -> None:
    for name in ("../evil.py", "/etc/evil.py", "main.py"):
        with pytest.raises(ValueError):
            sandbox.run("print(1)", files={name: "x"})


def test_output_kept_before_a_timeout(sandbox: Sandbox) -> None:
    result = sandbox.run("import time\nprint('started')\ntime.sleep(60)", timeout_s=1.5)
    assert result.reason is Reason.TIMEOUT and result.stdout == "started\n"
    assert result.duration_s < 1.5 + SLACK_S


def test_control_characters_are_escaped_and_the_cap_counts_text(sandbox: Sandbox) -> None:
    result = sandbox.run("import os\nos.write(1, b'a\\x1b[31mb\\x00c\\td\\n')\nos.write(2, b'\\xff\\xfe')")
    assert result.ok, result
    assert result.stdout == "a\\x1b[31mb\\x00c\td\n" and result.stderr == "\ufffd\ufffd"


def test_program_exit_2_is_the_programs_own(sandbox: Sandbox) -> None:
    result = sandbox.run("import sys\nsys.exit(2)")
    assert result.reason is Reason.ERROR and result.exit_code == 2 and result.stderr == ""


def test_runtime_crash_is_its_own_reason() -> None:
    # Far under the floor the settings enforce (model_copy skips validation): busy processes
    # need gVisor host threads, which hit the pids limit, and the runtime dies (exit 2, no
    # output), not the program.
    settings = make_settings().model_copy(update={"sandbox_pids_limit": 64})
    busy = "import os, time\nfor _ in range(40):\n    if os.fork() == 0:\n        while True:\n            pass\n"
    result = Sandbox(settings).run(busy + "time.sleep(2)\nprint('never seen')")
    assert result.reason is Reason.SANDBOX_CRASHED and not result.ok, result
    assert "runtime crashed" in result.message and "pids" in result.message


async def test_arun(sandbox: Sandbox) -> None:
    result = await sandbox.arun("print(6 * 7)")
    assert result.ok and result.stdout == "42\n"


def _inspect_while_running(sandbox: Sandbox) -> tuple[dict[str, Any], SandboxResult]:
    """Start a sleeping run and inspect its container as the engine sees it."""
    results: list[SandboxResult] = []
    runner = threading.Thread(
        target=lambda: results.append(sandbox.run("import time\ntime.sleep(60)", timeout_s=TIMEOUT_S)))
    runner.start()
    client = sandbox.client()
    deadline = time.monotonic() + 10
    attrs: dict[str, Any] = {}
    while not attrs and time.monotonic() < deadline:
        for c in client.containers.list(filters={"label": f"{OWNER_LABEL}={owner_id()}"}):
            attrs = c.attrs
        time.sleep(0.05)
    runner.join()
    return attrs, results[0]


def test_container_hardening_as_the_engine_sees_it(sandbox: Sandbox, canary: str) -> None:
    attrs, result = _inspect_while_running(sandbox)
    assert attrs, "no running sandbox container found"
    host, config = attrs["HostConfig"], attrs["Config"]
    assert host["Runtime"] == "runsc"
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd")
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Memory"] == host["MemorySwap"] == 256 * 1024 * 1024
    assert host["NanoCpus"] > 0 and host["PidsLimit"] >= GVISOR_MIN_PIDS
    assert host["LogConfig"]["Type"] == "none"  # nothing a program prints is stored on disk
    assert host["Privileged"] is False
    assert "size=64m" in host["Tmpfs"]["/tmp"]
    uid, gid = container_user(sandbox.settings)
    assert config["User"] == f"{uid}:{gid}" and uid != 0
    assert config["Labels"][LABEL] == "1"
    assert not any(canary in e for e in config["Env"])
    mounts = {m["Destination"]: m for m in attrs["Mounts"]}
    assert set(mounts) == {"/app", "/etc/resolv.conf"}
    assert not any(m["RW"] for m in mounts.values())
    assert result.reason is Reason.TIMEOUT
    # ... and the container is gone soon afterwards (removed in the background after a kill).
    deadline = time.monotonic() + SLACK_S
    while sandbox.client().containers.list(all=True, sparse=True, filters={"id": attrs["Id"]}):
        assert time.monotonic() < deadline, "the killed container was not removed"
        time.sleep(0.2)


def test_flood_costs_neither_disk_nor_memory(sandbox: Sandbox) -> None:
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = sandbox.run("import os\nb = b'z' * (1 << 20)\nfor _ in range(1024):\n    os.write(1, b)")
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert result.reason is Reason.OUTPUT_TRUNCATED
    assert len(result.stdout) == sandbox.settings.sandbox_output_cap_bytes
    assert grown_mib < 32


def test_runc_only_when_allowed_and_then_hardened_too() -> None:
    box = Sandbox(make_settings(sandbox_runtime="runc", sandbox_allow_runc=True))
    result = box.run(
        "import os, socket\nprint(os.getuid(), [n for _, n in socket.if_nameindex()])\nopen('/etc/x', 'w')"
    )
    assert result.reason is Reason.ERROR and result.stdout == f"{container_user(box.settings)[0]} ['lo']\n"
    assert "Read-only file system" in result.stderr


def test_unreachable_engine_is_a_result_not_an_exception() -> None:
    box = Sandbox(make_settings(sandbox_docker_base_url="unix:///nonexistent/docker.sock"))
    result = box.run("print(1)")
    assert result.reason is Reason.SANDBOX_UNAVAILABLE and not result.ok and result.exit_code is None
    assert "unavailable" in result.message
    assert box.probe() is not None
    assert box.reap_leftovers() == 0


def test_missing_image_is_unavailable(sandbox: Sandbox) -> None:
    box = Sandbox(make_settings(sandbox_image="batos-no-such-image:never"))
    assert "missing" in (box.probe() or "")
    result = box.run("print(1)")
    assert result.reason is Reason.SANDBOX_UNAVAILABLE and "batos-no-such-image" in result.message
