"""``shared.metrics``: the scrape endpoint a worker or service serves, and the gauges' helpers."""

from __future__ import annotations

import socket

import httpx
from prometheus_client import REGISTRY

from shared.metrics import EVENTS_PUBLISHED, record_fine_tune, record_queue_stats, serve_metrics
from shared.queues.stats import QueueStat
from tests.support.metrics import sample
from tests.support.redis_server import free_port


def test_port_zero_serves_nothing() -> None:
    assert serve_metrics(0) is None and serve_metrics(None) is None


def test_a_served_port_answers_the_scrape_with_the_batos_metrics_and_serving_twice_is_harmless() -> None:
    port = free_port()
    EVENTS_PUBLISHED.labels("test_served").inc()
    assert serve_metrics(port, addr="127.0.0.1") == port
    assert serve_metrics(port, addr="127.0.0.1") == port  # a second call serves nothing more
    scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert scraped.status_code == 200
    assert 'batos_events_published_total{type="test_served"} 1.0' in scraped.text
    assert "# TYPE batos_job_seconds histogram" in scraped.text


def test_a_taken_port_is_skipped_not_fatal() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert serve_metrics(taken.getsockname()[1], addr="127.0.0.1") is None


def test_queue_stats_set_the_queue_gauges() -> None:
    record_queue_stats([QueueStat("batos:queue:gauged", depth=7, running=2, oldest_age_s=2.5)])
    assert sample("batos_queue_depth", queue="batos:queue:gauged") == 7
    assert sample("batos_queue_oldest_age_seconds", queue="batos:queue:gauged") == 2.5
    record_queue_stats([QueueStat("batos:queue:gauged", depth=0, running=0, oldest_age_s=0.0)])
    assert sample("batos_queue_depth", queue="batos:queue:gauged") == 0


def test_fine_tune_gauges_keep_one_fine_tune_per_persona() -> None:
    record_fine_tune("ROBIN", "ft-old", step=3, loss=1.5, tokens_per_s=100.0)
    record_fine_tune("ROBIN", "ft-new", step=1, loss=2.0)
    record_fine_tune("ROBIN", "ft-new", tokens_per_s=250.0)  # only what is given changes
    assert REGISTRY.get_sample_value("batos_fine_tune_step", {"persona": "ROBIN", "fine_tune_id": "ft-old"}) is None
    assert REGISTRY.get_sample_value("batos_fine_tune_loss", {"persona": "ROBIN", "fine_tune_id": "ft-old"}) is None
    new = {"persona": "ROBIN", "fine_tune_id": "ft-new"}
    assert (sample("batos_fine_tune_step", **new), sample("batos_fine_tune_loss", **new),
            sample("batos_fine_tune_tokens_per_second", **new)) == (1, 2.0, 250.0)
