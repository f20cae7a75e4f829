"""A small server that speaks Ollama's HTTP API, with scripted answers, for tests and benchmarks.

It runs real HTTP (uvicorn in a thread) so the official ``ollama`` client, and every process
of the system under test, talks to it exactly as to Ollama. Endpoints: chat, generate, create,
blobs (HEAD/POST with sha256 check), tags, show, delete, copy, ps, version, embed, pull.

Pulls come from ``fake.registry`` ({name: bytes of its weights layer}); a pull streams Ollama's
progress lines (``pulling manifest``, per layer ``{status, digest, total, completed}`` in
``fake.pull_steps`` steps, ``verifying sha256 digest``, ``writing manifest``, ``success``) and then
the model is in ``fake.models``; an unknown name ends the stream with Ollama's ``{"error": ...}``
line, as does ``fake.fail_pull`` once the first layer has started.

Script chat answers with ``fake.on_chat(fn)``: ``fn(request_body) -> str | dict | Failure``
(a dict may hold ``content`` and ``tool_calls``), or queue answers per model with
``fake.queue(model, *answers)``. Every request is in ``fake.requests``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.redis_server import free_port
from tests.support.uvicorn_thread import UvicornThread


@dataclass
class Failure:
    """Answer with an Ollama-style error: HTTP ``status`` and ``{"error": message}``."""

    status: int
    error: str


@dataclass
class ModelEntry:
    name: str
    from_: str | None = None
    adapters: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    family: str = "llama"
    modified_at: float = field(default_factory=time.time)


Answer = str | dict[str, Any] | Failure
ChatScript = Callable[[dict[str, Any]], Answer]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())


class FakeOllama:
    def __init__(self, models: list[str] | None = None, port: int | None = None, schema_defaults: bool = False):
        self.port = port or free_port()
        self.schema_defaults = schema_defaults  # unscripted format= requests get a valid instance
        self.requests: list[dict[str, Any]] = []
        self.blobs: dict[str, bytes] = {}
        self.models: dict[str, ModelEntry] = {m: ModelEntry(m) for m in (models or ["llama3.2:3b"])}
        self.chat_delay_s = 0.0
        self.fail_create: Failure | None = None
        self.registry: dict[str, int] = {}  # what /api/pull can fetch: name -> bytes of its weights layer
        self.pull_steps = 20  # progress lines per layer of a pull
        # a pull breaks off with this error once its first layer started (status: of a non-streamed pull)
        self.fail_pull: Failure | None = None
        self._script: ChatScript | None = None
        self._queues: dict[str, deque[Answer]] = defaultdict(deque)
        self._server: UvicornThread | None = None
        self._lock = threading.Lock()

    # --- scripting ---------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on_chat(self, script: ChatScript | None) -> None:
        self._script = script

    def queue(self, model: str, *answers: Answer) -> None:
        self._queues[model].extend(answers)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._queues.clear()
        self._script = None
        self.chat_delay_s = 0.0
        self.fail_create = None
        self.fail_pull = None

    def chats(self, model: str | None = None) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"] == "/api/chat"
                and (model is None or r["body"].get("model") == model)]

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._server = UvicornThread(self._app(), self.port, lifespan="off")
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    # --- the HTTP API ------------------------------------------------------------------------
    def _app(self) -> Starlette:
        return Starlette(routes=[
            Route("/api/chat", self._chat, methods=["POST"]),
            Route("/api/generate", self._generate, methods=["POST"]),
            Route("/api/create", self._create, methods=["POST"]),
            Route("/api/blobs/{digest}", self._blob, methods=["HEAD", "POST"]),
            Route("/api/tags", self._tags, methods=["GET"]),
            Route("/api/show", self._show, methods=["POST"]),
            Route("/api/delete", self._delete, methods=["DELETE"]),
            Route("/api/copy", self._copy, methods=["POST"]),
            Route("/api/ps", self._ps, methods=["GET"]),
            Route("/api/version", self._version, methods=["GET"]),
            Route("/api/embed", self._embed, methods=["POST"]),
            Route("/api/pull", self._pull, methods=["POST"]),
        ])

    async def _body(self, request: Request) -> dict[str, Any]:
        body = json.loads(await request.body() or b"{}")
        with self._lock:
            self.requests.append({"path": request.url.path, "body": body, "time": time.time()})
        return body

    def _answer_for(self, body: dict[str, Any]) -> Answer:
        model = body.get("model", "")
        with self._lock:
            if self._queues[model]:
                return self._queues[model].popleft()
        if self._script is not None:
            return self._script(body)
        if self.schema_defaults and isinstance(body.get("format"), dict):
            return json.dumps(_instance_of(body["format"]))
        return f"echo: {body['messages'][-1]['content'][:200]}" if body.get("messages") else "ok"

    def _known(self, model: str) -> bool:
        return model in self.models or f"{model}:latest" in self.models

    async def _chat(self, request: Request) -> Response:
        body = await self._body(request)
        model = body.get("model", "")
        if not self._known(model):
            return JSONResponse({"error": f"model '{model}' not found"}, status_code=404)
        if self.chat_delay_s:
            await asyncio.sleep(self.chat_delay_s)
        answer = self._answer_for(body)
        if isinstance(answer, Failure):
            return JSONResponse({"error": answer.error}, status_code=answer.status)
        message: dict[str, Any] = {"role": "assistant", "content": answer if isinstance(answer, str) else
                                   answer.get("content", "")}
        if isinstance(answer, dict) and answer.get("tool_calls"):
            message["tool_calls"] = [{"function": {"name": c["name"], "arguments": c.get("arguments", {})}}
                                     for c in answer["tool_calls"]]
        done = {"model": model, "created_at": _now(), "message": message, "done": True, "done_reason": "stop",
                "total_duration": 1000, "eval_count": len(message["content"].split())}
        if body.get("stream", True):
            return StreamingResponse(iter([json.dumps(done) + "\n"]), media_type="application/x-ndjson")
        return JSONResponse(done)

    async def _generate(self, request: Request) -> Response:
        body = await self._body(request)
        if not self._known(body.get("model", "")):
            return JSONResponse({"error": f"model '{body.get('model')}' not found"}, status_code=404)
        answer = self._answer_for({"model": body["model"], "messages": [{"role": "user",
                                                                           "content": body.get("prompt", "")}]})
        if isinstance(answer, Failure):
            return JSONResponse({"error": answer.error}, status_code=answer.status)
        text = answer if isinstance(answer, str) else answer.get("content", "")
        done = {"model": body["model"], "created_at": _now(), "response": text, "done": True}
        if body.get("stream", True):
            return StreamingResponse(iter([json.dumps(done) + "\n"]), media_type="application/x-ndjson")
        return JSONResponse(done)

    async def _blob(self, request: Request) -> Response:
        digest = request.path_params["digest"]
        if request.method == "HEAD":
            with self._lock:
                self.requests.append({"path": "/api/blobs", "body": {"digest": digest, "method": "HEAD"}})
            return Response(status_code=200 if digest in self.blobs else 404)
        data = await request.body()
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        with self._lock:
            self.requests.append({"path": "/api/blobs", "body": {"digest": digest, "method": "POST",
                                                                 "size": len(data), "actual": actual}})
        if actual != digest:
            return JSONResponse({"error": "digest mismatch"}, status_code=400)
        self.blobs[digest] = data
        return Response(status_code=201)

    async def _create(self, request: Request) -> Response:
        body = await self._body(request)
        if self.fail_create is not None:
            return JSONResponse({"error": self.fail_create.error}, status_code=self.fail_create.status)
        base = body.get("from")
        if base and not self._known(base):
            return JSONResponse({"error": f"base model '{base}' not found"}, status_code=404)
        for kind in ("adapters", "files"):
            for name, digest in (body.get(kind) or {}).items():
                if digest not in self.blobs:
                    return JSONResponse({"error": f"{kind} {name}: blob {digest} not found"}, status_code=400)
        family = self.models[base].family if base and base in self.models else "llama"
        if body.get("adapters") and family not in ("llama", "gemma2"):
            return JSONResponse({"error": f"safetensors adapters unsupported for {family}"}, status_code=400)
        self.models[body["model"]] = ModelEntry(body["model"], base, dict(body.get("adapters") or {}),
                                                dict(body.get("files") or {}), family)
        statuses = [{"status": "parsing modelfile"}, {"status": "success"}]
        if body.get("stream", True):
            return StreamingResponse(iter(json.dumps(s) + "\n" for s in statuses),
                                     media_type="application/x-ndjson")
        return JSONResponse(statuses[-1])

    async def _tags(self, request: Request) -> Response:
        await self._body(request)
        return JSONResponse({"models": [self._describe(m) for m in self.models.values()]})

    def _describe(self, entry: ModelEntry) -> dict[str, Any]:
        return {"name": entry.name, "model": entry.name, "modified_at": _now(), "size": 1,
                "digest": hashlib.sha256(entry.name.encode()).hexdigest(),
                "details": {"format": "gguf", "family": entry.family, "parameter_size": "3B",
                            "quantization_level": "Q4_K_M"}}

    async def _show(self, request: Request) -> Response:
        body = await self._body(request)
        entry = self.models.get(body.get("model", ""))
        if entry is None:
            return JSONResponse({"error": f"model '{body.get('model')}' not found"}, status_code=404)
        modelfile = f"FROM {entry.from_ or entry.name}\n" + "".join(f"ADAPTER {d}\n" for d in entry.adapters.values())
        return JSONResponse({"modelfile": modelfile, "parameters": "", "template": "{{ .Prompt }}",
                             "details": self._describe(entry)["details"], "model_info": {},
                             "modified_at": _now()})

    async def _delete(self, request: Request) -> Response:
        body = await self._body(request)
        if self.models.pop(body.get("model", ""), None) is None:
            return JSONResponse({"error": f"model '{body.get('model')}' not found"}, status_code=404)
        return Response(status_code=200)

    async def _copy(self, request: Request) -> Response:
        body = await self._body(request)
        entry = self.models.get(body.get("source", ""))
        if entry is None:
            return JSONResponse({"error": "source not found"}, status_code=404)
        self.models[body["destination"]] = ModelEntry(body["destination"], entry.from_, entry.adapters,
                                                      entry.files, entry.family)
        return Response(status_code=200)

    async def _ps(self, request: Request) -> Response:
        await self._body(request)
        return JSONResponse({"models": []})

    async def _version(self, request: Request) -> Response:
        return JSONResponse({"version": "0.12.0-fake"})

    async def _pull(self, request: Request) -> Response:
        body = await self._body(request)
        name = body.get("model") or body.get("name") or ""
        if not name.strip() or any(c.isspace() for c in name):
            return JSONResponse({"error": "invalid model name"}, status_code=400)
        lines = _pull_lines(self, name)
        if body.get("stream", True):
            return StreamingResponse(iter(json.dumps(line) + "\n" for line in lines),
                                     media_type="application/x-ndjson")
        if "error" in lines[-1]:  # as Ollama answers a failed non-streamed pull: 500, or the failure's status
            failure = self.fail_pull if self.fail_pull and self.fail_pull.error == lines[-1]["error"] else None
            return JSONResponse({"error": lines[-1]["error"]}, status_code=failure.status if failure else 500)
        return JSONResponse(lines[-1])

    async def _embed(self, request: Request) -> Response:
        body = await self._body(request)
        inputs = body.get("input") or []
        inputs = [inputs] if isinstance(inputs, str) else inputs
        return JSONResponse({"model": body.get("model"), "embeddings": [[0.0, 1.0, 0.5] for _ in inputs]})


def _full_name(model: str) -> str:
    """Ollama's spelling of a model name: ``:latest`` when no tag is given."""
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


def _pull_lines(fake: FakeOllama, name: str) -> list[dict[str, Any]]:
    """What Ollama's ``/api/pull`` streams for ``name``, ending in ``success`` or an ``error`` line."""
    full = _full_name(name)
    size = next((n for key, n in fake.registry.items() if _full_name(key) == full), None)
    lines: list[dict[str, Any]] = [{"status": "pulling manifest"}]
    if size is None:
        return [*lines, {"error": "pull model manifest: file does not exist"}]
    for layer, total in enumerate((size, 96)):
        digest = "sha256:" + hashlib.sha256(f"{full}/{layer}".encode()).hexdigest()
        status = f"pulling {digest[7:19]}"
        lines.append({"status": status, "digest": digest, "total": total})  # completed 0: omitted, as Ollama does
        if fake.fail_pull is not None:
            return [*lines, {"error": fake.fail_pull.error}]
        steps = max(1, fake.pull_steps)
        lines += [{"status": status, "digest": digest, "total": total, "completed": total * i // steps}
                  for i in range(1, steps + 1)]
    lines += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"}, {"status": "success"}]
    fake.models.setdefault(full, ModelEntry(full))
    return lines


def _instance_of(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """A plain valid instance of a JSON schema (midpoints, first enum values, required keys)."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return _instance_of(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return _instance_of(schema[key][0], defs)
    kind = schema.get("type", "object")
    if kind == "object":
        return {k: _instance_of(v, defs) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [_instance_of(schema.get("items", {}), defs)]
    if kind in ("number", "integer"):
        low, high = schema.get("minimum", 0), schema.get("maximum", 1)
        return (low + high) / 2 if kind == "number" else int(low)
    if kind == "boolean":
        return True
    return "ok"

