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
from gateway.intake import Intake, forward_key, queue_forward, stored_raw
from gateway.labels import STATUS_WORDS, reason_words
from gateway.outbox import DEAD, DONE, make_due
from gateway.queries import find_complaint
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.models import Complaint, InboundMessage, OutboxItem, utcnow
from normalizer import Normalized, normalize

REVIEWABLE = ("pending_review",)
REJECTABLE = ("pending_review", "failed")
REASSIGNABLE = ("pending_review", "failed", "rejected_by_operator")


class ReviewError(Exception):
    """The decision cannot be applied: `str(e)` says why for the console's operator (in
    Indonesian), `en` for the CLI (the IT staff's tool speaks English)."""

    def __init__(self, text: str, en: str):
        super().__init__(text)
        self.en = en


@dataclass(frozen=True, slots=True)
class Decision:
    complaint_id: str
    tracking_ref: str
    region_code: str
    status: str
    reply_queued: bool = False  # the citizen will be told (a reply is in the outbox)


async def approve(
    store: Store, settings: Settings, id_or_ref: str, *, by: str | None = None
) -> Decision:
    async with store.transaction() as session:
        complaint = await _complaint(session, id_or_ref)
        if complaint.status not in REVIEWABLE:
            raise ReviewError(
                f"Aduan {complaint.tracking_ref} {_status(complaint)}; hanya aduan yang "
                "menunggu tinjauan yang dapat disetujui.",
                f"complaint {complaint.tracking_ref} is {complaint.status}; only complaints "
                "waiting for review (pending_review) can be approved",
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
        raise ReviewError(
            "Alasan penolakan wajib diisi.", "a reason is required (--reason, told to the citizen)"
        )
    async with store.transaction() as session:
        complaint = await _complaint(session, id_or_ref)
        if complaint.status not in REJECTABLE:
            raise ReviewError(
                f"Aduan {complaint.tracking_ref} {_status(complaint)}; hanya aduan yang "
                "menunggu tinjauan atau gagal diteruskan yang dapat ditolak.",
                f"complaint {complaint.tracking_ref} is {complaint.status}; only complaints "
                "pending_review or failed can be rejected",
            )
        complaint.status = "rejected_by_operator"
        complaint.status_reason = reason
        reply = await replies.queue_complaint_reply(
            session, settings, complaint, "rejected_by_operator", reason=reason
        )
        # The reason is the operator's free text: kept on the complaint, not in the log.
        _event(session, complaint, "rejected", by=by)
        return _decision(complaint, reply_queued=reply is not None)


async def assign(
    store: Store, settings: Settings, target: str, region_code: str, *, by: str | None = None
) -> Decision:
    """`target` is a complaint id or tracking number, or the number of an inbound message
    that did not become a complaint (`12` or `#12`, as `log` shows it)."""
    region_code = region_code.upper()
    region = settings.regions.get(region_code)
    if region is None:
        known = ", ".join(sorted(settings.regions))
        if not region_code:
            raise ReviewError(
                f"Pilih wilayah tujuan (yang ada: {known}).", f"give --region ({known})"
            )
        raise ReviewError(
            f"Wilayah {region_code} tidak dikenal (yang ada: {known}).",
            f"unknown region {region_code} (known: {known})",
        )
    number = target.removeprefix("#")  # as `log` prints it
    async with store.transaction() as session:
        if number.isdigit():
            return await _inbound_to_complaint(
                session, settings, store, int(number), region_code, by
            )
        complaint = await _complaint(session, target)
        if complaint.status not in REASSIGNABLE:
            raise ReviewError(
                f"Aduan {complaint.tracking_ref} {_status(complaint)}; wilayahnya tidak "
                "dapat diubah lagi.",
                f"complaint {complaint.tracking_ref} is {complaint.status}; its region can no "
                "longer change",
            )
        # To its own region only to reopen a rejected complaint; "Alihkan" means elsewhere.
        if complaint.region_code == region_code and complaint.status != "rejected_by_operator":
            raise ReviewError(
                f"Aduan {complaint.tracking_ref} sudah berada di wilayah {region_code}; "
                "pilih wilayah lain.",
                f"complaint {complaint.tracking_ref} is in {region_code} already; give another "
                "region",
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
        raise ReviewError(
            f"Pesan masuk #{inbound_id} tidak ditemukan.", f"no inbound message #{inbound_id}"
        )
    if inbound.complaint_id:
        raise ReviewError(
            f"Pesan masuk #{inbound_id} sudah menjadi aduan; ubah wilayah aduannya saja.",
            f"inbound message #{inbound_id} is a complaint already; assign the complaint instead",
        )
    if inbound.handled_at is not None:
        raise ReviewError(
            f"Pesan masuk #{inbound_id} sudah dibuang sebagai spam.",
            f"inbound message #{inbound_id} was dismissed as spam",
        )
    raw = stored_raw(inbound, region_code)
    verdict = normalize(
        raw,
        settings.region_rules(),
        short_code=settings.channels.sms.short_code,
        limits=settings.limits,
    )
    if not isinstance(verdict, Normalized):
        why = reason_words(verdict.reason.value)
        raise ReviewError(
            f"Pesan masuk #{inbound_id} tidak dapat dijadikan aduan: {why}.",
            f"inbound message #{inbound_id} cannot become a complaint: {verdict.reason.value}",
        )
    complaint = await Intake(settings, store)._create_complaint(
        session, raw, verdict, inbound, region_code=region_code
    )
    inbound.complaint_id = complaint.id
    inbound.region_code = region_code
    inbound.handled_at = utcnow()
    inbound.handled_by = by
    await replies.queue_complaint_reply(session, settings, complaint, "receipt")
    _event(session, complaint, "assigned", by=by, inbound_id=inbound_id)
    return _decision(complaint)


async def dismiss(store: Store, inbound_id: int, reason: str, *, by: str | None = None) -> None:
    """An unrouted or rejected message is spam: it leaves the inbox, kept with the reason."""
    reason = " ".join(reason.split())
    if not reason:
        raise ReviewError("Alasan membuang pesan wajib diisi.", "a reason is required")
    async with store.transaction() as session:
        inbound = await session.get(InboundMessage, inbound_id)
        if inbound is None or inbound.outcome not in ("unrouted", "rejected"):
            raise ReviewError(
                f"Pesan masuk #{inbound_id} tidak ada di kotak masuk.",
                f"inbound message #{inbound_id} is not in the inbox",
            )
        if inbound.complaint_id or inbound.handled_at is not None:
            raise ReviewError(
                f"Pesan masuk #{inbound_id} sudah ditangani.",
                f"inbound message #{inbound_id} is handled already",
            )
        inbound.handled_at = utcnow()
        inbound.handled_by = by
        inbound.dismiss_reason = reason[:500]
        # The reason is free text: kept on the message, not in the log.
        events.record(
            session,
            kind="review",
            outcome="dismissed",
            channel=inbound.channel,
            external_id=inbound.external_id,
            region_code=inbound.region_code,
            detail={"inbound_id": inbound_id, "by": by},
        )


async def _complaint(session: AsyncSession, id_or_ref: str) -> Complaint:
    found = await find_complaint(session, id_or_ref)
    if found is None:
        raise ReviewError(f"Aduan {id_or_ref} tidak ditemukan.", f"no complaint {id_or_ref!r}")
    return found[0]


def _status(complaint: Complaint) -> str:
    return STATUS_WORDS.get(complaint.status, f"berstatus {complaint.status}")


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


def _decision(complaint: Complaint, *, reply_queued: bool = False) -> Decision:
    return Decision(
        complaint.id, complaint.tracking_ref, complaint.region_code, complaint.status, reply_queued
    )
