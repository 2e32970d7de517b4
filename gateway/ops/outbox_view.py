"""`/ops/outbox`: what did not get out — forwards and replies that failed, dead-lettered or
cannot be sent — with the error in words and a retry button; and the reports whose LAPOR
tracking id LAPOR does not know (status sync keeps failing on them), to close or re-send.

Retry is `outbox.replay` (the same as `lapor-gateway outbox retry ID`): the idempotency key
stays, so a report LAPOR did receive is not filed twice. Re-send is for a report LAPOR has
lost: the complaint goes back to `queued` without its tracking id and is forwarded again.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import and_, or_, select

from gateway import events, outbox
from gateway.intake import forward_key, queue_forward
from gateway.labels import CHANNEL_LABELS, REPLY_PURPOSES, STATUS_LABELS
from gateway.ops.auth import OperatorSession
from gateway.ops.labels import error_words
from gateway.ops.views import Console
from gateway.store.models import Complaint, OutboxItem

LIMIT = 200
MAX_REASON_CHARS = 500


class OutboxActionError(Exception):
    """The action cannot be applied; the message is for the operator."""


def _scoped(query: Any, op: OperatorSession) -> Any:
    # Rows without a complaint (help replies to unrouted messages) are the admin's.
    return query if op.is_admin else query.where(Complaint.region_code == op.region)


async def outbox_page(console: Console, request: web.Request, op: OperatorSession) -> web.Response:
    troubled = or_(
        OutboxItem.status.in_((outbox.DEAD, outbox.UNSENDABLE)),
        and_(OutboxItem.status == outbox.PENDING, OutboxItem.last_error.is_not(None)),
    )
    rows_q = _scoped(
        select(OutboxItem, Complaint)
        .outerjoin(Complaint, Complaint.id == OutboxItem.complaint_id)
        .where(troubled)
        .order_by(OutboxItem.updated_at.desc(), OutboxItem.id.desc())
        .limit(LIMIT),
        op,
    )
    unknown_q = _scoped(
        select(Complaint)
        .where(Complaint.status == "forwarded", Complaint.lapor_sync_error.is_not(None))
        .order_by(Complaint.received_at)
        .limit(LIMIT),
        op,
    )
    async with console.rt.store.reader() as session:
        rows = (await session.execute(rows_q)).all()
        unknown = (await session.scalars(unknown_q)).all()
    zone = console.zone
    items = []
    for row, c in rows:
        purpose = str(row.payload.get("purpose") or "")
        what = (
            "Teruskan ke LAPOR!"
            if row.kind == outbox.FORWARD
            else f"Balasan ke pelapor ({REPLY_PURPOSES.get(purpose, purpose or 'balasan')})"
        )
        state = {
            outbox.DEAD: "Berhenti dicoba",
            outbox.UNSENDABLE: "Tak dapat dikirim",
            outbox.PENDING: "Menunggu percobaan berikutnya",
        }.get(row.status, row.status)
        items.append(
            {
                "id": row.id,
                "what": what,
                "ref": c.tracking_ref if c else None,
                "channel": CHANNEL_LABELS.get(row.channel or (c.channel if c else ""), "-"),
                "state": state,
                "dead": row.status != outbox.PENDING,
                "attempts": row.attempts,
                "error": error_words(row.last_error),
                "updated": row.updated_at.astimezone(zone).strftime("%d-%m-%Y %H:%M"),
                "next": row.next_attempt_at.astimezone(zone).strftime("%d-%m %H:%M"),
            }
        )
    return console.render(
        "ops_outbox.html",
        request,
        op,
        nav="outbox",
        items=items,
        unknown=[
            {
                "ref": c.tracking_ref,
                "lapor_id": c.lapor_tracking_id,
                "region": c.region_code,
                "status": STATUS_LABELS.get(c.status, c.status),
                "error": error_words(c.lapor_sync_error),
            }
            for c in unknown
        ],
    )


async def retry(console: Console, request: web.Request, op: OperatorSession) -> web.Response:
    row_id = int(request.match_info["id"])
    async with console.rt.store.reader() as session:
        found = (
            await session.execute(
                select(OutboxItem, Complaint)
                .outerjoin(Complaint, Complaint.id == OutboxItem.complaint_id)
                .where(OutboxItem.id == row_id)
            )
        ).first()
    if found is None or not op.may_see(found[1].region_code if found[1] else None):
        raise web.HTTPNotFound(text="Antrean kirim tidak ditemukan.")
    try:
        await outbox.replay(console.rt.store, row_id=row_id)
    except outbox.NothingToRetry:
        console.redirect(
            "/ops/outbox", op, f"Kiriman #{row_id} sudah terkirim atau sedang dikirim.", error=True
        )
    ref = found[1].tracking_ref if found[1] else f"#{row_id}"
    console.redirect(
        "/ops/outbox", op, f"Kiriman {ref} diantrekan lagi; dicoba dalam beberapa detik."
    )


async def close_or_resend(
    console: Console, request: web.Request, op: OperatorSession
) -> web.Response:
    ref = request.match_info["ref"].upper()
    form = await request.post()
    action = str(form.get("action", ""))
    reason = " ".join(str(form.get("reason", "")).split())[:MAX_REASON_CHARS]
    try:
        message = await resolve_unknown(console, op, ref, action, reason)
    except OutboxActionError as e:
        console.redirect("/ops/outbox", op, str(e), error=True)
    console.redirect("/ops/outbox", op, message)


async def resolve_unknown(
    console: Console, op: OperatorSession, ref: str, action: str, reason: str
) -> str:
    """Close, or re-send, a forwarded complaint whose LAPOR tracking id LAPOR does not know."""
    if action not in ("close", "resend"):
        raise OutboxActionError("Pilih tutup atau kirim ulang.")
    if action == "close" and not reason:
        raise OutboxActionError(f"Alasan menutup {ref} wajib diisi.")
    async with console.rt.store.transaction() as session:
        c = await session.scalar(select(Complaint).where(Complaint.tracking_ref == ref))
        if c is None or not op.may_see(c.region_code):
            raise web.HTTPNotFound(text="Aduan tidak ditemukan.")
        if c.status != "forwarded" or c.lapor_sync_error is None:
            raise OutboxActionError(
                f"Aduan {ref} tidak lagi bermasalah dengan LAPOR! (status: "
                f"{STATUS_LABELS.get(c.status, c.status)}); tidak ada yang diubah."
            )
        old_id = c.lapor_tracking_id
        c.lapor_sync_error = None
        if action == "close":
            c.status = "closed"
            c.status_reason = reason
            outcome, message = "closed", f"Aduan {ref} ditutup."
        else:
            c.status = "queued"
            c.status_reason = None
            c.lapor_tracking_id = None
            c.lapor_status = None
            c.forwarded_at = None
            row = await session.scalar(
                select(OutboxItem).where(OutboxItem.idempotency_key == forward_key(c.id))
            )
            if row is None:
                queue_forward(session, c.id)
            else:
                outbox.make_due(row)
            outcome, message = "resent", f"Aduan {ref} diantrekan untuk dikirim ulang ke LAPOR!."
        events.record(
            session,
            kind="review",
            outcome=outcome,
            # The operator's free text stays on the complaint (status_reason), not in the log.
            reason="LAPOR tracking id unknown to LAPOR",
            channel=c.channel,
            complaint_id=c.id,
            region_code=c.region_code,
            detail={"tracking_ref": ref, "by": op.name, "previous_lapor_tracking_id": old_id},
        )
    return message
