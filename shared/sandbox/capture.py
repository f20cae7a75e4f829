"""Bounded capture of a container's stdout and stderr from the attach stream, and its rendering.

The engine's log driver is ``none``: nothing a sandboxed program writes is stored on the host's
disk. Output is read live from the attach connection and at most ``cap`` bytes per stream are
kept in memory (stderr gets a few bytes more for the watchdog's trailer); the first byte beyond
that sets ``overflowed`` (and ``stop``) so the runner kills the container, while the reader keeps
draining and discarding until the stream ends (a reader that stopped would block the engine's
copier, and with it the kill). A flood therefore costs at most ``2 * cap`` bytes plus one frame of
memory, and no disk.

:func:`render` turns kept bytes into the text returned: invalid UTF-8 becomes U+FFFD, control
characters (Unicode category Cc but ``\\n`` and ``\\t``: ESC, NUL, DEL, C1...) become literal
``\\xNN`` escapes, and the cap counts the UTF-8 bytes of that text, not the bytes read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

# Every Cc code point (U+0000..U+001F, U+007F..U+009F) but newline and tab, as a 4-char escape.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0)) if c not in (0x09, 0x0A)}
_ESCAPE_TEXTS = frozenset(_ESCAPES.values())


def render(raw: bytes, cap: int) -> tuple[str, bool]:
    """``raw`` as safe text of at most ``cap`` UTF-8 bytes, and whether it had to be cut."""
    text = raw.decode("utf-8", errors="replace").translate(_ESCAPES)
    if len(text) <= cap // 4 or len(text.encode("utf-8")) <= cap:  # a char is at most 4 bytes
        return text, False
    # Cut at a character boundary, and never inside an escape (it would read as another text).
    cut = text.encode("utf-8")[:cap].decode("utf-8", errors="ignore")
    for back in (1, 2, 3):
        start = len(cut) - back
        if start >= 0 and text[start : start + 4] in _ESCAPE_TEXTS:
            return cut[:start], True
    return cut, True


class CappedCapture:
    """Drains ``(stdout, stderr)`` frames on a thread, keeping at most ``cap`` bytes each."""

    def __init__(self, cap: int, stderr_extra: int = 0) -> None:
        self.cap = cap
        self._caps = (cap, cap + stderr_extra)
        self._bufs = (bytearray(), bytearray())
        self.overflowed = False
        self.stop = threading.Event()  # the runner should look: overflow or end of stream
        self.done = threading.Event()  # the stream ended (or failed)
        self.error: str | None = None

    def drain(self, frames: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        """Read frames until the stream ends or the cap is exceeded (the thread's target)."""
        try:
            for out, err in frames:
                if out:
                    self._keep(0, out)
                if err:
                    self._keep(1, err)
        except Exception as exc:  # the connection closed under us: the runner decides
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.done.set()
            self.stop.set()

    def _keep(self, stream: int, chunk: bytes) -> None:
        buf = self._bufs[stream]
        room = self._caps[stream] - len(buf)
        if room > 0:
            buf += chunk[:room]
        if len(chunk) > room and not self.overflowed:
            self.overflowed = True
            self.stop.set()

    @property
    def raw_stdout(self) -> bytes:
        """The stdout bytes kept so far."""
        return bytes(self._bufs[0])

    @property
    def raw_stderr(self) -> bytes:
        """The stderr bytes kept so far (the watchdog's trailer included)."""
        return bytes(self._bufs[1])
