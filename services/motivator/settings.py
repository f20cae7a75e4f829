"""Settings of the motivator (``BATOS_MOTIVATOR_*``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import BaseServiceSettings


class MotivatorSettings(BaseServiceSettings):
    service_name: str = "motivator"
    # A proactive task is generated after this long without a processed task (seed: 60 s) ...
    motivator_idle_after_s: float = Field(default=60.0, gt=0)
    # ... checked this often by every replica (one of them wins each idle period).
    motivator_idle_check_s: float = Field(default=5.0, gt=0)
    # Runaway guards: tasks the motivator may create per clock hour, and how deep a chain of
    # inquiry-about-inquiry may go (an API task is depth 0, its inquiry depth 1 ...).
    motivator_hourly_cap: int = Field(default=30, ge=0)
    motivator_max_inquiry_depth: int = Field(default=2, ge=0)
    # Ask the tool forge for the next built-in tool idea this often (all replicas together); 0: never.
    motivator_forge_every_s: float = Field(default=0.0, ge=0.0)
    # Consumer name in the events group: None -> hostname-pid (distinct per replica).
    motivator_consumer_name: str | None = None
    # An event held this long by a replica that died is claimed by another.
    motivator_claim_idle_ms: int = Field(default=30_000, ge=100)
    # A replica's presence in the group lives this long: what a killed one held is taken over
    # (and its name removed from the group) within it (shared/events/presence.py).
    motivator_presence_ttl_s: float = Field(default=15.0, ge=1.0)
