"""Content-addressed blobs (``POST/HEAD /api/blobs/sha256:<hex>``) under ``<state>/blobs``.

An upload streams to a temporary file in the same folder while it is hashed; it is renamed
into place only when the hash is the digest it was sent under. A mismatch keeps nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from services.local_llm.errors import BadRequest

DIGEST = re.compile(r"^sha256[:-]([0-9a-f]{64})$")


def parse_digest(digest: str) -> str:
    """The hex part of ``sha256:<hex>``; anything else is Ollama's "invalid digest format"."""
    match = DIGEST.match(digest.strip())
    if match is None:
        raise BadRequest("invalid digest format")
    return match.group(1)


class BlobStore:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.folder / f"sha256-{parse_digest(digest)}"

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    async def receive(self, digest: str, body: AsyncIterator[bytes]) -> bool:
        """Store the streamed ``body`` under ``digest``; False when it was already there."""
        final = self.path(digest)
        upload = _Upload(final)
        if upload.exists():
            return False
        try:
            async for chunk in body:
                upload.write(chunk)
            upload.commit(f"sha256:{parse_digest(digest)}")
        finally:
            upload.discard()
        return True


class _Upload:
    """A temporary file beside ``final``, hashed as it is written (small, synchronous file calls)."""

    def __init__(self, final: Path):
        self.final = final
        self._hasher = hashlib.sha256()
        self._tmp: str | None = None
        self._file: Any = None

    def exists(self) -> bool:
        return self.final.is_file()

    def write(self, chunk: bytes) -> None:
        if self._file is None:
            fd, self._tmp = tempfile.mkstemp(prefix=".upload-", dir=self.final.parent)
            self._file = os.fdopen(fd, "wb")
        self._hasher.update(chunk)
        self._file.write(chunk)

    def commit(self, expected: str) -> None:
        actual = f"sha256:{self._hasher.hexdigest()}"
        if actual != expected:
            raise BadRequest(f'digest mismatch, expected "{expected}", got "{actual}"')
        if self._file is None:
            self.write(b"")
        self._file.close()
        os.replace(self._tmp, self.final)  # type: ignore[arg-type]
        self._tmp = None

    def discard(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
        if self._tmp is not None:
            Path(self._tmp).unlink(missing_ok=True)
