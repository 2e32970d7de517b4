"""E-mail channel: SMTP listener and IMAP mailbox in, replies out through a relay.

One message's path: smtp_listener.py or imap_poller.py (receive) -> mime.py (parse) ->
autoreply.py (machine mail?) -> inbound.py (one RawMessage per region, attachments saved)
-> intake.submit -> ack (250 / \\Seen) -> later send.py (reply through the relay).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.runtime import Runtime


def register(rt: Runtime) -> None:
    # Imported here: gateway.settings imports channels.email.config, which runs this
    # package's __init__ before gateway.intake exists.
    from channels.email.imap_poller import ImapPoller
    from channels.email.inbound import MailIntake
    from channels.email.send import EmailSender
    from channels.email.smtp_listener import SmtpListener

    cfg = rt.settings.channels.email
    if not (cfg.smtp.enabled or cfg.imap.enabled or cfg.relay.enabled):
        return
    mail = MailIntake(rt)
    if cfg.smtp.enabled:
        rt.add_service(SmtpListener(rt, mail))
    if cfg.imap.enabled:
        rt.add_service(ImapPoller(rt, mail))
    if cfg.relay.enabled:
        rt.add_sender("email", EmailSender(rt))
