from __future__ import annotations

from pydantic import Field

from gateway.config_base import Section


class LaporConfig(Section):
    mode: str = Field(default="sandbox", pattern="^(sandbox|http|xml)$")
    base_url: str = "http://127.0.0.1:8090"
    token: str = "sandbox-token"
    max_attempts: int = Field(default=8, ge=1)
    timeout_s: float = Field(default=15.0, gt=0)
    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_max_s: float = Field(default=3600.0, gt=0)
    # http mode: where to POST and how our fields map onto the agency's JSON.
    path: str = "/api/v1/laporan"
    status_path: str = "/api/v1/laporan/{tracking_id}"
    field_map: dict[str, str] = Field(default_factory=dict)
    status_sync_interval_s: float = Field(default=300.0, gt=0)
    notify_on_resolved: bool = True
