"""One received mail -> RawMessages for intake, shared by the SMTP listener and IMAP poller.

A mail addressed to several regions becomes one complaint per region: each region's
operators must see and forward it themselves. The idempotency key is then
`<Message-ID>#<REGION>`, for a single region too, so a sending server that splits one mail
into one SMTP transaction per recipient domain yields the same keys as one transaction with
every recipient. The copies are linked as possible duplicates by intake itself: same
reporter address, same text, within the duplicate window.

A mail with no region address among its recipients (an IMAP mailbox reached by Bcc or a
forwarding rule) goes to intake once, keyed by its bare Message-ID, and the normalizer
routes it by recipient or leaves it unrouted for an operator.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from channels.email.attachments import save_attachments
from channels.email.autoreply import MailKind, classify
from channels.email.cursor import ImapCursor, save_cursor
from channels.email.mime import AttachmentLimits, MailRejection, ParsedMail, parse_mail, raw_sha256
from gateway import events
from gateway.intake import AlsoInTransaction, IntakeResult
from gateway.runtime import Runtime
from normalizer.types import Channel, RawMessage

INLINE_PARSE_BYTES = 64 * 1024

CHANNEL = Channel.EMAIL.value


@dataclass(frozen=True, slots=True)
class MailOutcome:
    """What became of one mail: intake results, or why it never reached intake."""

    results: tuple[IntakeResult, ...] = ()
    kind: MailKind | None = None
    rejected: str | None = None  # reason when recorded as a rejected event only


class MailIntake:
    def __init__(self, rt: Runtime):
        self.rt = rt
        cfg = rt.settings.channels.email
        self.limits = AttachmentLimits(
            max_bytes=cfg.max_attachment_bytes,
            allowed_types=cfg.allowed_attachment_types,
            max_count=cfg.max_attachments,
        )

    def region_for(self, address: str) -> str | None:
        # Looked up per mail: a reload (SIGHUP) may have changed the regions.
        wanted = address.strip().strip("<>").lower()
        for code, region in self.rt.settings.regions.items():
            if wanted in region.email_addresses:
                return code
        return None

    async def ingest(
        self,
        raw: bytes,
        *,
        received_at: datetime,
        via: str,
        envelope_sender: str | None = None,
        recipients: tuple[str, ...] = (),
        cursor: ImapCursor | None = None,
    ) -> MailOutcome:
        """Parse, store attachments, submit. Raises StoreUnavailable (and anything else)
        when the mail is not stored: the caller must then not ack it.

        `cursor` (IMAP) is saved in the transaction that stores the last part of the mail.
        """
        # A thread keeps a big mail from stalling the loop; a small one parses faster here
        # than the hop to a thread and back costs.
        if len(raw) > INLINE_PARSE_BYTES:
            parsed = await asyncio.to_thread(parse_mail, raw, self.limits)
        else:
            parsed = parse_mail(raw, self.limits)
        if isinstance(parsed, MailRejection):
            await self.record_rejected(
                parsed.reason, external_id=raw_sha256(raw), detail={"via": via}, cursor=cursor
            )
            return MailOutcome(rejected=parsed.reason)
        kind = classify(parsed, envelope_sender)
        if not kind.ingest:
            await self.record_rejected(
                kind.value, external_id=parsed.message_id, detail={"via": via}, cursor=cursor
            )
            return MailOutcome(kind=kind, rejected=kind.value)

        targets = self._targets(parsed, recipients)
        attachments = (
            await asyncio.to_thread(save_attachments, self.rt.settings.data_dir, parsed.attachments)
            if parsed.attachments
            else ()
        )
        sender = parsed.from_address or (envelope_sender or "").strip("<>").lower()
        meta = _meta(parsed, kind, via, len(raw), len(targets))
        results = []
        for n, (address, code) in enumerate(targets, start=1):
            raw_message = RawMessage(
                channel=Channel.EMAIL,
                external_id=f"{parsed.message_id}#{code}" if code else parsed.message_id,
                sender=sender,
                recipient=address,
                text=parsed.text or parsed.subject,
                received_at=received_at,
                attachments=attachments,
                meta=meta,
                region_hint=code,
                sender_name=parsed.from_name,
                subject=parsed.subject or None,
            )
            # The IMAP position moves with the last complaint the mail makes (replays too).
            also = _cursor_writer(cursor) if cursor is not None and n == len(targets) else None
            results.append(await self.rt.intake.submit(raw_message, also=also))
        return MailOutcome(results=tuple(results), kind=kind)

    def _targets(
        self, parsed: ParsedMail, recipients: tuple[str, ...]
    ) -> list[tuple[str, str | None]]:
        """(recipient address, region code) per complaint; envelope recipients win."""
        candidates = recipients or parsed.to
        targets: dict[str, tuple[str, str | None]] = {}
        for address in candidates:
            code = self.region_for(address)
            if code and code not in targets:
                targets[code] = (address.strip("<>").lower(), code)
        if targets:
            return list(targets.values())
        fallback = (recipients or parsed.to or ("",))[0]
        return [(fallback.strip("<>").lower(), None)]

    async def record_rejected(
        self,
        reason: str,
        *,
        external_id: str | None = None,
        detail: dict[str, Any] | None = None,
        cursor: ImapCursor | None = None,
    ) -> None:
        async with self.rt.store.transaction() as session:
            if cursor is not None:
                await save_cursor(session, cursor)
            events.record(
                session,
                kind="inbound",
                channel=CHANNEL,
                outcome="rejected",
                reason=reason,
                external_id=external_id,
                detail=detail,
            )


def _meta(parsed: ParsedMail, kind: MailKind, via: str, size: int, copies: int) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "via": via,
        "size": size,
        "message_id": parsed.message_id if parsed.has_message_id else None,
        "mail_kind": kind.value,
        "no_reply": not kind.may_reply,
        "subject": parsed.subject,
    }
    if parsed.date:
        meta["date"] = parsed.date.isoformat()
    if parsed.in_reply_to:
        meta["in_reply_to"] = parsed.in_reply_to
    if parsed.references:
        meta["references"] = list(parsed.references[-10:])
    if parsed.notes:
        meta["notes"] = list(parsed.notes)
    if copies > 1:
        meta["region_copies"] = copies
    return meta


def _cursor_writer(cursor: ImapCursor) -> AlsoInTransaction:
    async def write(session: AsyncSession, _: IntakeResult) -> None:
        await save_cursor(session, cursor)

    return write
