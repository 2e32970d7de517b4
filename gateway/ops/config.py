from __future__ import annotations

from pydantic import Field

from gateway.config_base import Section


class OpsConfig(Section):
    """The operator console at /ops/."""

    enabled: bool = True
    # Signs session cookies. Set the same value on every instance behind one address;
    # unset, a random secret is kept in data_dir/ops_secret.
    session_secret: str | None = Field(default=None, min_length=32)
    session_hours: float = Field(default=10.0, gt=0)
    # How often an open console page asks for the counts in its menu (waiting for review,
    # unhandled inbox messages).
    counts_refresh_s: float = Field(default=10.0, ge=1, le=3600)
