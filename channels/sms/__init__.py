"""SMS channel (short code 1708): GSM modem reader, provider webhooks, multipart, replies."""

from __future__ import annotations

from gateway.runtime import Runtime


def register(rt: Runtime) -> None:
    cfg = rt.settings.channels.sms
    from channels.sms.modem import ModemReader
    from channels.sms.multipart import Multipart, MultipartSweeper
    from channels.sms.send import SmsSender
    from channels.sms.webhooks import SmsWebhooks

    modem = None
    if cfg.modem.enabled:
        multipart = Multipart(
            rt.store, rt.intake, short_code=cfg.short_code, timeout_s=cfg.multipart_timeout_s
        )
        modem = ModemReader(rt, cfg, multipart)
        rt.add_service(modem)
        rt.add_service(MultipartSweeper(multipart, min(60.0, cfg.multipart_timeout_s / 4)))
    if cfg.webhook.enabled:
        rt.routes.extend(SmsWebhooks(rt, cfg).routes())
    if cfg.reply.kind != "none":
        sender = SmsSender(rt, cfg, modem)
        rt.add_service(sender)
        rt.add_sender("sms", sender.send)
