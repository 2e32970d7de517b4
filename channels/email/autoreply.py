"""Loop prevention: tell a citizen's mail from mail written by machines.

Decision (RFC 3834 and what mail servers really send):

- BOUNCE: delivery or read reports (multipart/report, message/delivery-status), the null
  sender `<>`, MAILER-DAEMON / postmaster. Not a complaint: recorded as a `rejected` event
  (reason `bounce`), never sent to intake, never answered. Usually it is a bounce of one of
  our own replies, and the event tells the operator that the reply did not arrive.
- AUTO_REPLY: `Auto-Submitted: auto-replied`, `X-Autoreply`, `X-Autorespond`. An answer
  to our own mail ("Saya sedang cuti ..."): recorded as a `rejected` event (reason
  `auto_reply`) and not ingested, because intake would forward "I'm on leave" to LAPOR as a
  complaint of its own.
- AUTOMATED: `Auto-Submitted` other than `no` (e.g. a region's web-form mailer),
  `Precedence: bulk|list|junk`, mailing lists. Ingested like any mail (it may well carry a
  real complaint), but marked `no_reply` so that the send side never answers it.
- PERSON: everything else.
"""

from __future__ import annotations

from enum import StrEnum

from channels.email.mime import ParsedMail

SYSTEM_LOCALPARTS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")


class MailKind(StrEnum):
    PERSON = "person"
    AUTOMATED = "automated"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"

    @property
    def ingest(self) -> bool:
        return self in (MailKind.PERSON, MailKind.AUTOMATED)

    @property
    def may_reply(self) -> bool:
        return self is MailKind.PERSON


def classify(mail: ParsedMail, envelope_sender: str | None = None) -> MailKind:
    """`envelope_sender`: SMTP MAIL FROM ('' for `<>`), or None when unknown (IMAP)."""
    h = {k: v.strip().lower() for k, v in mail.headers.items()}
    ctype = h.get("content-type", "")
    if ctype.startswith("multipart/report") or ctype.startswith("message/delivery-status"):
        return MailKind.BOUNCE
    if envelope_sender is None:
        return_path = h.get("return-path")
        if return_path is not None:
            envelope_sender = return_path.strip("<> ")
    if envelope_sender is not None and not envelope_sender.strip("<> "):
        return MailKind.BOUNCE
    for address in (envelope_sender, mail.from_address):
        if address and address.split("@", 1)[0].lower() in SYSTEM_LOCALPARTS:
            return MailKind.BOUNCE
    auto = h.get("auto-submitted", "")
    if auto.startswith("auto-replied") or "x-autoreply" in h or "x-autorespond" in h:
        return MailKind.AUTO_REPLY
    if auto and not auto.startswith("no"):
        return MailKind.AUTOMATED
    if h.get("precedence") in ("bulk", "list", "junk"):
        return MailKind.AUTOMATED
    if "list-id" in h or "list-unsubscribe" in h:
        return MailKind.AUTOMATED
    if h.get("x-auto-response-suppress", "") in ("all", "oof", "autoreply"):
        # Outlook's own auto-replies and notifications carry this.
        return MailKind.AUTOMATED
    return MailKind.PERSON
