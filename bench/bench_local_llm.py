"""The local LLM server (services/local_llm) beside a bare transformers ``generate()`` (not a test).

    .venv/bin/python -m bench.bench_local_llm [--rounds 5] [--tokens 64] [--json-answers 20]

Starts ``python -m services.local_llm`` on the prepared SmolLM2-135M folder and loads the same
folder with transformers in this process. Alternating rounds, medians:
- tokens/s of one non-streamed greedy chat (fixed num_predict, seed, repeat_penalty 1) measured
  by the client around the whole HTTP request, beside the bare ``generate()`` of the same prompt
  (target >= 0.9x);
- time to first token of a streamed chat, beside the bare model's prefill + first token;
- JSON-schema answers per second (temperature 0.7) and how many parse and validate;
- the server's RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import ollama
from pydantic import BaseModel, Field, ValidationError

from bench.common import table
from tests.support.local_model import local_model_dir
from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[1]
TAG = "smollm2:135m"
PROMPT = [{"role": "user", "content": "Write a long story about a robot who learns to paint."}]
SCHEMA = {"type": "object", "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1},
                                           "reason": {"type": "string", "maxLength": 200}},
          "required": ["score", "reason"]}


class Verdict(BaseModel):
    score: float = Field(ge=0, le=1)
    reason: str = Field(max_length=200)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(model: Path, data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "BATOS_DATA_DIR": str(data), "BATOS_LOCAL_MODEL_DIR": str(model),
           "BATOS_LOCAL_LLM_PORT": str(port), "BATOS_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "services.local_llm"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:  # loaded once a one-token chat answers
        try:
            r = httpx.post(f"{url}/api/generate", json={"model": TAG, "prompt": "hi", "stream": False,
                                                        "options": {"num_predict": 1}}, timeout=120)
            if r.status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise TimeoutError("local LLM server did not load")


class Bare:
    """The same folder, prompt and greedy decoding with transformers alone."""

    def __init__(self, model: Path):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from services.local_llm.settings import LocalLLMSettings

        torch.set_num_threads(LocalLLMSettings().local_llm_threads)  # as the server runs it
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).eval()
        self.inputs = self.tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt",
                                                         return_dict=True)

    def tokens_per_s(self, tokens: int) -> float:
        started = time.perf_counter()
        with self.torch.inference_mode():
            out = self.model.generate(**self.inputs, max_new_tokens=tokens, do_sample=False,
                                      pad_token_id=self.tokenizer.eos_token_id)
        return (out.shape[1] - self.inputs["input_ids"].shape[1]) / (time.perf_counter() - started)

    def first_token_s(self) -> float:
        started = time.perf_counter()
        with self.torch.inference_mode():
            self.model.generate(**self.inputs, max_new_tokens=1, do_sample=False,
                                pad_token_id=self.tokenizer.eos_token_id)
        return time.perf_counter() - started


async def server_tokens_per_s(client: ollama.AsyncClient, tokens: int) -> tuple[float, float]:
    options = {"temperature": 0, "seed": 1, "num_predict": tokens, "repeat_penalty": 1.0}
    started = time.perf_counter()
    reply = await client.chat(model=TAG, messages=PROMPT, options=options, stream=False)
    wall = time.perf_counter() - started
    return (reply.eval_count or 0) / wall, (reply.eval_count or 0) / ((reply.eval_duration or 1) / 1e9)


async def server_first_token_s(client: ollama.AsyncClient) -> float:
    started, first = time.perf_counter(), float("nan")
    async for chunk in await client.chat(model=TAG, messages=PROMPT, stream=True,
                                         options={"temperature": 0, "num_predict": 8}):
        if chunk.message.content and first != first:
            first = time.perf_counter() - started  # read on to the end: no generation left running
    return first


async def json_answers(client: ollama.AsyncClient, n: int) -> tuple[float, int]:
    valid = 0
    started = time.perf_counter()
    for i in range(n):
        reply = await client.chat(model=TAG, format=SCHEMA, options={"temperature": 0.7, "seed": i}, messages=[
            {"role": "user", "content": "Score from 0 to 1 how true this is and say why: bats are blind."}])
        try:
            Verdict.model_validate_json(reply.message.content or "")
            valid += 1
        except ValidationError:
            pass
    return n / (time.perf_counter() - started), valid


async def run(args: argparse.Namespace) -> None:
    model = local_model_dir()
    with tempfile.TemporaryDirectory() as data:
        proc, url = start_server(model, Path(data))
        try:
            client = ollama.AsyncClient(host=url, timeout=600)
            bare = Bare(model)
            bare.tokens_per_s(4)  # warm both
            await server_tokens_per_s(client, 4)
            served, served_inside, plain, ttft, bare_ttft = [], [], [], [], []
            for _ in range(args.rounds):
                wall_rate, inside_rate = await server_tokens_per_s(client, args.tokens)
                served.append(wall_rate)
                served_inside.append(inside_rate)
                plain.append(bare.tokens_per_s(args.tokens))
                ttft.append(await server_first_token_s(client))
                bare_ttft.append(bare.first_token_s())
            per_s, valid = await json_answers(client, args.json_answers)
            rss = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
    med = statistics.median
    table(f"local LLM server vs bare transformers generate(), medians of {args.rounds} alternating rounds",
          ["figure", "server", "anchor", "ratio / note"], [
              [f"tokens/s, chat of {args.tokens} greedy tokens (client wall time)", med(served), med(plain),
               f"{med(served) / med(plain):.2f}x (target >= 0.9x)"],
              ["tokens/s, server's own eval_count/eval_duration", med(served_inside), med(plain),
               f"{med(served_inside) / med(plain):.2f}x"],
              ["time to first token, streamed (s)", med(ttft), med(bare_ttft), "anchor: bare prefill + 1 token"],
              [f"JSON-schema answers/s ({args.json_answers}, temp 0.7)", per_s, 1 / 1.8,
               "anchor: FACTS xgrammar 1.8 s/answer"],
              ["JSON answers that parse and validate", f"{valid}/{args.json_answers}", "100 %", "target 100 %"],
              ["server RSS (MB)", rss, "", "fp32 SmolLM2-135M + torch"],
          ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--json-answers", type=int, default=20)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
