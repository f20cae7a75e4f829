"""The tool-forge worker publishes its sandbox probe for ``GET /v1/status`` (no Docker access
needed there) at start-up, and probes again periodically while it runs."""

from __future__ import annotations

from typing import Any

from shared.keys import SANDBOX_PROBE
from shared.sandbox import Sandbox
from shared.status import read_sandbox_probe
from tests.support.eventually import eventually
from tests.support.sandbox import unreachable_sandbox
from tests.workers.tool_forge.conftest import run_forge
from workers.tool_forge.settings import ToolForgeSettings
from workers.tool_forge.worker import shutdown, startup


async def test_a_reachable_sandbox_is_published_at_start_up(redis, forge_settings: ToolForgeSettings,
                                                            sandbox: Sandbox) -> None:
    await run_forge(forge_settings, sandbox=sandbox)  # an empty queue: start-up, then close
    probe = await read_sandbox_probe(redis)
    assert probe is not None and probe.reachable and probe.error is None
    assert 0 < await redis.ttl(SANDBOX_PROBE) <= 180


async def test_an_unreachable_sandbox_is_published_and_probed_again(redis, forge_settings: ToolForgeSettings) -> None:
    ctx: dict[str, Any] = {"settings": forge_settings, "redis": redis, "sandbox": unreachable_sandbox(),
                           "sandbox_probe_interval_s": 0.3}
    await startup(ctx)
    try:
        first = await read_sandbox_probe(redis)
        assert first is not None and not first.reachable
        assert first.error is not None and first.error.startswith("Docker engine unreachable")

        async def probed_again() -> bool:
            probe = await read_sandbox_probe(redis)
            return probe is not None and probe.checked_at > first.checked_at

        await eventually(probed_again, within_s=20)
        assert await redis.ttl(SANDBOX_PROBE) <= 1  # three intervals
    finally:
        await shutdown(ctx)
    prober = ctx.get("sandbox_prober")
    assert prober is None  # stopped and removed by shutdown
