"""Run a service or worker as its own OS process (``python -m <module>``), as in production.

Used where replicas matter: several processes against one Redis, killed with SIGKILL or
stopped with SIGTERM by the test. Each runs in its own session (process group), so a test can
also interrupt it as a terminal's Ctrl-C does: SIGINT to the process and all its children.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class ServiceProcess:
    def __init__(self, module: str, env: dict[str, str], name: str | None = None):
        self.module = module
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "BATOS_LOG_JSON": "true", **env}
        self.name = name or module
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"batos-{self.name}-{os.getpid()}-{id(self)}.log"

    def start(self) -> ServiceProcess:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", self.module], cwd=REPO, env=self.env,
                                        stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def interrupt_group(self) -> None:
        """SIGINT to the process and every child in its group (a Ctrl-C at the terminal)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit by itself; its exit status."""
        assert self.process is not None
        code = self.process.wait(timeout)
        self._log.close()
        return code

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then wait; SIGKILL if it does not stop in time."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no chance to clean up (a crashed replica)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_output(self, needle: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.output():
                return
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.output()[-3000:]}")
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} never printed {needle!r}:\n{self.output()[-3000:]}")
