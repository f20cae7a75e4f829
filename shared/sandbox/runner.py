"""Run untrusted Python in a hardened, throw-away container (gVisor by default).

Each run gets a fresh container from the sandbox image: no network, read-only root, a bounded
``/tmp``, memory = memory+swap limit, a CPU and a pids limit, every capability dropped,
``no-new-privileges``, uid 1000, no environment from the host, the program mounted read-only at
``/app`` (private to the container's user, see ``workspace``). Arguments are checked first
(``limits``). The program runs under a watchdog as pid 1 (``watchdog``) that ends the container
by itself shortly after the deadline, even when this process died. This process returns at the
deadline (or at an output overflow) without waiting for the engine: killing a busy gVisor
container takes up to ~2 s, so the kill, the removal and the run folder's deletion happen on a
background thread. Output is read live from the attach stream with the ``none`` log driver,
capped per stream and made safe (see ``capture``). An unreachable engine yields a
``sandbox_unavailable`` result, never an exception. Every run is counted by reason
(``batos_sandbox_runs_total``) and timed (``batos_sandbox_run_seconds``).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

import docker
import docker.errors
import requests.exceptions
import structlog
from docker.types import LogConfig

from shared.metrics import SANDBOX_RUNS, SANDBOX_SECONDS
from shared.sandbox.capture import CappedCapture, render
from shared.sandbox.limits import check_request
from shared.sandbox.reaper import labels, reap_leftovers
from shared.sandbox.result import Reason, SandboxResult, classify
from shared.sandbox.settings import SandboxSettings
from shared.sandbox.watchdog import TRAILER_ROOM, WATCHDOG_SOURCE, split_trailer
from shared.sandbox.workspace import MOUNT, Workspace, reap_folders

log = structlog.get_logger(__name__)

ENGINE_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException)
# Fixed values only: nothing from the host's environment ever reaches the sandbox.
SANDBOX_ENV = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp"}
# The watchdog ends the container this long after the host's deadline at the latest (it starts
# after the host's clock does): a backstop for a worker that died, never a race with the host.
WATCHDOG_GRACE_S = 0.5
KILLED = 137  # the exit code reported for our own kills (SIGKILL)


def container_user(s: SandboxSettings) -> tuple[int, int]:
    """The container's uid:gid: the sandbox user when we are root, else our own (see workspace)."""
    if os.geteuid() == 0:
        return s.sandbox_uid, s.sandbox_gid
    return os.geteuid(), os.getegid()


class Sandbox:
    """Runs Python programs in the sandbox; safe to share between threads."""

    def __init__(self, settings: SandboxSettings | None = None, *, client: Any = None) -> None:
        self.settings = settings or SandboxSettings()
        self._client = client
        self._lock = threading.Lock()

    # -- the engine ---------------------------------------------------------------------------
    def client(self) -> Any:
        """The Docker client, connected on first use (raises DockerException when unreachable)."""
        with self._lock:
            if self._client is None:
                s = self.settings
                opts: dict[str, Any] = {"timeout": int(s.sandbox_docker_timeout_s), "max_pool_size": 32}
                if s.sandbox_docker_base_url:
                    self._client = docker.DockerClient(base_url=s.sandbox_docker_base_url, **opts)
                else:
                    self._client = docker.from_env(**opts)
            return self._client

    def _forget_client(self) -> None:
        with self._lock:
            self._client = None

    def probe(self) -> str | None:
        """None when runs can happen, else what is missing (engine, runtime or image)."""
        try:
            client = self.client()
            runtimes = client.info().get("Runtimes") or {}
            if self.settings.sandbox_runtime not in runtimes:
                return f"the Docker engine has no {self.settings.sandbox_runtime!r} runtime"
            client.images.get(self.settings.sandbox_image)
        except docker.errors.ImageNotFound:
            return (f"sandbox image {self.settings.sandbox_image!r} missing: build it with "
                    "`docker build -t batos-sandbox:latest deploy/sandbox` (or deploy/sandbox/build_offline.sh)")
        except ENGINE_ERRORS as exc:
            self._forget_client()
            return f"Docker engine unreachable: {exc}"
        return None

    def reap_leftovers(self) -> int:
        """Remove containers left by dead workers (call at start-up); 0 when Docker is away.

        Run folders older than ``sandbox_reap_after_s`` go too (a dead worker's are left behind).
        """
        reap_folders(self.settings.sandbox_workdir, self.settings.sandbox_reap_after_s)
        try:
            return reap_leftovers(self.client(), max_age_s=self.settings.sandbox_reap_after_s)
        except ENGINE_ERRORS as exc:
            self._forget_client()
            log.warning("sandbox.reap_skipped", error=str(exc))
            return 0

    # -- runs ---------------------------------------------------------------------------------
    def run(
        self,
        code: str,
        *,
        files: dict[str, str] | None = None,
        args: Sequence[str] = (),
        stdin: str | None = None,
        timeout_s: float | None = None,
    ) -> SandboxResult:
        """Run ``code`` as /app/main.py with ``files`` beside it; never raises for engine trouble.

        ``args`` become ``sys.argv[1:]``, ``stdin`` the program's stdin. ``timeout_s`` (default
        ``sandbox_timeout_s``) is the program's wall clock from container start (boot included);
        the call returns within about ``timeout_s`` plus the container's creation, whatever the
        program does. Any bad argument (types, a bad file name, text that is not UTF-8
        encodable, NUL, over a bound of the settings) raises ``ValueError``: the caller's bug.
        """
        started = time.monotonic()
        s = self.settings
        timeout = check_request(s, code, files, args, stdin, timeout_s)
        user = container_user(s)
        workspace = Workspace(s.sandbox_workdir, s.sandbox_host_workdir, user if os.geteuid() == 0 else None)
        owned = True  # False once a background cleanup took the folder over
        try:
            workspace.populate(code, files, stdin)
            command = [
                s.sandbox_python, "-B", "-c", WATCHDOG_SOURCE,
                f"{timeout + WATCHDOG_GRACE_S:.3f}", "0" if stdin is None else "1", *args,
            ]  # fmt: skip
            try:
                result, owned = self._run_container(self.client(), workspace, command, user, timeout, started)
            except ENGINE_ERRORS as exc:
                self._forget_client()
                result = SandboxResult.unavailable(
                    f"sandbox unavailable: {type(exc).__name__}: {exc}", time.monotonic() - started
                )
        finally:
            if owned:
                workspace.close()
        log.info(
            "sandbox.run",
            reason=result.reason.value,
            exit_code=result.exit_code,
            duration_s=round(result.duration_s, 3),
            runtime=s.sandbox_runtime,
            stdout_chars=len(result.stdout),
            stderr_chars=len(result.stderr),
        )
        SANDBOX_RUNS.labels(result.reason.value).inc()
        SANDBOX_SECONDS.labels(result.reason.value).observe(result.duration_s)
        return result

    async def arun(
        self,
        code: str,
        *,
        files: dict[str, str] | None = None,
        args: Sequence[str] = (),
        stdin: str | None = None,
        timeout_s: float | None = None,
    ) -> SandboxResult:
        """``run`` on a worker thread, for asyncio callers."""
        return await asyncio.to_thread(
            self.run, code, files=files, args=args, stdin=stdin, timeout_s=timeout_s
        )

    def _create(self, client: Any, workspace: Workspace, command: list[str], user: tuple[int, int]) -> Any:
        s = self.settings
        return client.containers.create(
            s.sandbox_image,
            command,
            runtime=s.sandbox_runtime,
            network_mode="none",
            read_only=True,
            tmpfs={"/tmp": f"rw,nosuid,nodev,noexec,size={s.sandbox_tmpfs_size},mode=1777"},
            shm_size=s.sandbox_tmpfs_size,
            mem_limit=s.sandbox_memory,
            memswap_limit=s.sandbox_memory,
            nano_cpus=s.sandbox_nano_cpus,
            pids_limit=s.sandbox_pids_limit,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            user=f"{user[0]}:{user[1]}",
            environment=dict(SANDBOX_ENV),
            hostname="sandbox",
            working_dir=MOUNT,
            volumes={
                workspace.host_path: {"bind": MOUNT, "mode": "ro"},
                workspace.host_resolv_conf: {"bind": "/etc/resolv.conf", "mode": "ro"},
            },
            labels=labels(),
            log_config=LogConfig(type=LogConfig.types.NONE),
            stdin_open=False,
            tty=False,
        )

    def _run_container(
        self,
        client: Any,
        workspace: Workspace,
        command: list[str],
        user: tuple[int, int],
        timeout: float,
        started: float,
    ) -> tuple[SandboxResult, bool]:
        """The run's result, and whether the caller still owns (must delete) the run folder."""
        container = self._create(client, workspace, command, user)
        stream: Any = None
        ended = False  # the container exited by itself: removed here, not in the background
        try:
            cap = self.settings.sandbox_output_cap_bytes
            capture = CappedCapture(cap, stderr_extra=TRAILER_ROOM)
            # Attach before start so no byte is missed; the none log driver stores nothing.
            stream = container.attach(stdout=True, stderr=True, stream=True, demux=True, logs=False)
            threading.Thread(target=capture.drain, args=(stream,), daemon=True).start()
            deadline = time.monotonic() + timeout  # the program cannot run before this
            container.start()
            capture.stop.wait(max(0.0, deadline - time.monotonic()))
            status: dict[str, Any] = {}
            if not capture.overflowed:
                try:
                    status = container.wait(timeout=max(0.05, deadline - time.monotonic()))
                    ended = True
                except requests.exceptions.RequestException:  # ReadTimeout / ConnectionError
                    pass
            if ended:
                capture.done.wait(timeout=2.0)  # the last frames after the exit
            result = self._result(capture, status if ended else None, timeout, started)
            return result, ended
        finally:
            if ended:
                self._dispose(container, stream, None)
            else:  # killing a busy gVisor container is slow: not on the caller's time
                threading.Thread(
                    target=self._dispose, args=(container, stream, workspace), daemon=True
                ).start()

    def _result(
        self, capture: CappedCapture, status: dict[str, Any] | None, timeout: float, started: float
    ) -> SandboxResult:
        """What the run produced; ``status`` None: we kill it (deadline or output overflow)."""
        cap = capture.cap
        raw_err, reported = split_trailer(capture.raw_stderr)
        stdout, cut_out = render(capture.raw_stdout, cap)
        stderr, cut_err = render(raw_err, cap)
        timed_out = status is None and not capture.overflowed
        exit_code = KILLED if status is None else int(status.get("StatusCode", -1))
        truncated = capture.overflowed or cut_out or cut_err
        reason = classify(exit_code, timed_out=timed_out, truncated=truncated, program_ended=reported is not None)
        message = {
            Reason.TIMEOUT: f"killed after the {timeout:g} s wall-clock limit",
            Reason.OUTPUT_TRUNCATED: f"output over {cap} bytes per stream: "
            + ("killed and cut" if capture.overflowed else "cut"),
            Reason.KILLED_OOM: f"killed by SIGKILL (the {self.settings.sandbox_memory} memory limit)",
            Reason.SANDBOX_CRASHED: f"the sandbox runtime crashed (exit {exit_code}), not the program: "
            f"e.g. gVisor at the pids limit ({self.settings.sandbox_pids_limit})",
        }.get(reason, "")
        if reason is Reason.SANDBOX_CRASHED:
            log.error("sandbox.runtime_crashed", exit_code=exit_code, runtime=self.settings.sandbox_runtime)
        return SandboxResult(exit_code, stdout, stderr, time.monotonic() - started, reason, message)

    @staticmethod
    def _dispose(container: Any, stream: Any, workspace: Workspace | None) -> None:
        """Kill and remove the container, close its stream, delete the run folder (if given)."""
        try:
            container.remove(force=True)
        except ENGINE_ERRORS as exc:  # the watchdog ends it; the reaper removes it later
            log.warning("sandbox.remove_failed", container=container.id[:12], error=str(exc))
        finally:
            if stream is not None:
                stream.close()
            if workspace is not None:
                workspace.close()
