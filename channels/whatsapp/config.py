"""[channels.whatsapp]: the WhatsApp Business Cloud API app, number and reply template."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from gateway.config_base import Section

GRAPH_BASE_URL = "https://graph.facebook.com/v21.0"


class WhatsAppConfig(Section):
    enabled: bool = False
    # Our answer to Meta's GET handshake must match what was typed into the app dashboard.
    verify_token: str | None = None
    # The app's secret: X-Hub-Signature-256 is the HMAC-SHA256 of each POST body with it.
    app_secret: str | None = None
    # A system user's permanent token with whatsapp_business_messaging.
    access_token: str | None = None
    # The business number we answer from (its id, not the phone number itself).
    phone_number_id: str | None = None
    # Every Graph API request goes here (`python -m fakes.graph_api` for training).
    graph_base_url: str = GRAPH_BASE_URL
    # An approved template with one body parameter ({{1}}, filled with the reply text),
    # sent when the citizen's last message is older than the 24-hour service window.
    reply_template: str | None = None
    reply_template_language: str = "id"
    # At most this many replies per number per hour, so that a business account's auto-reply
    # answering our receipt can never start a loop (each of its messages would hear the help).
    replies_per_number_per_hour: int = Field(default=5, ge=0)
    # Media (photo, video, voice note, document) larger than this is not downloaded.
    max_media_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    request_timeout_s: float = Field(default=30.0, gt=0)

    @field_validator("graph_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @field_validator("phone_number_id")
    @classmethod
    def _digits(cls, value: str | None) -> str | None:
        if value is not None and not value.isdigit():
            raise ValueError("the phone number id is digits only (WhatsApp Manager > API Setup)")
        return value

    @field_validator("reply_template")
    @classmethod
    def _template_name(cls, value: str | None) -> str | None:
        # Meta's template names: lowercase letters, digits and underscores.
        if value is not None and not re.fullmatch(r"[a-z0-9_]{1,512}", value):
            raise ValueError("a template name is lowercase letters, digits and _ only")
        return value

    @model_validator(mode="after")
    def _complete(self) -> WhatsAppConfig:
        if not self.enabled:
            return self
        missing = [
            key
            for key in ("verify_token", "app_secret", "access_token", "phone_number_id")
            if not getattr(self, key)
        ]
        if missing:
            raise ValueError("enabled = true needs " + ", ".join(missing))
        return self

    @property
    def sends_replies(self) -> bool:
        """Read by gateway/replies.py: a disabled channel queues no replies."""
        return self.enabled
