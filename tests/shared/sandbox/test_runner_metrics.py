"""Every sandbox run is counted by the reason it ended and timed, in gVisor and without an engine."""

from __future__ import annotations

from shared.sandbox import Sandbox
from shared.sandbox.result import Reason
from tests.shared.sandbox.conftest import make_settings
from tests.support.metrics import sample


def runs(reason: Reason) -> tuple[float, float, float]:
    return (sample("batos_sandbox_runs_total", reason=reason.value),
            sample("batos_sandbox_run_seconds_count", reason=reason.value),
            sample("batos_sandbox_run_seconds_sum", reason=reason.value))


def grew(before: tuple[float, float, float], reason: Reason) -> tuple[float, float, float]:
    now = runs(reason)
    return now[0] - before[0], now[1] - before[1], now[2] - before[2]


def test_runs_are_counted_by_reason_and_timed(sandbox: Sandbox) -> None:
    ok, error = runs(Reason.OK), runs(Reason.ERROR)
    assert sandbox.run("print('hi')").reason is Reason.OK
    assert sandbox.run("raise SystemExit(3)").reason is Reason.ERROR
    for before, reason in ((ok, Reason.OK), (error, Reason.ERROR)):
        counted, timed, seconds = grew(before, reason)
        assert (counted, timed) == (1, 1) and seconds > 0


def test_a_run_without_an_engine_is_counted_as_unavailable() -> None:
    before = runs(Reason.SANDBOX_UNAVAILABLE)
    box = Sandbox(make_settings(sandbox_docker_base_url="unix:///nonexistent/docker.sock"))
    assert box.run("print(1)").reason is Reason.SANDBOX_UNAVAILABLE
    assert grew(before, Reason.SANDBOX_UNAVAILABLE)[:2] == (1, 1)
