"""Forwarding to LAPOR!-SP4N: one adapter per `[lapor] mode` (design §5)."""

from __future__ import annotations

from gateway.lapor.client import LaporClient
from gateway.lapor.config import LaporConfig


def make_client(cfg: LaporConfig) -> LaporClient:
    from gateway.lapor.http import HttpClient
    from gateway.lapor.sandbox import SandboxClient
    from gateway.lapor.xml import XmlClient

    adapters: dict[str, type[HttpClient] | type[XmlClient]] = {
        "sandbox": SandboxClient,
        "http": HttpClient,
        "xml": XmlClient,
    }
    return adapters[cfg.mode](cfg)
