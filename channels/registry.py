"""Every channel the gateway knows, one entry each.

Adding a channel = its folder (with `register(rt)` and, if it has settings, a config model)
plus ONE entry below. The core reads this table: `[channels.<name>]` is validated with the
channel's config model (gateway/settings.py) and `register` adds its services, routes and
reply sender (gateway/app.py). Entries are "module:attribute" strings resolved on use, so
reading the config does not import the channels' runtime code (which imports the core).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.runtime import Runtime


@dataclass(frozen=True, slots=True)
class ChannelEntry:
    name: str
    register: str  # "package:function" taking a Runtime
    config: str | None = None  # "module:Model" for [channels.<name>]; None: no settings
    # Citizens hear back on this channel through the outbox (receipt, forwarded, …). The web
    # form and the API answer in their HTTP response instead.
    replies: bool = False
    # A chat channel routed by keyword: a message without a known keyword hears the format.
    help: bool = False

    def config_model(self) -> type[Any] | None:
        return _resolve(self.config) if self.config else None

    def register_with(self, rt: Runtime) -> None:
        _resolve(self.register)(rt)


def _resolve(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


CHANNELS: tuple[ChannelEntry, ...] = (
    ChannelEntry("web", "channels.web:register"),
    ChannelEntry(
        "twitter",
        "channels.twitter:register",
        "channels.twitter.config:TwitterConfig",
        replies=True,
    ),
    ChannelEntry(
        "sms", "channels.sms:register", "channels.sms.config:SmsConfig", replies=True, help=True
    ),
    ChannelEntry(
        "email", "channels.email:register", "channels.email.config:EmailConfig", replies=True
    ),
    ChannelEntry("open311", "channels.open311:register", "channels.open311.config:Open311Config"),
    ChannelEntry(
        "whatsapp",
        "channels.whatsapp:register",
        "channels.whatsapp.config:WhatsAppConfig",
        replies=True,
        help=True,
    ),
    ChannelEntry(
        "telegram",
        "channels.telegram:register",
        "channels.telegram.config:TelegramConfig",
        replies=True,
        help=True,
    ),
)
