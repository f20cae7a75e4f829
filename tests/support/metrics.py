"""Reading this process's Prometheus metrics in tests."""

from __future__ import annotations

from prometheus_client import REGISTRY


def sample(name: str, **labels: str) -> float:
    """The sample's value now; 0.0 when the series does not exist yet (so deltas read naturally)."""
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value

