"""How promptly a sandbox run ends at its deadline, whatever the program does.

    .venv/bin/python -m bench.bench_sandbox_kill [N]

Each never-ending program (infinite loop, sleep forever, thread bomb, fork bomb) runs N times
(default 3) at a 5 s timeout, on a quiet machine and with a busy loop on every core. Printed:
``wall - timeout`` as the caller sees it (median / max; target <= 1 s), and how long after the
call returned the container was gone (the kill and removal, done in the background).
Needs the engine and image: `bash scripts/docker_up.sh`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench.common import median, table
from shared.sandbox import Sandbox, SandboxSettings
from shared.sandbox.reaper import OWNER_LABEL, owner_id

TIMEOUT_S = 5.0
TARGET_S = 1.0
PROGRAMS = {
    "infinite loop": "while True:\n    pass",
    "sleep forever": "import time\ntime.sleep(10**9)",
    "thread bomb": (
        "import threading, time\nwhile True:\n    try:\n"
        "        threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()\n"
        "    except Exception:\n        pass"
    ),
    "fork bomb": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
}


@contextmanager
def busy_cores(on: bool) -> Iterator[None]:
    """A busy loop on every core while inside (nothing when ``on`` is false)."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True:\n    pass"]) for _ in range(os.cpu_count() or 1) if on
    ]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def gone_after(box: Sandbox) -> float:
    """Seconds until no container of this process is left (background kill and removal)."""
    t0 = time.monotonic()
    label = f"{OWNER_LABEL}={owner_id()}"
    while box.client().containers.list(all=True, sparse=True, filters={"label": label}) and time.monotonic() - t0 < 60:
        time.sleep(0.05)
    return time.monotonic() - t0


def main() -> None:
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    box = Sandbox(SandboxSettings(sandbox_timeout_s=TIMEOUT_S))
    problem = box.probe()
    if problem:
        sys.exit(f"bench_sandbox_kill: {problem}")
    box.run("print(1)")  # warm-up
    rows: list[list[object]] = []
    for load in (False, True):
        with busy_cores(load):
            for name, code in PROGRAMS.items():
                over: list[float] = []
                gone: list[float] = []
                reasons: set[str] = set()
                for _ in range(n):
                    t0 = time.monotonic()
                    result = box.run(code)
                    over.append(time.monotonic() - t0 - TIMEOUT_S)
                    reasons.add(result.reason.value)
                    gone.append(gone_after(box))
                ok = "yes" if max(over) <= TARGET_S else "NO"
                rows.append([
                    name, "busy" if load else "quiet", median(over), max(over), f"<= {TARGET_S:g}", ok,
                    median(gone), max(gone), ",".join(sorted(reasons)),
                ])  # fmt: skip
    table(
        f"Run end vs deadline, timeout {TIMEOUT_S:g} s, {n} runs each (seconds)",
        ["program", "load", "wall-timeout med", "max", "target", "met", "gone after med", "max", "reasons"],
        rows,
    )
    print("(negative: the program ended before its deadline, e.g. a fork bomb on the memory limit)")


if __name__ == "__main__":
    main()
