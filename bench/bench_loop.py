"""Step 6: the loop's turn time with the real small model, and the forge's pass rate with it.

    .venv/bin/python -m bench.bench_loop [N_SPECS]

Every part is a real process started as ``make run`` starts it, with the local CPU profile
(``deploy/profiles/local-cpu.env``): the local LLM server with SmolLM2-135M, the API, the
fine-tune worker and the tool-forge worker, on a private Redis.

1. **Turn**: a version of 10 samples (5 held out) is sealed with the curator's own sealing code,
   a fine-tune of it is started over HTTP, and the clock runs until the new tag answers a chat:
   sealed version -> training -> model creation -> gate (5 held-out samples judged) -> swap ->
   first answer from the new model. The gate threshold is 1 here so the turn always ends in a
   swap (the gate still judges every sample); the stage times come from the fine-tune record.
   Target: <= 5 min on 2 cores (the performance brief).
2. **Forge pass rate**: N simple specs (default 20) forged by BRICK = SmolLM2-135M, each up to
   3 attempts proven in the gVisor sandbox: how many pass, and the outcome of every attempt.
"""

from __future__ import annotations

import collections
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx
import ollama

from bench.common import median, private_redis, table
from tests.support.local_model import local_model_dir, local_profile
from tests.support.processes import ServiceProcess
from tests.support.redis_server import free_port
from tests.workers.fine_tune.fixtures import seal_dataset

TOKEN = "bench-token"
SPECS = [
    ("add_numbers", "Return the sum of two integers a and b."),
    ("multiply", "Return the product of two numbers a and b."),
    ("reverse_text", "Return the given string reversed."),
    ("word_count", "Count the words in a text, split on whitespace."),
    ("is_even", "Return True if an integer n is even, else False."),
    ("square", "Return the square of a number x."),
    ("max_of_list", "Return the largest number in a non-empty list."),
    ("min_of_list", "Return the smallest number in a non-empty list."),
    ("to_upper", "Return the given text in upper case."),
    ("count_vowels", "Count the vowels a, e, i, o, u in a string, ignoring case."),
    ("is_palindrome", "Return True if a string reads the same backwards, ignoring case."),
    ("celsius_to_fahrenheit", "Convert a temperature in Celsius to Fahrenheit."),
    ("factorial", "Return n! for a non-negative integer n."),
    ("sum_list", "Return the sum of a list of numbers."),
    ("mean_of_numbers", "Return the arithmetic mean of a non-empty list of numbers."),
    ("first_char", "Return the first character of a non-empty string."),
    ("abs_value", "Return the absolute value of a number."),
    ("string_length", "Return the number of characters in a string."),
    ("join_words", "Join a list of words with single spaces."),
    ("double", "Return twice the given number."),
]


class System:
    def __init__(self, redis_url: str, data_dir: Path):
        self.llm_port, self.api_port = free_port(), free_port()
        self.env = {**local_profile(), "BATOS_REDIS_URL": redis_url, "BATOS_DATA_DIR": str(data_dir),
                    "BATOS_LOCAL_MODEL_DIR": str(local_model_dir()), "BATOS_LOCAL_LLM_PORT": str(self.llm_port),
                    "BATOS_OLLAMA_HOST": self.llm_url, "BATOS_API_PORT": str(self.api_port),
                    "BATOS_API_TOKEN": TOKEN, "BATOS_FINE_TUNE_OUTPUT_DIR": str(data_dir / "adapters"),
                    "BATOS_FINE_TUNE_GATE_THRESHOLD": "1", "BATOS_LOG_LEVEL": "WARNING"}
        self.processes: list[ServiceProcess] = []

    @property
    def llm_url(self) -> str:
        return f"http://127.0.0.1:{self.llm_port}"

    def start(self, *modules: str) -> None:
        for module in modules:
            self.processes.append(ServiceProcess(module, self.env, name=f"bench-{module}").start())

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def wait_until(probe: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = probe()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def turn(system: System, data_dir: Path) -> list[list[object]]:
    api = httpx.Client(base_url=f"http://127.0.0.1:{system.api_port}", timeout=30,
                       headers={"Authorization": f"Bearer {TOKEN}"})
    # the LLM server answering is what this bench needs ("ok" also wants a cognition worker)
    wait_until(lambda: api.get("/healthz").json()["llm"] == "ok", 180, "the API and the LLM server")
    ollama.Client(host=system.llm_url, timeout=600).chat("smollm2:135m", [{"role": "user", "content": "hi"}])
    seal_dataset(data_dir, samples=10, heldout_fraction=0.5)
    t0 = time.monotonic()
    started = api.post("/v1/fine-tunes", json={"persona": "BRICK", "dataset_version": "v000001"}).json()
    terminal = ("swapped", "rejected", "failed", "superseded")
    record = wait_until(lambda: (r := api.get(f"/v1/fine-tunes/{started['id']}").json())["state"] in terminal and r,
                        1800, "the fine-tune")
    t_swapped = time.monotonic() - t0
    if record["state"] != "swapped":
        raise SystemExit(f"the fine-tune ended {record['state']}: {record['reason']}")
    t1 = time.monotonic()
    ollama.Client(host=system.llm_url, timeout=600).chat(record["model_tag"],
                                                         [{"role": "user", "content": "What is a good habit?"}])
    first_answer = time.monotonic() - t1
    training = record["training"] or {}
    gate = record["evaluation"]
    return [["training (load + steps)", round(float(training.get("duration_s", float("nan"))), 1)],
            ["sealed -> swapped (train, create, gate of 5 samples, swap)", round(t_swapped, 1)],
            ["first answer from the new tag", round(first_answer, 1)],
            ["sealed -> the new model serving", round(t_swapped + first_answer, 1)],
            ["gate: new / current / ties", f"{gate['new_wins']} / {gate['current_wins']} / {gate['ties']}"],
            ["target (performance brief)", "<= 300 s"]]


def forge_pass_rate(system: System, n: int) -> tuple[list[list[object]], str]:
    api = httpx.Client(base_url=f"http://127.0.0.1:{system.api_port}", timeout=30,
                       headers={"Authorization": f"Bearer {TOKEN}"})
    ids = [api.post("/v1/tools", json={"name": name, "description": text}).json()["id"]
           for name, text in (SPECS * (n // len(SPECS) + 1))[:n]]
    t0 = time.monotonic()
    jobs = [wait_until(lambda i=i: (j := api.get(f"/v1/tools/jobs/{i}").json())["status"] in ("succeeded", "failed")
                       and j, 3600, "the forge") for i in ids]
    wall = time.monotonic() - t0
    outcomes = collections.Counter(a["outcome"] for j in jobs for a in j["attempts"])
    passed = sum(j["status"] == "succeeded" for j in jobs)
    durations = [a.get("duration_s") or 0.0 for j in jobs for a in j["attempts"]]
    rows = [["specs", n], ["passed", f"{passed} ({passed / n:.0%})"], ["wall s", round(wall, 1)],
            ["attempts", sum(outcomes.values())], ["attempt median s", round(median(durations), 1)]]
    return rows, ", ".join(f"{k}: {v}" for k, v in outcomes.most_common())


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else len(SPECS)
    with private_redis() as redis, TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        system = System(redis.url, data_dir)
        system.start("services.local_llm", "services.api", "workers.fine_tune")
        try:
            table("The loop's turn: sealed version -> the new model serving (SmolLM2-135M, 2 cores)",
                  ["stage", "seconds"], turn(system, data_dir))
            system.start("workers.tool_forge")
            rows, outcomes = forge_pass_rate(system, n)
            table(f"Forge pass rate: {n} simple specs, BRICK = SmolLM2-135M, runsc sandbox", ["figure", "value"], rows)
            print(f"attempt outcomes: {outcomes}")
        finally:
            system.stop()


if __name__ == "__main__":
    main()
