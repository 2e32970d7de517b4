"""Telegram channel: a bot taking complaints by webhook or getUpdates, replying by sendMessage."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # gateway.settings imports channels.telegram.config: no import cycle here
    from gateway.runtime import Runtime


def register(rt: Runtime) -> None:
    cfg = rt.settings.channels.telegram
    if not cfg.enabled:
        return
    from channels.telegram.client import BotApi
    from channels.telegram.poller import TelegramPoller
    from channels.telegram.receive import CHANNEL, TelegramReceiver
    from channels.telegram.send import TelegramSender
    from channels.telegram.webhook import PATH, TelegramWebhook

    receiver = TelegramReceiver(rt, BotApi(cfg), cfg)
    if cfg.mode == "polling":
        rt.add_service(TelegramPoller(rt, receiver.api, cfg, receiver))
    else:
        webhook = TelegramWebhook(cfg, receiver)
        rt.routes.extend(webhook.routes())
        rt.add_service(webhook)
        rt.health.set(CHANNEL, True, f"menunggu pembaruan di {PATH}")
    if cfg.reply_enabled:
        sender = TelegramSender(rt, BotApi(cfg))
        rt.add_service(sender)
        rt.add_sender(CHANNEL, sender.send)
