"""Open311 config: `[channels.open311]` (the services: gateway/region_services.py)."""

from __future__ import annotations

from gateway.config_base import Section


class Open311Config(Section):
    enabled: bool = True
    # Discovery's `contact` and `key_service`: how app makers reach the operators.
    contact: str = "Hubungi admin gateway LAPOR! pemerintah daerah Anda."
    key_service: str = "Kunci API diberikan oleh admin gateway ([[api_clients]] di gateway.toml)."
