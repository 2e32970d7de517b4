"""`sandbox` mode: the JSON API of `lapor-gateway fake-lapor`, with status polling.

The sandbox speaks our canonical JSON at fixed paths, so only base_url and token matter.
"""

from __future__ import annotations

from gateway.lapor.config import LaporConfig
from gateway.lapor.http import HttpClient

SANDBOX_PATHS = {
    "path": "/api/v1/laporan",
    "status_path": "/api/v1/laporan/{tracking_id}",
    "field_map": {},
    "tracking_id_field": "tracking_id",
    "status_field": "status",
}


class SandboxClient(HttpClient):
    def __init__(self, cfg: LaporConfig):
        super().__init__(cfg.model_copy(update=SANDBOX_PATHS))
