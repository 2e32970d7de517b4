from __future__ import annotations

import re
import string
from typing import Literal

from pydantic import Field, field_validator, model_validator

from gateway.config_base import Section

# Telegram's rule for setWebhook's secret_token: 1-256 of these characters.
SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# What BotFather hands out: "<bot id>:<35 characters>".
BOT_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")

# Placeholders of help_text, filled by gateway/replies.py like the [replies] texts.
HELP_PLACEHOLDERS = frozenset({"keyword", "example", "region"})
DEFAULT_HELP = (
    "Kirim aduan dengan format: KODE (spasi) isi aduan, atau /lapor KODE isi aduan. "
    "Kode wilayah: {keyword}. Contoh: {example} jalan rusak di depan pasar"
)


class TelegramConfig(Section):
    """[channels.telegram]: a bot that takes complaints by webhook or by long polling."""

    enabled: bool = False
    bot_token: str | None = None
    # webhook: Telegram POSTs to /webhooks/telegram (needs a public HTTPS URL);
    # polling: the gateway asks getUpdates (offices without a public URL).
    mode: Literal["webhook", "polling"] = "webhook"
    # Sent by Telegram in X-Telegram-Bot-Api-Secret-Token; set the same in setWebhook.
    secret_token: str | None = None
    # Every Bot API request goes here (a local Bot API server, or `python -m fakes.bot_api`).
    api_base_url: str = "https://api.telegram.org"
    # getUpdates waits this long for news before answering empty (Telegram allows 0-50).
    long_poll_timeout_s: int = Field(default=30, ge=0, le=50)
    # Photos and documents larger than this are not downloaded (the text is kept, with a
    # note). The Bot API's getFile serves at most 20 MB.
    max_media_bytes: int = Field(default=10 * 1024 * 1024, gt=0, le=20 * 1024 * 1024)
    request_timeout_s: float = Field(default=30.0, gt=0)
    # After a 5xx, a timeout or a garbled answer: exponential backoff with full jitter.
    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0)
    reply_enabled: bool = True
    # Answer to /start, /bantuan, /help and to a message without a region keyword.
    # {keyword}: every region's first SMS keyword (or the region's, when it is known);
    # {example}: one of them; {region}: the region's name, when known.
    help_text: str = DEFAULT_HELP

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: str | None) -> str | None:
        if value is not None and not BOT_TOKEN_RE.match(value):
            # The value itself is not repeated: it is a secret.
            raise ValueError("not a bot token from BotFather (expected 123456789:AAE...)")
        return value

    @field_validator("secret_token")
    @classmethod
    def _secret_shape(cls, value: str | None) -> str | None:
        if value is not None and not SECRET_TOKEN_RE.match(value):
            raise ValueError("1-256 characters, only A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @field_validator("help_text")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        # A typo here would fail every intake transaction that queues the help text.
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as e:
            raise ValueError(
                f"not a valid template ({e}); write {{ and }} as {{{{ and }}}}"
            ) from None
        unknown = names - HELP_PLACEHOLDERS
        if unknown:
            known = ", ".join("{" + p + "}" for p in sorted(HELP_PLACEHOLDERS))
            raise ValueError(f"unknown placeholder {{{min(unknown)}}}; use {known}")
        return value

    @model_validator(mode="after")
    def _credentials_present(self) -> TelegramConfig:
        if self.enabled and not self.bot_token:
            raise ValueError("enabled = true needs bot_token (from BotFather)")
        if self.enabled and self.mode == "webhook" and not self.secret_token:
            raise ValueError(
                'mode = "webhook" needs secret_token (the same value given to setWebhook), '
                "so that only Telegram can post complaints"
            )
        return self

    @property
    def sends_replies(self) -> bool:
        """Read by gateway/replies.py: without reply_enabled no reply is queued at all."""
        return self.enabled and self.reply_enabled
