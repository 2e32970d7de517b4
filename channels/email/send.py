"""Replies to citizens by e-mail, through the configured relay (aiosmtplib).

A reply threads under the citizen's mail (In-Reply-To, References), comes from the relay's
from_address with the region's own address as Reply-To, and says it is automatic
(`Auto-Submitted: auto-replied`, RFC 3834), so well-behaved responders do not answer it.
Mail marked `no_reply` at intake (lists, bulk, machine-made mail) is never answered: the
last guard against mail loops sits here, whatever queued the reply.

The Message-ID derives from the outbox idempotency key: a resend after a crash carries
the same id, and mail clients show it once.
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import formataddr, formatdate

import aiosmtplib
from sqlalchemy import select

from channels.email.config import RelayConfig
from gateway.runtime import Reply, Runtime, SendResult
from gateway.store.models import InboundMessage

FOOTER = (
    "\n\n-- \n"
    "Pesan ini dikirim otomatis oleh layanan pengaduan {region}.\n"
    "Untuk menambah keterangan, balas e-mail ini dan sebutkan nomor tiket Anda."
)


class EmailSender:
    def __init__(self, rt: Runtime):
        self.rt = rt
        self.relay: RelayConfig = rt.settings.channels.email.relay

    async def __call__(self, reply: Reply) -> SendResult:
        inbound = await self._inbound(reply)
        meta = inbound.meta if inbound is not None else {}
        if meta.get("no_reply"):
            return SendResult(ok=False, error="automatic mail: never answered", retry=False)
        message = self.build(reply, inbound)
        try:
            await aiosmtplib.send(
                message,
                hostname=self.relay.host,
                port=self.relay.port,
                username=self.relay.username,
                password=self.relay.password,
                start_tls=self.relay.starttls,
                timeout=self.relay.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as e:
            codes = [r.code for r in e.recipients]
            return SendResult(
                ok=False,
                error=f"relay refused the recipient ({codes})",
                retry=any(400 <= c < 500 for c in codes),
            )
        except aiosmtplib.SMTPResponseException as e:
            return SendResult(
                ok=False, error=f"relay answered {e.code}", retry=not 500 <= e.code < 600
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            return SendResult(ok=False, error=f"relay unreachable: {type(e).__name__}")
        return SendResult(ok=True, external_id=str(message["Message-ID"]))

    async def _inbound(self, reply: Reply) -> InboundMessage | None:
        if not reply.in_reply_to:
            return None
        async with self.rt.store.reader() as session:
            return await session.scalar(
                select(InboundMessage).where(
                    InboundMessage.channel == "email",
                    InboundMessage.external_id == reply.in_reply_to,
                )
            )

    def build(self, reply: Reply, inbound: InboundMessage | None) -> EmailMessage:
        meta = inbound.meta if inbound is not None else {}
        region = self.rt.settings.regions.get(inbound.region_code or "") if inbound else None
        domain = self.relay.from_address.rpartition("@")[2] or "localhost"
        digest = hashlib.sha256(reply.idempotency_key.encode()).hexdigest()[:32]

        msg = EmailMessage()
        sender_name = f"LAPOR! {region.name}" if region else "LAPOR!"
        msg["From"] = formataddr((sender_name, self.relay.from_address))
        msg["To"] = reply.recipient
        if region and region.email_addresses:
            msg["Reply-To"] = region.email_addresses[0]
        subject = str(reply.meta.get("subject") or meta.get("subject") or "").strip()
        msg["Subject"] = f"Re: {subject}" if subject else "Tanggapan atas aduan Anda"
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = f"<reply-{digest}@{domain}>"
        original = meta.get("message_id")
        if original:
            msg["In-Reply-To"] = original
            references = [*meta.get("references", []), original]
            msg["References"] = " ".join(dict.fromkeys(references))
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
        region_name = region.name if region else "LAPOR!"
        msg.set_content(reply.text + FOOTER.format(region=region_name), charset="utf-8")
        return msg
