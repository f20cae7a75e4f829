"""The whole loop, as a user runs it, with a real small model and nothing scripted.

Every service is its own process, started by the command its container runs; a real
``redis-server``; the Docker + gVisor sandbox; the local LLM server with SmolLM2-135M; CPU
training with the hf backend. Driven only over HTTP, watched only through the API and the event
stream: tasks answered, a tool spec forged (its final state and every attempt's reason), the
interactions curated, a version sealed, a fine-tune trained, a model created from base +
adapter, the gate's decision with its judged examples, the swap and ``model_tuned``, the next
task answered under the new tag, a rollback over HTTP, and a gate rejection. It prints a
timeline of each stage.

What the test changes from the local profile (``deploy/profiles/local-cpu.env``), and why:
- ``CURATOR_GOLDEN_THRESHOLD=0``: every judged interaction is golden, so the test's 10 tasks seal
  a version whatever a 135M judge thinks of them (the profile's 0.5 lets about half through).
- ``FINE_TUNE_GATE_THRESHOLD=1``: the gate judges its 5 held-out samples and records the result,
  but any regression is accepted, so the swap happens; the rejection is seen afterwards, from the
  fine-tune worker restarted to require 6 held-out samples, on the same version.
- ``MOTIVATOR_IDLE_AFTER_S=3600``, ``MOTIVATOR_MAX_INQUIRY_DEPTH=0``, ``MOTIVATOR_FORGE_EVERY_S=0``:
  only the test's tasks and tool spec run, so exactly one version seals and the run fits in CI.
- ``LOCAL_LLM_DEFAULT_NUM_PREDICT=64``: shorter free-text answers (JSON answers have their own budget).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis as sync_redis

from tests.support.local_model import local_model_dir, local_profile
from tests.support.processes import ServiceProcess
from tests.support.redis_server import RedisServer, free_port

pytestmark = [pytest.mark.loop, pytest.mark.docker, pytest.mark.training, pytest.mark.slow,
              pytest.mark.timeout(3_000)]

TOKEN = "loop-test-token"
TASKS = [
    "What is entropy, in one paragraph?",
    "Why do leaves change colour in autumn?",
    "Explain what a prime number is.",
    "How does a bicycle stay upright?",
    "What is the difference between weather and climate?",
    "Why is sleep important for learning?",
    "What does a compiler do?",
    "How do vaccines train the immune system?",
    "Why does ice float on water?",
    "What is a good way to start learning to cook?",
]
TOOL_SPEC = {"name": "add_numbers", "description": "Return the sum of two integers a and b."}
SERVICES = [("api", "services.api"), ("cognition", "workers.cognition"), ("curator", "services.curator"),
            ("motivator", "services.motivator"), ("tool-forge", "workers.tool_forge"),
            ("fine-tune", "workers.fine_tune")]
T = TypeVar("T")


class Timeline:
    def __init__(self) -> None:
        self.start = time.monotonic()
        self.stages: list[tuple[float, str]] = []

    def mark(self, stage: str) -> None:
        self.stages.append((time.monotonic() - self.start, stage))

    def render(self) -> str:
        return "\n".join(f"  {t:7.1f} s  {stage}" for t, stage in self.stages)


class EventWatcher(threading.Thread):
    """Reads ``/v1/events`` (server-sent events) into a list, as a dashboard would."""

    def __init__(self, base_url: str):
        super().__init__(daemon=True, name="sse")
        self.base_url = base_url
        self.events: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                with httpx.stream("GET", f"{self.base_url}/v1/events", headers={"Authorization": f"Bearer {TOKEN}"},
                                  timeout=httpx.Timeout(10, read=None)) as response:
                    kind = None
                    for line in response.iter_lines():
                        if line.startswith("event:"):
                            kind = line.split(":", 1)[1].strip()
                        elif line.startswith("data:") and kind == "ready":
                            self.ready.set()
                        elif line.startswith("data:") and kind:
                            self.events.append(json.loads(line.split(":", 1)[1]))
                        if self._stop.is_set():
                            return
            except httpx.HTTPError:
                time.sleep(0.5)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in list(self.events) if e["type"] == kind]

    def stop(self) -> None:
        self._stop.set()


class Loop:
    """The running system and the ways the test looks at it."""

    def __init__(self, env: dict[str, str], api_url: str, llm_url: str):
        self.env = env
        self.api_url = api_url
        self.llm_url = llm_url
        self.processes: dict[str, ServiceProcess] = {}
        self.timeline = Timeline()
        self.http = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        self.events = EventWatcher(api_url)

    def start(self, name: str, module: str, **extra_env: str) -> ServiceProcess:
        process = ServiceProcess(module, {**self.env, **extra_env}, name=f"loop-{name}").start()
        self.processes[name] = process
        return process

    def wait(self, what: str, probe: Callable[[], T | None], timeout: float) -> T:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [name for name, p in self.processes.items() if not p.alive()]
            if dead:
                pytest.fail(f"{', '.join(dead)} exited while waiting for {what}\n{self.report()}")
            value = probe()
            if value:
                self.timeline.mark(what)
                return value
            time.sleep(1.0)
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{self.report()}")

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def post(self, path: str, body: dict[str, Any] | None = None, expect: int = 202) -> Any:
        response = self.http.post(path, json=body)
        assert response.status_code == expect, (path, response.status_code, response.text)
        return response.json()

    def report(self) -> str:
        tails = "\n".join(f"--- {name}\n{p.output()[-2500:]}" for name, p in self.processes.items())
        return f"timeline:\n{self.timeline.render()}\n{tails}"

    def stop(self) -> None:
        self.events.stop()
        self.http.close()
        for process in reversed(list(self.processes.values())):
            process.stop()


@pytest.fixture
def loop(live_redis: RedisServer, tmp_path: Path) -> Iterator[Loop]:
    sync_redis.Redis.from_url(live_redis.url).flushall()
    llm_port, api_port = free_port(), free_port()
    env = {
        **local_profile(),
        "BATOS_ENVIRONMENT": "test", "BATOS_REDIS_URL": live_redis.url, "BATOS_DATA_DIR": str(tmp_path / "data"),
        "BATOS_LOCAL_MODEL_DIR": str(local_model_dir()), "BATOS_LOCAL_LLM_PORT": str(llm_port),
        "BATOS_OLLAMA_HOST": f"http://127.0.0.1:{llm_port}", "BATOS_API_PORT": str(api_port),
        "BATOS_API_HOST": "127.0.0.1", "BATOS_API_TOKEN": TOKEN, "BATOS_QUEUE_POLL_DELAY_S": "0.5",
        "BATOS_FINE_TUNE_OUTPUT_DIR": str(tmp_path / "data" / "adapters"),
        # The test's changes to the profile (see the module docstring).
        "BATOS_CURATOR_GOLDEN_THRESHOLD": "0", "BATOS_FINE_TUNE_GATE_THRESHOLD": "1",
        "BATOS_MOTIVATOR_IDLE_AFTER_S": "3600", "BATOS_MOTIVATOR_MAX_INQUIRY_DEPTH": "0",
        "BATOS_MOTIVATOR_FORGE_EVERY_S": "0", "BATOS_LOCAL_LLM_DEFAULT_NUM_PREDICT": "64",
    }  # fmt: skip
    running = Loop(env, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{llm_port}")
    try:
        yield running
    finally:
        running.stop()
        print(f"\nwhole-loop timeline:\n{running.timeline.render()}")  # shown with -rP / on failure


def test_the_loop_turns_with_a_real_small_model(loop: Loop) -> None:
    # --- start: the LLM server first (it loads the model in the background), then the rest
    loop.start("llm-server", "services.local_llm")
    loop.wait("LLM server answers /api/version", lambda: _answers(f"{loop.llm_url}/api/version"), 60)
    for name, module in SERVICES:
        loop.start(name, module)
    loop.wait("API healthy, LLM reachable", lambda: _healthy(loop.api_url), 120)
    loop.events.start()
    assert loop.events.ready.wait(30), "the event stream never opened"

    # --- work arrives over HTTP
    forge_job = loop.post("/v1/tools", TOOL_SPEC)
    task_ids = [loop.post("/v1/tasks", {"text": text})["id"] for text in TASKS]
    loop.timeline.mark(f"{len(task_ids)} tasks and 1 tool spec accepted")

    # --- tasks answered by the personas through SmolLM2
    def answered() -> list[dict[str, Any]] | None:
        records = [loop.get(f"/v1/tasks/{task_id}") for task_id in task_ids]
        return records if all(r["status"] in ("succeeded", "failed") for r in records) else None

    records = loop.wait("every task finished", answered, 1_500)
    succeeded = [r for r in records if r["status"] == "succeeded"]
    assert len(succeeded) >= 8, [r.get("error") for r in records]
    for record in succeeded:
        result = record["result"]
        assert result["response"].strip() and result["models"]["BRICK"] == "smollm2:135m"
        assert result["dissonance"] is None or 0.0 <= result["dissonance"] <= 1.0
    with_verdict = [r for r in succeeded if r["result"]["dissonance"] is not None]
    assert len(with_verdict) >= len(succeeded) - 1, "ALFRED's JSON verdicts must parse (schema-constrained)"

    # --- the forge reached a final state, every attempt with its reason
    job = loop.wait("forge job final", lambda: _final_forge(loop, forge_job["id"]), 900)
    assert job["attempts"], job
    assert all(a["outcome"] and (a["outcome"] == "passed" or a["reason"]) for a in job["attempts"]), job
    loop.timeline.mark(f"forge: {job['status']} after {len(job['attempts'])} attempts "
                       f"({', '.join(a['outcome'] for a in job['attempts'])})")

    # --- curated into a sealed version, which triggers a fine-tune
    version = loop.wait("a dataset version sealed", lambda: _sealed(loop), 600)
    assert version["sample_count"] == 10 and version["heldout_count"] == 5, version
    persona = version["persona"]
    assert loop.events.of("dataset_sealed"), "dataset_sealed never reached the event stream"

    # --- trained, created from base + adapter, judged by the gate, swapped in
    tuned = loop.wait("fine-tune finished", lambda: _fine_tune_done(loop, version["version"]), 1_200)
    assert tuned["state"] == "swapped", tuned
    assert tuned["backend"] == "hf" and tuned["training"]["steps"] == 10 and tuned["curve"], tuned
    evaluation = tuned["evaluation"]
    assert evaluation["samples"] == len(evaluation["examples"]) == 5 and evaluation["min_samples"] == 5
    assert all(e["new_answer"].strip() and e["current_answer"].strip() for e in evaluation["examples"])
    tag = tuned["model_tag"]
    verdicts = " ".join(f"{e['verdict_new_first']}/{e['verdict_current_first']}" for e in evaluation["examples"])
    loop.timeline.mark(f"gate: {evaluation['new_wins']} new wins, {evaluation['current_wins']} current wins, "
                       f"{evaluation['ties']} ties over {evaluation['samples']} held-out samples (verdicts with "
                       f"the new answer as A / as B: {verdicts}) -> {tag}")
    shown = httpx.post(f"{loop.llm_url}/api/show", json={"model": tag}, timeout=30).json()
    assert "ADAPTER" in shown["modelfile"] and "smollm2:135m" in shown["modelfile"], shown
    assert [e["data"]["new_model_tag"] for e in loop.events.of("model_tuned")] == [tag]
    personas = {p["name"]: p for p in loop.get("/v1/personas")}
    assert personas[persona]["model"] == tag and personas[persona]["previous_model"] == "smollm2:135m"

    # --- the next task is answered under the new tag
    after = loop.post("/v1/tasks", {"text": "In one sentence: what is a good habit?"})
    record = loop.wait("a task answered by the swapped model",
                       lambda: _finished(loop, after["id"]), 600)
    assert record["status"] == "succeeded", record
    assert record["result"]["models"][persona] == tag

    # --- rollback over HTTP
    rolled = loop.post(f"/v1/personas/{persona}/rollback", expect=200)
    assert rolled["model"] == "smollm2:135m", rolled
    loop.wait("model_rolled_back on the event stream", lambda: loop.events.of("model_rolled_back"), 30)

    # --- a rejection: the same version, with a gate that needs more held-out samples than it has
    loop.processes.pop("fine-tune").stop()
    loop.start("fine-tune-strict", "workers.fine_tune", BATOS_FINE_TUNE_EVAL_MIN_SAMPLES="6")
    again = loop.post("/v1/fine-tunes", {"persona": persona, "dataset_version": version["version"]})
    rejected = loop.wait("a fine-tune rejected by the gate", lambda: _terminal(loop, again["id"]), 180)
    assert rejected["state"] == "rejected", rejected
    assert "the gate needs at least 6" in rejected["reason"]
    assert _model_of(loop, persona) == "smollm2:135m"
    print(f"\nwhole-loop timeline:\n{loop.timeline.render()}")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/healthz", timeout=5).json().get("status") == "ok"
    except (httpx.HTTPError, ValueError):
        return False


def _final_forge(loop: Loop, job_id: str) -> dict[str, Any] | None:
    job = loop.get(f"/v1/tools/jobs/{job_id}")
    return job if job["status"] in ("succeeded", "failed") else None


def _sealed(loop: Loop) -> dict[str, Any] | None:
    sealed = [v for v in loop.get("/v1/datasets")["items"] if v["state"] == "sealed"]
    return sealed[0] if sealed else None


def _fine_tune_done(loop: Loop, version: str) -> dict[str, Any] | None:
    done = [f for f in loop.get("/v1/fine-tunes")["items"]
            if f["dataset_version"] == version and f["state"] in ("swapped", "rejected", "failed", "superseded")]
    return done[0] if done else None


def _finished(loop: Loop, task_id: str) -> dict[str, Any] | None:
    record = loop.get(f"/v1/tasks/{task_id}")
    return record if record["status"] in ("succeeded", "failed") else None


def _terminal(loop: Loop, fine_tune_id: str) -> dict[str, Any] | None:
    record = loop.get(f"/v1/fine-tunes/{fine_tune_id}")
    return record if record["state"] in ("swapped", "rejected", "failed", "superseded") else None


def _model_of(loop: Loop, persona: str) -> str:
    return next(p["model"] for p in loop.get("/v1/personas") if p["name"] == persona)
