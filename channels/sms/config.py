from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from gateway.config_base import Section


class ModemConfig(Section):
    enabled: bool = False
    port: str = "/dev/ttyUSB0"
    baudrate: int = Field(default=115200, gt=0)
    pin: str | None = None
    # The SIM is swept with AT+CMGL this often: +CMTI notifications can be lost (design §7).
    sweep_interval_s: float = Field(default=30.0, gt=0)
    reconnect_max_s: float = Field(default=60.0, gt=0)

    @field_validator("pin")
    @classmethod
    def _pin_digits(cls, value: str | None) -> str | None:
        # A malformed PIN would be sent to the SIM and count as a wrong attempt.
        if value is not None and not (value.isdigit() and 4 <= len(value) <= 8):
            raise ValueError("a SIM PIN is 4 to 8 digits")
        return value


class WebhookConfig(Section):
    enabled: bool = False
    secret: str | None = None  # generic: HMAC-SHA256 key for X-Lapor-Signature
    twilio_auth_token: str | None = None
    kannel_secret: str | None = None

    @model_validator(mode="after")
    def _some_provider(self) -> WebhookConfig:
        if self.enabled and not (self.secret or self.twilio_auth_token or self.kannel_secret):
            raise ValueError(
                "webhooks are enabled but no provider has a secret: set secret, "
                "twilio_auth_token or kannel_secret"
            )
        return self


class ReplyProviderConfig(Section):
    """How SMS replies leave when there is no modem: none, a generic HTTP POST, or Twilio."""

    kind: str = Field(default="none", pattern="^(none|modem|http|twilio)$")
    url: str | None = None
    token: str | None = None
    twilio_account_sid: str | None = None
    twilio_from: str | None = None


class SmsConfig(Section):
    """[channels.sms]: the short code, the modem, provider webhooks and how replies leave."""

    short_code: str = "1708"
    # Parts of a multipart SMS still incomplete after this long are assembled with gaps marked.
    multipart_timeout_s: float = Field(default=600.0, gt=0)
    # At most this many replies per number per hour: never loop with another auto-responder.
    replies_per_number_per_hour: int = Field(default=5, ge=0)
    modem: ModemConfig = ModemConfig()
    webhook: WebhookConfig = WebhookConfig()
    reply: ReplyProviderConfig = ReplyProviderConfig()

    @model_validator(mode="after")
    def _reply_route_complete(self) -> SmsConfig:
        reply = self.reply
        if reply.kind == "modem" and not self.modem.enabled:
            raise ValueError("reply.kind = modem needs [channels.sms.modem] enabled = true")
        if reply.kind == "http" and not reply.url:
            raise ValueError("reply.kind = http needs reply.url")
        if reply.kind == "twilio" and not (
            reply.token and reply.twilio_account_sid and reply.twilio_from
        ):
            raise ValueError("reply.kind = twilio needs token, twilio_account_sid, twilio_from")
        return self

    @property
    def sends_replies(self) -> bool:
        """Read by gateway/replies.py: with kind = none no reply is queued at all."""
        return self.reply.kind != "none"
