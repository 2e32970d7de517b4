"""WhatsApp Business Cloud API channel: the signed webhook (messages, media, statuses) and
replies through the Graph API.

payload.py (Meta's JSON taken apart) -> webhook.py (signature, media, intake, statuses)
-> gateway/intake; replies: send.py through graph.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # gateway.settings imports channels.whatsapp.config: no import cycle here
    from gateway.runtime import Runtime


def register(rt: Runtime) -> None:
    cfg = rt.settings.channels.whatsapp
    if not cfg.enabled:
        return
    from channels.whatsapp.graph import HEALTH, GraphApi
    from channels.whatsapp.send import WhatsAppSender
    from channels.whatsapp.webhook import WhatsAppWebhook

    graph = GraphApi(cfg)
    rt.routes.extend(WhatsAppWebhook(rt, cfg, graph).routes())
    sender = WhatsAppSender(rt, cfg, graph)
    rt.add_service(sender)
    rt.add_sender("whatsapp", sender.send)
    rt.health.set(HEALTH, True, "webhook siap di /webhooks/whatsapp")
