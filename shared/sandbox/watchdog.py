"""The container's pid 1: runs the program, ends it at its deadline, reports how it ended.

``WATCHDOG_SOURCE`` is run inside the sandbox as ``python3 -c WATCHDOG_SOURCE <deadline_s>
<stdin 0|1> <args...>`` (a string; never executed in this process). It forks the program
(``/app/main.py`` with ``args``, stdin from the run folder's stdin file when asked) and then:

* at ``deadline_s`` after its own start it SIGKILLs every process of the sandbox user and exits
  137, so a container ends by itself even when the worker that started it died (the host kills
  it at its own, earlier deadline in the normal case);
* when the program ends it kills what the program left running, then writes ``TRAILER`` and the
  program's exit code (``128 + n`` for a signal) as the last bytes of stderr and exits with that
  code. The host strips the trailer; a run that ended without one was not ended by the program
  but by the runtime: gVisor itself crashed (``Reason.SANDBOX_CRASHED``).

It ignores every signal it can (gVisor delivers a program's signals to pid 1), so the program
can only end it with SIGKILL, which reads as a kill (exit 137), never as a runtime crash; it also
makes itself non-dumpable so the program (same uid) cannot ptrace it.
"""

from __future__ import annotations

import re

from shared.sandbox.workspace import MAIN, MOUNT, STDIN

TRAILER = b"\n\x00batos-sandbox-exit:"
_TRAILER_RE = re.compile(re.escape(TRAILER) + rb"(\d{1,3})\n\Z")
# Room kept on stderr beyond the output cap so the trailer always fits.
TRAILER_ROOM = len(TRAILER) + 8

WATCHDOG_SOURCE = f"""
import os, signal, sys
try:
    import ctypes
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: no ptrace by the program
except Exception:
    pass
deadline, with_stdin, args = float(sys.argv[1]), sys.argv[2] == "1", sys.argv[3:]
ignored = [s for s in signal.valid_signals()
           if s not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD, signal.SIGALRM)]
for s in ignored:
    try:
        signal.signal(s, signal.SIG_IGN)
    except (OSError, ValueError):
        pass
child = os.fork()
if child == 0:
    try:
        for s in ignored:
            try:
                signal.signal(s, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
        if with_stdin:
            fd = os.open({MOUNT + "/" + STDIN!r}, os.O_RDONLY)
            os.dup2(fd, 0)
            os.close(fd)
        os.execv(sys.executable, [sys.executable, "-B", {MOUNT + "/" + MAIN!r}, *args])
    finally:
        os._exit(127)


def kill_all():
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass


def expire(signum, frame):
    kill_all()
    os._exit(137)


signal.signal(signal.SIGALRM, expire)
signal.setitimer(signal.ITIMER_REAL, deadline)
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        os._exit(137)
    if pid == child:
        break
code = os.waitstatus_to_exitcode(status)
code = code if code >= 0 else 128 - code
kill_all()
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
os.write(2, {TRAILER!r} + str(code).encode() + b"\\n")
os._exit(code)
"""


def split_trailer(stderr: bytes) -> tuple[bytes, int | None]:
    """``stderr`` without the watchdog's trailer, and the exit code it reported (None: absent)."""
    match = _TRAILER_RE.search(stderr)
    if match is None:
        return stderr, None
    return stderr[: match.start()], int(match.group(1))
