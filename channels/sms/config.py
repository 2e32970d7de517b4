from __future__ import annotations

from pydantic import Field

from gateway.config_base import Section


class ModemConfig(Section):
    enabled: bool = False
    port: str = "/dev/ttyUSB0"
    baudrate: int = 115200
    pin: str | None = None
    # The SIM is swept with AT+CMGL this often: +CMTI notifications can be lost (design §7).
    sweep_interval_s: float = Field(default=30.0, gt=0)
    reconnect_max_s: float = Field(default=60.0, gt=0)


class WebhookConfig(Section):
    enabled: bool = False
    secret: str | None = None
    twilio_auth_token: str | None = None
    kannel_secret: str | None = None


class ReplyProviderConfig(Section):
    """How SMS replies leave when there is no modem: none, a generic HTTP POST, or Twilio."""

    kind: str = Field(default="none", pattern="^(none|modem|http|twilio)$")
    url: str | None = None
    token: str | None = None
    twilio_account_sid: str | None = None
    twilio_from: str | None = None


class SmsConfig(Section):
    short_code: str = "1708"
    # Parts of a multipart SMS still incomplete after this long are assembled with gaps marked.
    multipart_timeout_s: float = Field(default=600.0, gt=0)
    # At most this many replies per number per hour: never loop with another auto-responder.
    replies_per_number_per_hour: int = Field(default=5, ge=0)
    modem: ModemConfig = ModemConfig()
    webhook: WebhookConfig = WebhookConfig()
    reply: ReplyProviderConfig = ReplyProviderConfig()
