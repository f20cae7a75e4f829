"""Run untrusted Python in a hardened, throw-away container (gVisor by default).

Each run gets a fresh container from the sandbox image: no network, read-only root, a bounded
``/tmp``, memory = memory+swap limit, a CPU and a pids limit, every capability dropped,
``no-new-privileges``, uid 1000, no environment from the host, the program mounted read-only at
``/app``. The wall clock is enforced from outside (wait, then SIGKILL); output is read live from
the attach stream with the ``none`` log driver, capped per stream (see ``capture``); the
container is removed whatever happens. An unreachable engine yields a ``sandbox_unavailable``
result, never an exception.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

import docker
import docker.errors
import requests.exceptions
import structlog
from docker.types import LogConfig

from shared.sandbox.capture import CappedCapture
from shared.sandbox.reaper import labels, reap_leftovers
from shared.sandbox.result import Reason, SandboxResult, classify
from shared.sandbox.settings import SandboxSettings
from shared.sandbox.workspace import MAIN, MOUNT, STDIN, Workspace

log = structlog.get_logger(__name__)

ENGINE_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException)
# Fixed values only: nothing from the host's environment ever reaches the sandbox.
SANDBOX_ENV = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp"}
# Makes a file of the (read-only) run folder the program's stdin, then becomes the program.
_STDIN_BOOT = (
    f"import os,sys;fd=os.open({MOUNT + '/' + STDIN!r},os.O_RDONLY);os.dup2(fd,0);os.close(fd);"
    f"os.execv(sys.executable,[sys.executable,'-B',{MOUNT + '/' + MAIN!r},*sys.argv[1:]])"
)
_KILL_WAIT_S = 10.0


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
            return f"sandbox image {self.settings.sandbox_image!r} missing: run scripts/docker_up.sh"
        except ENGINE_ERRORS as exc:
            self._forget_client()
            return f"Docker engine unreachable: {exc}"
        return None

    def reap_leftovers(self) -> int:
        """Remove containers left by dead workers (call at start-up); 0 when Docker is away."""
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
        ``sandbox_timeout_s``) is the program's wall clock from container start; the call returns
        within about ``timeout_s`` + 1 s (start-up, kill and removal). A bad file name (absolute,
        ``..``, or the reserved ``main.py``) raises ``ValueError``: that is the caller's bug.
        """
        started = time.monotonic()
        timeout = self.settings.sandbox_timeout_s if timeout_s is None else timeout_s
        s = self.settings
        workspace = Workspace(s.sandbox_workdir, s.sandbox_host_workdir)
        try:
            workspace.populate(code, files, stdin)
            if stdin is None:
                command = [s.sandbox_python, "-B", f"{MOUNT}/{MAIN}", *args]
            else:
                command = [s.sandbox_python, "-B", "-c", _STDIN_BOOT, *args]
            try:
                result = self._run_container(self.client(), workspace, command, timeout, started)
            except ENGINE_ERRORS as exc:
                self._forget_client()
                result = SandboxResult.unavailable(
                    f"sandbox unavailable: {type(exc).__name__}: {exc}", time.monotonic() - started
                )
        finally:
            workspace.close()
        log.info(
            "sandbox.run",
            reason=result.reason.value,
            exit_code=result.exit_code,
            duration_s=round(result.duration_s, 3),
            runtime=s.sandbox_runtime,
            stdout_bytes=len(result.stdout),
            stderr_bytes=len(result.stderr),
        )
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

    def _create(self, client: Any, workspace: Workspace, command: list[str]) -> Any:
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
            user="1000:1000",
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
        self, client: Any, workspace: Workspace, command: list[str], timeout: float, started: float
    ) -> SandboxResult:
        container = self._create(client, workspace, command)
        stream: Any = None
        try:
            capture = CappedCapture(self.settings.sandbox_output_cap_bytes)
            # Attach before start so no byte is missed; the none log driver stores nothing.
            stream = container.attach(stdout=True, stderr=True, stream=True, demux=True, logs=False)
            reader = threading.Thread(target=capture.drain, args=(stream,), daemon=True)
            reader.start()
            container.start()
            deadline = time.monotonic() + timeout
            capture.stop.wait(max(0.0, deadline - time.monotonic()))
            timed_out = killed = False
            status: dict[str, Any] = {}
            if not capture.overflowed:
                try:
                    status = container.wait(timeout=max(0.05, deadline - time.monotonic()))
                except requests.exceptions.RequestException:  # ReadTimeout / ConnectionError
                    timed_out = True
            if capture.overflowed or timed_out:
                killed = self._kill(container)
                status = container.wait(timeout=_KILL_WAIT_S)
            reader.join(timeout=2.0)
            exit_code = int(status.get("StatusCode", -1))
            reason = classify(exit_code, timed_out=timed_out and killed, truncated=capture.overflowed)
            message = {
                Reason.TIMEOUT: f"killed after the {timeout:g} s wall-clock limit",
                Reason.OUTPUT_TRUNCATED: f"output over {capture.cap} bytes per stream: killed and cut",
                Reason.KILLED_OOM: f"killed by SIGKILL (the {self.settings.sandbox_memory} memory limit)",
            }.get(reason, "")
            return SandboxResult(
                exit_code, capture.stdout, capture.stderr, time.monotonic() - started, reason, message
            )
        finally:
            if stream is not None:
                stream.close()
            try:
                container.remove(force=True)
            except ENGINE_ERRORS as exc:  # the reaper gets it at the next start-up
                log.warning("sandbox.remove_failed", container=container.id[:12], error=str(exc))

    @staticmethod
    def _kill(container: Any) -> bool:
        """SIGKILL the container; False when it had already exited."""
        try:
            container.kill()
        except docker.errors.APIError as exc:
            if exc.status_code == 409:  # not running: it finished on its own just now
                return False
            raise
        return True
