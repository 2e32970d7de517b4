from __future__ import annotations

from pydantic import Field

from gateway.config_base import Section


class TwitterConfig(Section):
    enabled: bool = False
    bearer_token: str | None = None
    api_base_url: str = "https://api.x.com"
    poll_interval_s: float = Field(default=60.0, gt=0)
    # A first start looks back this far, not forever (recent search covers 7 days at most).
    initial_lookback_s: float = Field(default=3600.0, gt=0)
    # Our own account: its tweets are never complaints. Replies need user-context credentials.
    own_user_id: str | None = None
    reply_enabled: bool = False
    consumer_key: str | None = None
    consumer_secret: str | None = None
    access_token: str | None = None
    access_token_secret: str | None = None
