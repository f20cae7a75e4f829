"""The Grafana dashboard: valid JSON, the Prometheus datasource templated, and every metric it
queries is one the code defines (a renamed metric would leave a panel silently empty)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import services.api.metrics  # noqa: F401 - registers the API's metrics
import shared.metrics  # noqa: F401

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "batos.json"
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def defined() -> set[str]:
    names = set()
    for metric in REGISTRY.collect():
        names.add(metric.name)
        names.update(sample.name for sample in metric.samples)
        names.update(metric.name + suffix for suffix in SUFFIXES)
    return names


def test_the_dashboard_queries_only_defined_metrics_through_the_templated_datasource() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert [v["type"] for v in dashboard["templating"]["list"] if v["name"] == "datasource"] == ["datasource"]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    used = set()
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            used.update(re.findall(r"\bbatos_[a-z_]+", target["expr"]))
    assert used - defined() == set()
    for needed in ("batos_queue_depth", "batos_jobs_total", "batos_llm_call_seconds_bucket", "batos_dissonance_sum",
                   "batos_curated_total", "batos_sandbox_runs_total", "batos_fine_tune_loss"):
        assert needed in used, needed
