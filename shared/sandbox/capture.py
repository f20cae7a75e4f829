"""Bounded capture of a container's stdout and stderr from the attach stream.

The engine's log driver is ``none``: nothing a sandboxed program writes is stored on the host's
disk. Output is read live from the attach connection and at most ``cap`` bytes per stream are
kept in memory; the first byte beyond the cap sets ``overflowed`` (and ``stop``) so the runner
kills the container, while the reader keeps draining and discarding until the stream ends (a
reader that stopped would block the engine's copier, and with it the kill). A flood therefore
costs at most ``2 * cap`` bytes plus one frame of memory, and no disk.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable


class CappedCapture:
    """Drains ``(stdout, stderr)`` frames on a thread, keeping at most ``cap`` bytes each."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._out = bytearray()
        self._err = bytearray()
        self.overflowed = False
        self.stop = threading.Event()  # the runner should look: overflow or end of stream
        self.done = threading.Event()  # the stream ended (or failed)
        self.error: str | None = None

    def drain(self, frames: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        """Read frames until the stream ends or the cap is exceeded (the thread's target)."""
        try:
            for out, err in frames:
                if out:
                    self._keep(self._out, out)
                if err:
                    self._keep(self._err, err)
        except Exception as exc:  # the connection closed under us: the runner decides
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.done.set()
            self.stop.set()

    def _keep(self, buf: bytearray, chunk: bytes) -> None:
        room = self.cap - len(buf)
        if room > 0:
            buf += chunk[:room]
        if len(chunk) > room and not self.overflowed:
            self.overflowed = True
            self.stop.set()

    @property
    def stdout(self) -> str:
        """Captured stdout, decoded leniently."""
        return bytes(self._out).decode("utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        """Captured stderr, decoded leniently."""
        return bytes(self._err).decode("utf-8", errors="replace")
