"""The guard's unix-socket server: read one request, decide, forward it or answer 403.

Each client connection carries one request. An allowed one gets its own upstream connection
(``Connection: close``, or the ``Upgrade: tcp`` of a hijacked attach), the guard's canonical
request is written to it, and from then on bytes flow only from the engine to the client: what
the client sends after its request (stdin, a second pipelined request) is read and dropped, and
its end of the connection closes the upstream one (a client that gave up on ``wait``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import stat
import struct
import time
from typing import Any

import structlog

from services.docker_guard import wire
from services.docker_guard.policy import (
    Allowed,
    Peer,
    Policy,
    Refused,
    body_length,
    check_container,
    decide,
    run_folders,
    verify_run_folder,
)
from services.docker_guard.settings import DockerGuardSettings

log = structlog.get_logger(__name__)

CHUNK = 64 * 1024
INSPECT_TIMEOUT_S = 30.0
MAX_INSPECT_BYTES = 16 * 1024 * 1024


def peer_of(writer: asyncio.StreamWriter) -> Peer:
    """The connecting process's pid/uid/gid from SO_PEERCRED (unknown fields None)."""
    sock = writer.get_extra_info("socket")
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, gid = struct.unpack("3i", raw)
    except (OSError, AttributeError, struct.error):
        return Peer()
    return Peer(pid, uid, gid)


class Guard:
    """Serves the policy on ``docker_guard_socket`` in front of ``docker_guard_upstream``."""

    def __init__(self, settings: DockerGuardSettings) -> None:
        self.settings = settings
        self.policy = Policy.from_settings(settings)
        self.upstream = settings.upstream_path()
        self.refused = 0
        self.allowed = 0

    # -- one connection -------------------------------------------------------------------------
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = peer_of(writer)
        request: dict[str, str] = {}
        method = target = "?"
        try:
            try:
                allowed = await asyncio.wait_for(
                    self._read_and_decide(reader, peer, request), self.settings.docker_guard_head_timeout_s
                )
            except Refused as exc:
                self.refused += 1
                log.warning("docker_guard.refused", rule=exc.rule, detail=exc.detail,
                            method=request.get("method", "?"), target=request.get("target", "?")[:300],
                            peer_pid=peer.pid, peer_uid=peer.uid)
                writer.write(wire.refusal(exc))
                await writer.drain()
                return
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                return  # a client that sent no complete request in time: just close
            except OSError as exc:  # the engine is unreachable
                log.error("docker_guard.upstream_unreachable", error=str(exc), upstream=self.upstream)
                writer.write(wire.json_response(502, "Bad Gateway", f"docker guard: engine unreachable: {exc}"))
                await writer.drain()
                return
            method, target = allowed.method, allowed.target
            self.allowed += 1
            log.debug("docker_guard.allowed", action=allowed.action, target=allowed.target[:300],
                      peer_pid=peer.pid, peer_uid=peer.uid)
            await self._forward(allowed, reader, writer)
        except (ConnectionError, OSError) as exc:
            log.debug("docker_guard.connection_lost", error=str(exc), method=method, target=target[:300])
        finally:
            with contextlib.suppress(Exception):
                writer.close()
                await writer.wait_closed()

    async def _read_and_decide(self, reader: asyncio.StreamReader, peer: Peer, request: dict[str, str]) -> Allowed:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise Refused("http.head_size", f"a request head over {wire.MAX_HEAD_BYTES} bytes") from None
        method, target, headers = wire.parse_request_head(head)
        request.update(method=method, target=target)
        length = body_length(headers, self.policy.max_body_bytes)
        body = await reader.readexactly(length) if length else b""
        try:
            allowed = decide(self.policy, method, target, headers, body, peer)
            if allowed.container is not None:
                check_container(self.policy, await self._inspect(allowed.container))
            if allowed.action == "container.create" and self.settings.docker_guard_verify_run_folder:
                for source in run_folders(allowed.body):
                    verify_run_folder(source)
        except (Refused, OSError, TimeoutError, asyncio.IncompleteReadError):
            raise
        except Exception as exc:  # a bug or an input no rule foresaw: fail closed
            log.exception("docker_guard.error", method=method, target=target[:300])
            raise Refused("guard.error", f"the guard could not check this request ({type(exc).__name__})") from None
        return allowed

    async def _inspect(self, container: str) -> Any:
        """The engine's JSON for a container (None when it has none: refused as not a sandbox)."""
        reader, writer = await asyncio.open_unix_connection(self.upstream, limit=CHUNK)
        try:
            writer.write(wire.upstream_request("GET", f"/containers/{container}/json", b""))
            await writer.drain()
            raw = await asyncio.wait_for(reader.read(MAX_INSPECT_BYTES + 1), INSPECT_TIMEOUT_S)
            chunks = [raw]
            while raw and sum(map(len, chunks)) <= MAX_INSPECT_BYTES:
                raw = await asyncio.wait_for(reader.read(CHUNK), INSPECT_TIMEOUT_S)
                chunks.append(raw)
        finally:
            writer.close()
        try:
            status, body = wire.parse_response(b"".join(chunks))
        except ValueError:
            raise Refused("container.not_sandbox", "the engine's inspect answer is not HTTP") from None
        if status != 200:
            raise Refused("container.not_sandbox", f"no such container (engine status {status})")
        try:
            return json.loads(body)
        except ValueError:
            raise Refused("container.not_sandbox", "the engine's inspect answer is not JSON") from None

    async def _forward(self, allowed: Allowed, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(self.upstream, limit=CHUNK)
        except OSError as exc:
            log.error("docker_guard.upstream_unreachable", error=str(exc), upstream=self.upstream)
            writer.write(wire.json_response(502, "Bad Gateway", f"docker guard: engine unreachable: {exc}"))
            await writer.drain()
            return
        try:
            up_writer.write(wire.upstream_request(allowed.method, allowed.target, allowed.body,
                                                  upgrade=allowed.upgrade))
            await up_writer.drain()
            down = asyncio.create_task(_pipe(up_reader, writer))
            gone = asyncio.create_task(_drain(reader))
            await asyncio.wait({down, gone}, return_when=asyncio.FIRST_COMPLETED)
            for task in (down, gone):
                task.cancel()
            await asyncio.gather(down, gone, return_exceptions=True)
        finally:
            up_writer.close()

    # -- the listening socket -------------------------------------------------------------------
    async def serve(self, stop: asyncio.Event) -> None:
        path = self.settings.docker_guard_socket
        _prepare_socket_path(path)
        old_umask = os.umask(0o177)  # no moment where the socket is open to others
        try:
            server = await asyncio.start_unix_server(self.handle, path, limit=wire.MAX_HEAD_BYTES)
        finally:
            os.umask(old_umask)
        try:
            gid = self.settings.docker_guard_socket_gid
            if gid >= 0 and os.stat(path).st_gid != gid:
                try:
                    os.chown(path, -1, gid)
                except PermissionError as exc:  # the forge could not connect: fail now, loudly
                    raise RuntimeError(
                        f"cannot give {path} to group {gid} ({exc.strerror}): run the guard with that group "
                        "(user 0:<gid>) or CAP_CHOWN, or set BATOS_DOCKER_GUARD_SOCKET_GID=-1"
                    ) from None
            os.chmod(path, self.settings.socket_mode())
            log.info("docker_guard.listening", socket=path, mode=self.settings.docker_guard_socket_mode,
                     gid=os.stat(path).st_gid, upstream=self.upstream, image=self.policy.image,
                     runtime=self.policy.runtime, host_workdir=self.policy.host_workdir)
            await self._ping_upstream()
            async with server:
                await stop.wait()
        finally:
            server.close()
            with contextlib.suppress(OSError):
                os.unlink(path)
            log.info("docker_guard.stopped", allowed=self.allowed, refused=self.refused)

    async def _ping_upstream(self) -> None:
        try:
            reader, writer = await asyncio.open_unix_connection(self.upstream)
            writer.write(wire.upstream_request("GET", "/_ping", b""))
            await writer.drain()
            status, _ = wire.parse_response(await asyncio.wait_for(reader.read(), 10))
            writer.close()
            log.info("docker_guard.upstream", status=status)
        except (OSError, ValueError, TimeoutError) as exc:
            log.warning("docker_guard.upstream_unreachable", error=str(exc), upstream=self.upstream)


def _prepare_socket_path(path: str) -> None:
    """Create the socket's folder; remove a stale socket (never another kind of file)."""
    os.makedirs(os.path.dirname(path) or ".", mode=0o755, exist_ok=True)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise RuntimeError(f"{path} exists and is not a socket")
    os.unlink(path)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()


async def _drain(reader: asyncio.StreamReader) -> None:
    """Read and drop what the client sends after its request, until it closes its end."""
    with contextlib.suppress(ConnectionError, OSError):
        while await reader.read(CHUNK):
            pass


async def serve(settings: DockerGuardSettings, stop: asyncio.Event) -> None:
    started = time.monotonic()
    try:
        await Guard(settings).serve(stop)
    finally:
        log.debug("docker_guard.uptime", seconds=round(time.monotonic() - started, 1))
