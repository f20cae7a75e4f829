"""Sandbox latency for a trivial tool, beside bare hardened `docker run` and the bare SDK call.

    .venv/bin/python bench/bench_sandbox.py [N]

Every variant runs the same trivial program with the same hardening flags, interleaved in the
same run (so drift hits all alike); medians of N runs (default 10). Then tools validated per
minute: a tool's tests (one `Sandbox.run`) sequentially and two at a time.
Needs the engine and image: `bash scripts/docker_up.sh`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.sandbox import Sandbox, SandboxSettings, invoke_function

TOOL = '''
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


if __name__ == "__main__":
    assert add(2, 3) == 5
    print("ok")
'''


def bare_cli(runtime: str, folder: str, s: SandboxSettings) -> Callable[[], None]:
    argv = [
        "docker", "run", "--rm", f"--runtime={runtime}", "--network=none", "--read-only",
        "--tmpfs", f"/tmp:rw,nosuid,nodev,noexec,size={s.sandbox_tmpfs_size},mode=1777",
        f"--memory={s.sandbox_memory}", f"--memory-swap={s.sandbox_memory}",
        f"--cpus={s.sandbox_nano_cpus / 1e9:g}", f"--pids-limit={s.sandbox_pids_limit}",
        "--cap-drop=ALL", "--security-opt=no-new-privileges", "--user=1000:1000",
        "--log-driver=none", "-v", f"{folder}:/app:ro", s.sandbox_image, "python3", "-B", "/app/main.py",
    ]  # fmt: skip

    def go() -> None:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)

    return go


def bare_sdk(box: Sandbox, runtime: str, folder: str) -> Callable[[], None]:
    s = box.settings
    client = box.client()

    def go() -> None:
        c = client.containers.run(
            s.sandbox_image, ["python3", "-B", "/app/main.py"], runtime=runtime, network_mode="none",
            read_only=True, tmpfs={"/tmp": f"size={s.sandbox_tmpfs_size}"}, mem_limit=s.sandbox_memory,
            memswap_limit=s.sandbox_memory, nano_cpus=s.sandbox_nano_cpus, pids_limit=s.sandbox_pids_limit,
            cap_drop=["ALL"], security_opt=["no-new-privileges"], user="1000:1000",
            volumes={folder: {"bind": "/app", "mode": "ro"}}, detach=True,
        )  # fmt: skip
        try:
            assert c.wait(timeout=30)["StatusCode"] == 0
            c.logs()
        finally:
            c.remove(force=True)

    return go


def through_sandbox(box: Sandbox) -> Callable[[], None]:
    def go() -> None:
        r = box.run(TOOL)
        assert r.ok, r

    return go


def through_invoke(box: Sandbox) -> Callable[[], None]:
    def go() -> None:
        r = invoke_function(box, TOOL, "add", {"a": 1, "b": 2})
        assert r.ok and r.value == 3, r

    return go


def main() -> None:
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    runsc = Sandbox(SandboxSettings())
    runc = Sandbox(SandboxSettings(sandbox_runtime="runc", sandbox_allow_runc=True))
    problem = runsc.probe()
    if problem:
        sys.exit(f"bench_sandbox: {problem}")
    with tempfile.TemporaryDirectory() as folder:
        Path(folder).chmod(0o755)
        (Path(folder) / "main.py").write_text(TOOL)
        (Path(folder) / "main.py").chmod(0o644)
        variants: dict[str, Callable[[], None]] = {
            "Sandbox.run runsc": through_sandbox(runsc),
            "invoke_function runsc": through_invoke(runsc),
            "bare docker run CLI runsc": bare_cli("runsc", folder, runsc.settings),
            "bare SDK runsc": bare_sdk(runsc, "runsc", folder),
            "Sandbox.run runc": through_sandbox(runc),
            "bare docker run CLI runc": bare_cli("runc", folder, runsc.settings),
            "bare SDK runc": bare_sdk(runsc, "runc", folder),
        }
        for go in variants.values():  # warm-up: page cache, image layers
            go()
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(n):
            for name, go in variants.items():
                t0 = time.perf_counter()
                go()
                times[name].append(time.perf_counter() - t0)

        med = {name: statistics.median(ts) for name, ts in times.items()}
        print(f"\n## Trivial tool, start to exit (median of {n}, seconds)")
        print(f"{'variant':28} {'median':>7} {'min':>7} {'max':>7} {'vs bare CLI':>12} {'vs bare SDK':>12}")
        for name, ts in times.items():
            rt = "runsc" if name.endswith("runsc") else "runc"
            cli, sdk = med[f"bare docker run CLI {rt}"], med[f"bare SDK {rt}"]
            print(
                f"{name:28} {med[name]:7.3f} {min(ts):7.3f} {max(ts):7.3f} "
                f"{med[name] / cli:11.2f}x {med[name] / sdk:11.2f}x"
            )
        print(f"runsc / runc through Sandbox.run: {med['Sandbox.run runsc'] / med['Sandbox.run runc']:.2f}x")

        print("\n## Tools validated per minute (tests of one tool = one Sandbox.run, runsc)")
        for workers in (1, 2):
            count = max(n, 8)
            t0 = time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(lambda _: through_sandbox(runsc)(), range(count)))
            elapsed = time.perf_counter() - t0
            print(f"{workers} at a time: {count / elapsed * 60:6.1f} per minute ({count} in {elapsed:.1f} s)")


if __name__ == "__main__":
    main()
