"""Settings of the HTTP API (``BATOS_API_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from shared.settings import BaseServiceSettings, require_real_secret


class ApiSettings(BaseServiceSettings):
    service_name: str = "api"
    api_token: SecretStr = Field(description="bearer token every /v1 route requires; no default")
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    api_max_task_chars: int = Field(default=8_000, ge=1)
    api_sse_ping_s: float = Field(default=15.0, gt=0)
    # Request bodies are refused (413) past this size, counted while they are read.
    api_max_body_bytes: int = Field(default=1_048_576, ge=1_024)
    # Connection limits (services/api/server.py): a request line and headers over this size get a 431
    # and the connection closed; a request head not complete this long after the connection opened
    # (or after the previous response) gets a 408 and the connection closed (slowloris).
    api_max_head_bytes: int = Field(default=65_536, ge=4_096)
    api_head_timeout_s: float = Field(default=10.0, gt=0)
    api_body_timeout_s: float = Field(default=30.0, gt=0, description="each body part within this, or 408")
    api_health_cache_s: float = Field(default=1.0, ge=0, description="/healthz reuses its last report this long")
    api_keep_alive_s: int = Field(default=5, ge=1, description="idle time after a response before closing")
    api_limit_concurrency: int = Field(default=1_000, ge=1, description="connections or requests; then 503")

    @model_validator(mode="after")
    def _no_placeholder_token(self) -> ApiSettings:
        require_real_secret(self.api_token, "BATOS_API_TOKEN", self.environment)
        return self
