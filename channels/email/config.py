from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from gateway.config_base import Section, check_listen


class SmtpListenerConfig(Section):
    enabled: bool = False
    listen: str = "127.0.0.1:2525"
    max_message_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    # STARTTLS is offered when both are set (paths relative to the config file).
    tls_cert: str | None = None
    tls_key: str | None = None
    # Name in the greeting and EHLO answer; the machine's FQDN when empty.
    hostname: str = ""

    _listen = field_validator("listen")(check_listen)

    @model_validator(mode="after")
    def _cert_and_key(self) -> SmtpListenerConfig:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key must be set together")
        return self


class ImapConfig(Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 993
    ssl: bool = True
    username: str = ""
    password: str = ""
    mailbox: str = "INBOX"
    # After commit: mark \Seen, or move to this folder when set.
    move_to: str | None = None
    poll_interval_s: float = Field(default=60.0, gt=0)
    # Wait this long in IDLE before re-checking (servers drop IDLE after ~30 min).
    idle_timeout_s: float = Field(default=300.0, gt=0)
    # Reconnect backoff after a failure: doubles from min to max.
    backoff_min_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0)


class RelayConfig(Section):
    """Outgoing replies go through this SMTP relay."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    from_address: str = "lapor@localhost"
    timeout_s: float = Field(default=30.0, gt=0)


class EmailConfig(Section):
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    max_attachments: int = Field(default=10, ge=0)
    allowed_attachment_types: tuple[str, ...] = (
        "image/jpeg",
        "image/png",
        "image/gif",
        "application/pdf",
        "video/mp4",
    )
    smtp: SmtpListenerConfig = SmtpListenerConfig()
    imap: ImapConfig = ImapConfig()
    relay: RelayConfig = RelayConfig()

    @property
    def sends_replies(self) -> bool:
        """Read by gateway/replies.py: without the relay no reply is queued at all."""
        return self.relay.enabled
