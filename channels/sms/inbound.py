"""From a decoded SMS to what intake takes, and the record of an SMS we could not read."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select

from gateway import events
from gateway.store.db import Store
from gateway.store.models import InboundMessage, utcnow
from normalizer.types import Channel, RawMessage


def modem_external_id(
    sender: str, smsc_timestamp: datetime, concat: tuple[int, int] | None, text: str
) -> str:
    """Design §3: sha256(sender, SMSC time stamp, concat ref/total, text).

    A network retransmission (same PDU at a new SIM index) gets the same id: a duplicate.
    """
    ref_total = f"{concat[0]}/{concat[1]}" if concat else "-"
    key = "\x1f".join((sender, smsc_timestamp.isoformat(), ref_total, text))
    return "sms:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def modem_raw(
    *,
    sender: str,
    short_code: str,
    text: str,
    smsc_timestamp: datetime,
    concat: tuple[int, int] | None,
    meta: dict[str, Any],
) -> RawMessage:
    return RawMessage(
        channel=Channel.SMS,
        external_id=modem_external_id(sender, smsc_timestamp, concat, text),
        sender=sender,
        recipient=short_code,
        text=text,
        received_at=smsc_timestamp,
        meta={"source": "modem", **meta},
    )


async def record_unreadable(
    store: Store, *, external_id: str, reason: str, detail: str, meta: dict[str, Any]
) -> bool:
    """Store an SMS that never became text (corrupt PDU, binary data, a status report).

    It lands in inbound_messages as `rejected`, with the raw PDU in `meta` for operators, and
    in the ingestion log without personal data. Returns False when it was recorded before
    (a re-read after a crash): then only the SIM deletion is left to do.
    """
    async with store.transaction() as session:
        existing = await session.scalar(
            select(InboundMessage.id).where(
                InboundMessage.channel == Channel.SMS.value,
                InboundMessage.external_id == external_id,
            )
        )
        if existing is not None:
            return False
        inbound = InboundMessage(
            channel=Channel.SMS.value,
            external_id=external_id,
            sender="unknown",
            recipient="",
            text="",
            received_at=utcnow(),
            outcome="rejected",
            reason=reason,
            detail=detail,
            meta=meta,
        )
        session.add(inbound)
        await session.flush()
        events.record(
            session,
            kind="inbound",
            channel=Channel.SMS.value,
            outcome="rejected",
            reason=reason,
            external_id=external_id,
            detail={"inbound_id": inbound.id, "error": detail},
        )
    return True
