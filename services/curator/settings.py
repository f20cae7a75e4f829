"""Settings of the curator (``BATOS_CURATOR_*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.settings import BaseServiceSettings


class CuratorSettings(BaseServiceSettings):
    service_name: str = "curator"

    # The judge. None: ALFRED's current model from the persona registry. A judge from another model
    # family than BRICK's and ROBIN's reduces self-preference.
    curator_judge_model: str | None = None
    curator_judge_attempts: int = Field(default=2, ge=1, description="tries per question on a bad answer")
    curator_golden_threshold: float = Field(default=0.8, ge=0.0, le=1.0)
    curator_max_chars: int = Field(default=6_000, ge=200, description="per text shown to the judge")

    # The dataset.
    curator_trigger_size: int = Field(default=200, ge=1, description="samples that seal a version")
    curator_heldout_fraction: float = Field(default=0.1, ge=0.0, lt=1.0)
    curator_fsync: bool = True

    # Reading the interaction stream.
    curator_mode: Literal["continuous", "cycles"] = "continuous"
    curator_cycle_interval_s: float = Field(default=300.0, gt=0)
    curator_concurrency: int = Field(default=8, ge=1, description="interactions judged at once")
    curator_block_ms: int = Field(default=1_000, ge=10)
    curator_claim_idle_ms: int = Field(default=60_000, ge=100,
                                       description="an entry idle this long is claimed from its holder")
    curator_claim_interval_s: float = Field(default=5.0, gt=0)
    curator_max_deliveries: int = Field(default=5, ge=1, description="then it is recorded as failed")
    curator_consumer_name: str | None = None
    curator_verdict_ttl_s: int = Field(default=30 * 86_400, ge=60)
