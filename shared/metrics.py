"""Prometheus metrics of every process, defined once (``batos_*``), and the scrape endpoint.

Each process has its own default registry: a worker or service serves it with
``serve_metrics(settings.metrics_port)`` (``BATOS_METRICS_PORT``; 0 = not served), the API
on its own ``/metrics`` route (the same registry, so shared code run inside the API shows there
too). Every replica reports its own counters; Prometheus tells them apart by ``instance``.

Metrics are updated in memory where the thing happens; none of them costs a Redis call on a
hot path. The queue gauges are the exception that proves it: each worker reads its own queue
(two cheap commands, ``shared.queues.stats``) once per health-check interval, and every replica
reports the same figure (aggregate with ``max by (queue)``, never ``sum``).

- jobs (``shared.queues.hooks``): ``batos_job_seconds`` / ``batos_jobs_total`` by worker, job, outcome
- queues (workers): ``batos_queue_depth``, ``batos_queue_oldest_age_seconds`` by queue
- LLM calls (``shared.llm.client``): ``batos_llm_call_seconds`` by model, persona, outcome
- dissonance (cognition): ``batos_dissonance``
- curation (curator): ``batos_curated_total`` by verdict, ``batos_curation_backlog`` by state
- sandbox (``shared.sandbox.runner``): ``batos_sandbox_runs_total`` by reason, ``batos_sandbox_run_seconds``
- fine-tunes (fine-tune worker): ``batos_fine_tune_step``, ``batos_fine_tune_loss``,
  ``batos_fine_tune_tokens_per_second`` by persona and fine_tune_id (one fine-tune per persona kept)
- events (``shared.events.bus``): ``batos_events_published_total`` by type
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

import structlog
from prometheus_client import Counter, Gauge, Histogram, start_http_server

if TYPE_CHECKING:
    from shared.queues.stats import QueueStat

log = structlog.get_logger(__name__)

# Seconds: a cognition job is seconds to minutes on a CPU, a fine-tune minutes to an hour.
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)
LLM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
SANDBOX_BUCKETS = (0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60)
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)

JOB_SECONDS = Histogram("batos_job_seconds", "Job run time by worker kind, job and outcome",
                        ["worker", "job", "outcome"], buckets=JOB_BUCKETS)
JOBS = Counter("batos_jobs_total", "Jobs run (tries) by worker kind, job and outcome "
               "(done, deferred, redis_lost, raised, cancelled)", ["worker", "job", "outcome"])
QUEUE_DEPTH = Gauge("batos_queue_depth", "Jobs in the queue (waiting, deferred and running); "
                    "every replica of a kind reports it: aggregate with max", ["queue"])
QUEUE_OLDEST_AGE = Gauge("batos_queue_oldest_age_seconds", "How long the oldest due job that no worker "
                         "holds has waited (0: none)", ["queue"])
LLM_CALL_SECONDS = Histogram("batos_llm_call_seconds", "LLM chat call latency by model, persona and outcome "
                             "(ok, unreachable, bad_answer)", ["model", "persona", "outcome"], buckets=LLM_BUCKETS)
DISSONANCE = Histogram("batos_dissonance", "ALFRED's dissonance verdict (0 agree .. 1 contradict) per answered task",
                       buckets=SCORE_BUCKETS)
CURATED = Counter("batos_curated_total", "Interactions curated by verdict "
                  "(golden, rejected, unjudged, malformed, failed)", ["verdict"])
CURATED_SAMPLES = Counter("batos_curated_samples_total", "Golden samples appended to the dataset, "
                          "by result (added, duplicate)", ["result"])
CURATION_BACKLOG = Gauge("batos_curation_backlog", "Interactions not curated yet: pending (delivered, "
                         "not acknowledged) and lag (not delivered); the same in every curator", ["state"])
SANDBOX_RUNS = Counter("batos_sandbox_runs_total", "Sandbox runs by reason", ["reason"])
SANDBOX_SECONDS = Histogram("batos_sandbox_run_seconds", "Sandbox run time (container creation included) by reason",
                            ["reason"], buckets=SANDBOX_BUCKETS)
FINE_TUNE_STEP = Gauge("batos_fine_tune_step", "The training step a fine-tune last reported",
                       ["persona", "fine_tune_id"])
FINE_TUNE_LOSS = Gauge("batos_fine_tune_loss", "The training loss a fine-tune last reported",
                       ["persona", "fine_tune_id"])
FINE_TUNE_TOKENS_PER_S = Gauge("batos_fine_tune_tokens_per_second", "Training throughput of a fine-tune "
                               "(tokens per second of the optimisation loop)", ["persona", "fine_tune_id"])
EVENTS_PUBLISHED = Counter("batos_events_published_total", "Events published by type", ["type"])

_FINE_TUNE_GAUGES = (FINE_TUNE_STEP, FINE_TUNE_LOSS, FINE_TUNE_TOKENS_PER_S)
_fine_tune_shown: dict[str, str] = {}  # persona -> the fine_tune_id its gauges show
_fine_tune_lock = threading.Lock()
_served: dict[int, int] = {}  # requested port -> bound port, once served in this process


def serve_metrics(port: int | None, addr: str = "127.0.0.1") -> int | None:
    """Serve this process's metrics on ``http://addr:port/metrics`` from a daemon thread.

    ``0`` or ``None``: not served. Returns the port, or ``None`` when not served; a port already
    taken (another process, a second replica on one host) is logged and skipped, never fatal:
    metrics must not stop a worker. Calling it again with the same port serves nothing twice.
    """
    if not port:
        return None
    if port in _served:
        return _served[port]
    try:
        server, _thread = start_http_server(port, addr=addr)
    except OSError as exc:
        log.warning("metrics not served: port unavailable", port=port, error=str(exc))
        return None
    bound = int(server.server_address[1])
    _served[port] = bound
    log.info("metrics served", port=bound, path="/metrics")
    return bound


def record_queue_stats(stats: Iterable[QueueStat]) -> None:
    """Set the queue gauges from ``shared.queues.stats.queue_stats`` (a worker for its queue, the
    API for all of them before it renders ``/metrics``)."""
    for stat in stats:
        QUEUE_DEPTH.labels(stat.queue).set(stat.depth)
        QUEUE_OLDEST_AGE.labels(stat.queue).set(stat.oldest_age_s)


def record_fine_tune(persona: str, fine_tune_id: str, *, step: int | None = None, loss: float | None = None,
                     tokens_per_s: float | None = None) -> None:
    """Set a fine-tune's gauges; a persona's previous fine-tune's series are removed, so the
    gauges hold one fine-tune per persona however many ran in this process."""
    with _fine_tune_lock:
        previous = _fine_tune_shown.get(persona)
        if previous is not None and previous != fine_tune_id:
            for gauge in _FINE_TUNE_GAUGES:
                try:
                    gauge.remove(persona, previous)
                except KeyError:  # never set for that one
                    pass
        _fine_tune_shown[persona] = fine_tune_id
    if step is not None:
        FINE_TUNE_STEP.labels(persona, fine_tune_id).set(step)
    if loss is not None:
        FINE_TUNE_LOSS.labels(persona, fine_tune_id).set(loss)
    if tokens_per_s is not None:
        FINE_TUNE_TOKENS_PER_S.labels(persona, fine_tune_id).set(tokens_per_s)
