from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from gateway.config_base import Section


class TwitterConfig(Section):
    enabled: bool = False
    bearer_token: str | None = None
    # Every request of the client goes here (a proxy, or `python -m fakes.x_api`).
    api_base_url: str = "https://api.x.com"
    poll_interval_s: float = Field(default=60.0, gt=0)
    # A first start looks back this far, not forever (recent search covers 7 days at most).
    initial_lookback_s: float = Field(default=3600.0, gt=0, le=7 * 24 * 3600)
    # Tweets per page (X allows 10-100); a poll follows next_token through every page.
    max_results: int = Field(default=100, ge=10, le=100)
    # X rejects longer queries; hashtags are spread over several queries to stay below it.
    max_query_chars: int = Field(default=512, ge=64, le=4096)
    request_timeout_s: float = Field(default=30.0, gt=0)
    # After a 5xx, a timeout or a garbled answer: exponential backoff with full jitter.
    backoff_base_s: float = Field(default=5.0, gt=0)
    backoff_max_s: float = Field(default=900.0, gt=0)
    # Our own account: its tweets are never complaints. Replies need user-context credentials.
    own_user_id: str | None = None
    reply_enabled: bool = False
    consumer_key: str | None = None
    consumer_secret: str | None = None
    access_token: str | None = None
    access_token_secret: str | None = None

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _credentials_present(self) -> TwitterConfig:
        if self.enabled and not self.bearer_token:
            raise ValueError("enabled = true needs bearer_token (app-only token of the X project)")
        if self.reply_enabled and self.reply_credentials is None:
            raise ValueError(
                "reply_enabled = true needs consumer_key, consumer_secret, access_token and "
                "access_token_secret (OAuth 1.0a user context of our account)"
            )
        return self

    @property
    def sends_replies(self) -> bool:
        """Read by gateway/replies.py: without reply_enabled no reply is queued at all."""
        return self.reply_enabled

    @property
    def reply_credentials(self) -> tuple[str, str, str, str] | None:
        """OAuth 1.0a user context, needed to post replies; None unless all four are set."""
        creds = (
            self.consumer_key,
            self.consumer_secret,
            self.access_token,
            self.access_token_secret,
        )
        if not all(creds):
            return None
        return creds  # type: ignore[return-value]
