"""Shared pieces of the config models."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section: unknown keys are an error, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_listen(value: str) -> tuple[str, int]:
    """'HOST:PORT' or '[v6]:PORT' -> (host, port); raises ValueError with a readable message."""
    host, sep, port_s = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    host = host.strip("[]")
    if not port_s.isdigit() or not 0 < int(port_s) < 65536:
        raise ValueError(f"port must be 1-65535, got {port_s!r}")
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if not all(part and part.replace("-", "").isalnum() for part in host.split(".")):
                raise ValueError(f"not a valid host: {host!r}") from None
    return host, int(port_s)


def check_listen(value: str) -> str:
    parse_listen(value)
    return value
