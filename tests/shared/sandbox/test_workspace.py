"""Run folders are private (0700/0600) and still readable by the sandboxed program, only by it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from shared.sandbox import Sandbox
from shared.sandbox.runner import container_user
from shared.sandbox.workspace import MOUNT, Workspace, reap_folders
from tests.shared.sandbox.conftest import make_settings


def test_run_folder_is_private(tmp_path: Path) -> None:
    owner = container_user(make_settings()) if os.geteuid() == 0 else None
    ws = Workspace(str(tmp_path), owner=owner)
    try:
        ws.populate("print(1)", {"pkg/mod.py": "x = 1"}, "secret stdin")
        paths = [ws.root, *ws.root.rglob("*")]
        assert len(paths) == 7  # root, resolv.conf, app, main.py, stdin, pkg, pkg/mod.py
        for path in paths:
            st = path.lstat()
            want = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
            assert stat.S_IMODE(st.st_mode) == want, (path, oct(st.st_mode))
            assert (st.st_uid, st.st_gid) == (owner or (os.geteuid(), os.getegid())), path
    finally:
        ws.close()
    assert not ws.root.exists()


@pytest.mark.docker
def test_program_reads_its_private_files(sandbox: Sandbox) -> None:
    code = (
        "import os, sys, helper\n"
        "print(helper.X, sys.stdin.read(), oct(os.stat('/app/main.py').st_mode & 0o777),"
        " oct(os.stat('/app').st_mode & 0o777))"
    )
    result = sandbox.run(code, files={"helper.py": "X = 'h'"}, stdin="in")
    assert result.ok, result
    assert result.stdout == "h in 0o600 0o700\n"


@pytest.mark.docker
def test_another_uid_cannot_read_a_run_folder(sandbox: Sandbox, tmp_path: Path) -> None:
    s = sandbox.settings
    uid, gid = container_user(s)
    ws = Workspace(str(tmp_path), owner=(uid, gid) if os.geteuid() == 0 else None)
    ws.populate("print(1)", None, "secret")
    probe = (
        "import os\n"
        "for p in ('/app', '/app/main.py', '/app/.batos_stdin'):\n"
        "    try:\n        open(p).read() if p != '/app' else os.listdir(p); print(p, 'READ')\n"
        "    except OSError as e:\n        print(p, 'denied', e.errno)\n"
    )
    try:
        out = sandbox.client().containers.run(
            s.sandbox_image, ["python3", "-c", probe], runtime=s.sandbox_runtime, network_mode="none",
            user=f"{uid + 1}:{gid + 1}", volumes={ws.host_path: {"bind": MOUNT, "mode": "ro"}},
            cap_drop=["ALL"], remove=True,
        )  # fmt: skip
    finally:
        ws.close()
    text = out.decode()
    assert "READ" not in text and text.count("denied 13") == 3, text


def test_old_run_folders_are_reaped(tmp_path: Path) -> None:
    old, young = Workspace(str(tmp_path)), Workspace(str(tmp_path))
    other = tmp_path / "not-a-run-folder"
    other.mkdir()
    for path in (old.root, other):
        os.utime(path, (0, 0))
    assert reap_folders(str(tmp_path), max_age_s=600) == 1
    assert not old.root.exists() and young.root.exists() and other.exists()
    young.close()
