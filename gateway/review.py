"""The review queue: what operators decide about complaints (CLI now, the console later).

approve   pending_review -> queued, and the forward to LAPOR is queued
reject    pending_review | failed -> rejected_by_operator; the citizen is told politely
assign    a complaint to another region, or an unrouted/rejected inbound message into a
          complaint of the given region

Assigning another region KEEPS the tracking number: the citizen already holds it (receipt
reply, web page), and lookups by number must keep working. Its prefix then names the
region that first received it, which operators can read as "came in via". The region and
its review rule are the new region's.

Every decision writes a `review` event; errors are phrased for the operator (Indonesian).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import events, replies
from gateway.intake import Intake, forward_key, queue_forward
from gateway.outbox import DEAD, DONE, make_due
from gateway.queries import find_complaint
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.models import Complaint, InboundMessage, OutboxItem
from normalizer import Normalized, normalize
from normalizer.types import Channel, RawMessage

REVIEWABLE = ("pending_review",)
REJECTABLE = ("pending_review", "failed")
REASSIGNABLE = ("pending_review", "failed", "rejected_by_operator")


class ReviewError(Exception):
    """The decision cannot be applied; the message says why, for the operator."""


@dataclass(frozen=True, slots=True)
class Decision:
    complaint_id: str
    tracking_ref: str
    region_code: str
    status: str


async def approve(
    store: Store, settings: Settings, id_or_ref: str, *, by: str | None = None
) -> Decision:
    async with store.transaction() as session:
        complaint = await _complaint(session, id_or_ref)
        if complaint.status not in REVIEWABLE:
            raise ReviewError(
                f"aduan {complaint.tracking_ref} berstatus {complaint.status}; "
                "hanya aduan pending_review yang dapat disetujui"
            )
        complaint.status = "queued"
        complaint.status_reason = None
        await _ensure_forward(session, complaint.id)
        _event(session, complaint, "approved", by=by)
        return _decision(complaint)


async def reject(
    store: Store, settings: Settings, id_or_ref: str, reason: str, *, by: str | None = None
) -> Decision:
    reason = " ".join(reason.split())
    if not reason:
        raise ReviewError("alasan penolakan wajib diisi (--reason)")
    async with store.transaction() as session:
        complaint = await _complaint(session, id_or_ref)
        if complaint.status not in REJECTABLE:
            raise ReviewError(
                f"aduan {complaint.tracking_ref} berstatus {complaint.status}; hanya aduan "
                + " atau ".join(REJECTABLE)
                + " yang dapat ditolak"
            )
        complaint.status = "rejected_by_operator"
        complaint.status_reason = reason
        await replies.queue_complaint_reply(
            session, settings, complaint, "rejected_by_operator", reason=reason
        )
        # The reason is the operator's free text: kept on the complaint, not in the log.
        _event(session, complaint, "rejected", by=by)
        return _decision(complaint)


async def assign(
    store: Store, settings: Settings, target: str, region_code: str, *, by: str | None = None
) -> Decision:
    """`target` is a complaint id or tracking number, or the number of an inbound message
    (as `log` shows it) that did not become a complaint."""
    region_code = region_code.upper()
    region = settings.regions.get(region_code)
    if region is None:
        known = ", ".join(sorted(settings.regions))
        raise ReviewError(f"wilayah {region_code} tidak dikenal (yang ada: {known})")
    async with store.transaction() as session:
        if target.isdigit():
            return await _inbound_to_complaint(
                session, settings, store, int(target), region_code, by
            )
        complaint = await _complaint(session, target)
        if complaint.status not in REASSIGNABLE:
            raise ReviewError(
                f"aduan {complaint.tracking_ref} berstatus {complaint.status}; wilayahnya "
                "tidak dapat diubah lagi"
            )
        previous = complaint.region_code
        complaint.region_code = region_code
        complaint.status_reason = None
        if region.review_required:
            complaint.status = "pending_review"
        else:
            complaint.status = "queued"
            await _ensure_forward(session, complaint.id)
        _event(session, complaint, "reassigned", by=by, from_region=previous)
        return _decision(complaint)


async def _inbound_to_complaint(
    session: AsyncSession,
    settings: Settings,
    store: Store,
    inbound_id: int,
    region_code: str,
    by: str | None,
) -> Decision:
    inbound = await session.get(InboundMessage, inbound_id)
    if inbound is None:
        raise ReviewError(f"pesan masuk #{inbound_id} tidak ditemukan")
    if inbound.complaint_id:
        raise ReviewError(
            f"pesan masuk #{inbound_id} sudah menjadi aduan; ubah wilayah aduannya saja"
        )
    raw = RawMessage(
        channel=Channel(inbound.channel),
        external_id=inbound.external_id,
        sender=inbound.sender,
        recipient=inbound.recipient,
        text=inbound.text,
        received_at=inbound.received_at,
        meta=inbound.meta,
        region_hint=region_code,
        sender_name=inbound.sender_name,
    )
    verdict = normalize(
        raw,
        settings.region_rules(),
        short_code=settings.channels.sms.short_code,
        limits=settings.limits,
    )
    if not isinstance(verdict, Normalized):
        raise ReviewError(
            f"pesan masuk #{inbound_id} tidak dapat dijadikan aduan: {verdict.reason.value} "
            f"({verdict.detail})"
        )
    complaint = await Intake(settings, store)._create_complaint(
        session, raw, verdict, inbound, region_code=region_code
    )
    inbound.complaint_id = complaint.id
    inbound.region_code = region_code
    await replies.queue_complaint_reply(session, settings, complaint, "receipt")
    _event(session, complaint, "assigned", by=by, inbound_id=inbound_id)
    return _decision(complaint)


async def _complaint(session: AsyncSession, id_or_ref: str) -> Complaint:
    found = await find_complaint(session, id_or_ref)
    if found is None:
        raise ReviewError(f"aduan {id_or_ref!r} tidak ditemukan")
    return found[0]


async def _ensure_forward(session: AsyncSession, complaint_id: str) -> None:
    """Queue the forward, or make an earlier (dead) one due again with a fresh budget."""
    row = await session.scalar(
        select(OutboxItem).where(OutboxItem.idempotency_key == forward_key(complaint_id))
    )
    if row is None:
        queue_forward(session, complaint_id)
        return
    if row.status in (DEAD, DONE):
        make_due(row)


def _event(
    session: AsyncSession, complaint: Complaint, outcome: str, *, by: str | None, **detail: Any
) -> None:
    events.record(
        session,
        kind="review",
        outcome=outcome,
        channel=complaint.channel,
        complaint_id=complaint.id,
        region_code=complaint.region_code,
        detail={"tracking_ref": complaint.tracking_ref, "status": complaint.status, "by": by}
        | detail,
    )


def _decision(complaint: Complaint) -> Decision:
    return Decision(complaint.id, complaint.tracking_ref, complaint.region_code, complaint.status)
