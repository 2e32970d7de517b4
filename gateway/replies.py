"""Replies to citizens, queued in the outbox (kind `reply`) and sent by each channel's sender.

What a citizen hears and when:
  receipt        on accept, with our tracking number (in the intake transaction)
  help           an SMS, WhatsApp or Telegram message with an unknown keyword or no
                 text, or a Telegram /start, /bantuan: the format to use
  forwarded      once LAPOR answered, with LAPOR's tracking id
  rejected_by_operator   an operator rejected the complaint (with the reason)
  resolved       LAPOR reports it resolved (status sync; configurable)

Texts come from `settings.replies_for(region)`; SMS replies are fitted into one SMS.
Web form and API clients get their answer synchronously, so those channels get no rows.

Which of these a channel sends is its policy, `[replies.<channel>] notices` (one SMS per
complaint by default). A channel whose config has no way to send (`sends_replies` false:
SMS reply kind none, no tweet credentials, no mail relay) gets no rows either: the first
time it would have, the log says so once, as information ("no reply channel"), instead of
leaving an unsendable row per reply that looks like a failure.
"""

from __future__ import annotations

import string
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from channels.registry import CHANNELS
from gateway import events
from gateway.gsm7 import gsm_friendly, measure
from gateway.intake import IntakeContext, IntakeHook, Outcome
from gateway.settings import Settings
from gateway.store.models import Complaint, Cursor, InboundMessage, OutboxItem
from normalizer.types import RejectReason

# Which channels answer through the outbox, and which hear the format: the registry says.
REPLY_CHANNELS = frozenset(c.name for c in CHANNELS if c.replies)
HELP_CHANNELS = frozenset(c.name for c in CHANNELS if c.help)
HELP_REASONS = frozenset({RejectReason.UNROUTED, RejectReason.EMPTY_TEXT, RejectReason.TOO_SHORT})
# Values that may be shortened to make an SMS fit, least important first.
SHRINKABLE = ("reason", "region", "keyword")
ELLIPSIS = ".."


def fit_sms(template: str, values: dict[str, str]) -> str:
    """Fill a template so the result fits one SMS: first shorten the free-text values
    (reason, region name, keyword list), keeping tracking numbers whole; as a last resort
    cut the text at a word boundary."""
    values = {k: gsm_friendly(str(v)) for k, v in values.items()}
    values["region"] = values.get("region", "").replace("Kabupaten ", "Kab. ")
    text = gsm_friendly(template.format(**values))
    for key in SHRINKABLE:
        length = measure(text)
        if length.fits:
            return text
        value = values.get(key, "")
        if not value or key not in _placeholders(template):
            continue
        keep = max(0, len(value) - (length.units - length.limit) - len(ELLIPSIS))
        values[key] = _shorten_words(value, keep)
        text = gsm_friendly(template.format(**values))
    return _cut(text)


def _shorten_words(value: str, keep: int) -> str:
    """At most `keep` characters of `value`, cut at a word boundary, then the ellipsis."""
    if keep <= 0:
        return ""
    head = value[:keep]
    if len(value) > keep and value[keep] != " " and " " in head:
        head = head[: head.rfind(" ")]
    return head.rstrip(" ,;:.") + ELLIPSIS


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _cut(text: str) -> str:
    while not measure(text).fits:
        head = text[: max(1, len(text) - 1)]
        cut = head.rfind(" ", 0, len(head) - len(ELLIPSIS))
        text = (head[:cut] if cut > 0 else head[: len(head) - len(ELLIPSIS)]) + ELLIPSIS
    return text


def render(
    settings: Settings, channel: str, kind: str, region_code: str | None, **values: Any
) -> str:
    # A channel may word a notice its own way (Telegram's help names /lapor, not 1708).
    own: str | None = getattr(getattr(settings.channels, channel, None), f"{kind}_text", None)
    template: str = own or getattr(settings.replies_for(region_code), kind)
    region = settings.regions.get(region_code or "")
    keyword = _keyword_hint(settings, region_code)
    filled = {
        "ref": "",
        "lapor_id": "",
        "reason": "",
        # A WhatsApp citizen answers in the same chat, not to the SMS short code.
        "short_code": "nomor WhatsApp ini"
        if channel == "whatsapp"
        else settings.channels.sms.short_code,
        "region": region.name if region else "",
        "keyword": keyword,
        "example": keyword.partition("/")[0],
    } | {k: str(v) for k, v in values.items()}
    if channel == "sms":
        return fit_sms(template, filled)
    return template.format(**filled)


def _keyword_hint(settings: Settings, region_code: str | None) -> str:
    region = settings.regions.get(region_code or "")
    if region and region.sms_keywords:
        return region.sms_keywords[0]
    return "/".join(r.sms_keywords[0] for r in settings.regions.values() if r.sms_keywords)


def can_send(settings: Settings, channel: str) -> bool:
    """Whether the channel's config can send replies; a channel config that does not say
    (`sends_replies`) is taken to be able to."""
    return bool(getattr(getattr(settings.channels, channel, None), "sends_replies", True))


async def queue_reply(
    session: AsyncSession,
    settings: Settings,
    *,
    kind: str,
    channel: str,
    recipient: str,
    text: str,
    complaint_id: str | None = None,
    inbound_id: int | None = None,
    in_reply_to: str | None = None,
    meta: dict[str, Any] | None = None,
    key: str | None = None,
) -> OutboxItem | None:
    """Add a reply row to the open transaction; None when the channel gets no replies, its
    policy leaves this notice out, or it has no way to send.

    One reply of each kind per complaint (or inbound message): the key is unique. A reply
    to a message that is not stored as an inbound message (a bot command) brings its own."""
    if channel not in REPLY_CHANNELS or not recipient:
        return None
    if kind not in settings.file.replies.notices_for(channel):
        return None
    if not can_send(settings, channel):
        await note_no_reply_channel(session, channel, kind)
        return None
    row = OutboxItem(
        kind="reply",
        complaint_id=complaint_id,
        inbound_id=inbound_id,
        channel=channel,
        recipient=recipient,
        idempotency_key=key or reply_key(kind, complaint_id, inbound_id),
        payload={"purpose": kind, "text": text, "in_reply_to": in_reply_to, "meta": meta or {}},
        status="pending",
    )
    session.add(row)
    return row


NO_REPLY_CHANNEL = "no_reply_channel"


async def note_no_reply_channel(session: AsyncSession, channel: str, kind: str) -> None:
    """Say once that `channel` cannot answer citizens. A marker row (INSERT ... ON CONFLICT
    DO NOTHING, so two instances never fail each other's transaction) makes it once per
    database, not per message; setting a sender up and back down does not repeat it.
    The insert is also the check: one statement per message, not a lookup and then one."""
    key = f"replies:{NO_REPLY_CHANNEL}:{channel}"
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    conn = await session.connection()
    inserted = await conn.execute(
        dialect.insert(Cursor.__table__)
        .values(key=key, value=kind)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    if inserted.rowcount != 1:
        return
    events.record(
        session,
        kind="reply",
        outcome=NO_REPLY_CHANNEL,
        channel=channel,
        reason="no reply channel",
        detail={
            "purpose": kind,
            "hint": f"set up a sender for {channel}, or [replies.{channel}] notices = []",
        },
    )


def reply_key(kind: str, complaint_id: str | None, inbound_id: int | None) -> str:
    subject = f"complaint:{complaint_id}" if complaint_id else f"inbound:{inbound_id}"
    return f"reply:{kind}:{subject}"


# A channel sets RawMessage.meta[NO_REPLY] when the source must never be answered
# (mailing lists, bulk mail, machine senders): no reply is queued for it at any stage.
NO_REPLY = "no_reply"


async def queue_complaint_reply(
    session: AsyncSession, settings: Settings, complaint: Complaint, kind: str, **values: Any
) -> OutboxItem | None:
    """A reply about an existing complaint, to whoever sent the message it came from.

    None when the citizen already got a reply of this kind about it (a complaint rejected,
    reassigned and rejected again hears it once): the unique key would fail the transaction."""
    if complaint.inbound_id is None or complaint.channel not in REPLY_CHANNELS:
        return None
    if kind not in settings.file.replies.notices_for(complaint.channel):
        return None
    already = await session.scalar(
        select(OutboxItem.id).where(
            OutboxItem.idempotency_key == reply_key(kind, complaint.id, complaint.inbound_id)
        )
    )
    if already is not None:
        return None
    inbound = await session.scalar(
        select(InboundMessage).where(InboundMessage.id == complaint.inbound_id)
    )
    if inbound is None or inbound.meta.get(NO_REPLY):
        return None
    known = {"ref": complaint.tracking_ref, "lapor_id": complaint.lapor_tracking_id or ""}
    text = render(settings, inbound.channel, kind, complaint.region_code, **(known | values))
    return await queue_reply(
        session,
        settings,
        kind=kind,
        channel=inbound.channel,
        recipient=inbound.sender,
        text=text,
        complaint_id=complaint.id,
        inbound_id=inbound.id,
        in_reply_to=inbound.external_id,
        meta={"subject": complaint.subject} if inbound.channel == "email" else {},
    )


def intake_hook(settings: Settings) -> IntakeHook:
    """Queue, inside the intake transaction, the receipt (accepted) or the help text
    (an SMS or WhatsApp message with an unknown keyword or without text)."""

    async def hook(session: AsyncSession, ctx: IntakeContext) -> None:
        raw, result = ctx.raw, ctx.result
        channel = raw.channel.value
        if channel not in REPLY_CHANNELS or raw.meta.get(NO_REPLY):
            return  # web form and API callers have their answer already
        if result.outcome is Outcome.ACCEPTED:
            kind = "receipt"
            text = render(settings, channel, kind, result.region_code, ref=result.tracking_ref)
        elif (
            channel in HELP_CHANNELS
            and ctx.rejection is not None
            and ctx.rejection.reason in HELP_REASONS
        ):
            kind = "help"
            text = render(settings, channel, kind, result.region_code)
        else:
            return
        meta = {"subject": raw.subject} if channel == "email" and raw.subject else {}
        await queue_reply(
            session,
            settings,
            kind=kind,
            channel=channel,
            recipient=raw.sender,
            text=text,
            complaint_id=result.complaint_id,
            inbound_id=result.inbound_id,
            in_reply_to=raw.external_id,
            meta=meta,
        )

    return hook
