"""`/ops/complaints/{tracking_ref}`: one complaint, its timeline and internal notes.

The timeline is the complaint's events (ingestion log: received, reviewed, forwarded,
attempts and their errors, replies, LAPOR status changes) merged with operators' notes.
Notes are internal: stored in `complaint_notes`, never sent to LAPOR or to the citizen,
and kept out of the event log (free text may carry personal data).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.labels import CATEGORY_LABELS, CHANNEL_LABELS, STATUS_LABELS
from gateway.ops.auth import OperatorSession
from gateway.ops.labels import describe_event, describe_reply_status, error_words
from gateway.ops.views import Console
from gateway.queries import find_complaint
from gateway.store.models import (
    Complaint,
    ComplaintNote,
    Event,
    OutboxItem,
    ReplyStatus,
)

MAX_NOTE_CHARS = 4000
TIMELINE_LIMIT = 500


def location_view(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """Where the problem is, as the channel gave it, with plain links to a map: nothing
    is embedded, so no request leaves for a map server unless the operator clicks."""
    if not stored:
        return None
    lat, long = stored.get("lat"), stored.get("long")
    point = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, long))
    links = []
    if point:
        la, lo = f"{lat:.6f}", f"{long:.6f}"
        links = [
            (
                "Buka di OpenStreetMap",
                f"https://www.openstreetmap.org/?mlat={la}&mlon={lo}#map=17/{la}/{lo}",
            ),
            ("Buka di aplikasi peta", f"geo:{la},{lo}"),
        ]
    return {
        "address": stored.get("address"),
        "point": f"{lat:.6f}, {long:.6f}" if point else None,
        "links": links,
    }


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} B"


async def load_scoped(console: Console, op: OperatorSession, ref: str) -> Complaint:
    async with console.rt.store.reader() as session:
        found = await find_complaint(session, ref)
    if found is None or not op.may_see(found[0].region_code):
        raise web.HTTPNotFound(text="Aduan tidak ditemukan.")
    return found[0]


async def detail_page(console: Console, request: web.Request, op: OperatorSession) -> web.Response:
    ref = request.match_info["ref"]
    async with console.rt.store.reader() as session:
        found = await find_complaint(session, ref)
        if found is None or not op.may_see(found[0].region_code):
            raise web.HTTPNotFound(text="Aduan tidak ditemukan.")
        c, reporter = found
        events = (
            await session.scalars(
                select(Event)
                .where(Event.complaint_id == c.id)
                .order_by(Event.id)
                .limit(TIMELINE_LIMIT)
            )
        ).all()
        notes = (
            await session.scalars(
                select(ComplaintNote)
                .where(ComplaintNote.complaint_id == c.id)
                .order_by(ComplaintNote.id)
            )
        ).all()
        original = (
            await session.get(Complaint, c.possible_duplicate_of)
            if c.possible_duplicate_of
            else None
        )
        statuses = await reply_statuses(session, c.id)
        echoes = (
            await session.scalars(
                select(Complaint).where(Complaint.possible_duplicate_of == c.id).limit(50)
            )
        ).all()
    zone = console.zone

    def when(ts: Any) -> str:
        return ts.astimezone(zone).strftime("%d-%m-%Y %H:%M")

    timeline = (
        [{"ts": e.ts, "time": when(e.ts), "text": describe_event(e), "note": False} for e in events]
        + [
            {
                "ts": n.created_at,
                "time": when(n.created_at),
                "text": n.text,
                "note": True,
                "author": n.author,
            }
            for n in notes
        ]
        + [
            {"ts": learnt, "time": when(at), "text": text, "note": False}
            for learnt, at, text in statuses
        ]
    )
    timeline.sort(key=lambda item: item["ts"])
    calendar = console.calendar
    followup = calendar.followup_due(c)
    region = console.rt.settings.regions.get(c.region_code)
    linked = [
        {"ref": d.tracking_ref, "visible": op.may_see(d.region_code), "role": "asal"}
        for d in ([original] if original else [])
    ] + [
        {"ref": d.tracking_ref, "visible": op.may_see(d.region_code), "role": "ulang"}
        for d in echoes
    ]
    return console.render(
        "ops_complaint_detail.html",
        request,
        op,
        nav="complaints",
        c=console.complaint_view(op, c, reporter),
        region_name=region.name if region else c.region_code,
        channel_label=CHANNEL_LABELS.get(c.channel, c.channel),
        category_label=CATEGORY_LABELS.get(c.category, c.category),
        status_label=STATUS_LABELS.get(c.status, c.status),
        # A failed forward keeps the adapter's error (English, for logs): said in words.
        status_reason=error_words(c.status_reason) if c.status == "failed" else c.status_reason,
        lapor_status=c.lapor_status,
        lapor_sync_error=c.lapor_sync_error,
        attachments=[
            {
                "name": a.get("filename") or "lampiran",
                "type": a.get("content_type") or "",
                "size": _size(int(a.get("size") or 0)),
                "url": a.get("url") if str(a.get("url") or "").startswith("https://") else None,
            }
            for a in (c.attachments or [])
            if isinstance(a, dict)
        ],
        verify_due=calendar.verify_due(c).strftime("%d-%m-%Y %H:%M"),
        followup_due=followup.strftime("%d-%m-%Y %H:%M") if followup else None,
        forwarded=when(c.forwarded_at) if c.forwarded_at else None,
        linked=linked,
        location=location_view(c.location),
        timeline=timeline,
        note_max=MAX_NOTE_CHARS,
        self_url=f"/ops/complaints/{quote(c.tracking_ref)}",
    )


async def reply_statuses(session: AsyncSession, complaint_id: str) -> list[tuple[Any, Any, str]]:
    """(when we learnt it, the provider's time, words) of every delivery status of the
    complaint's replies, matched by the id the provider gave each reply (so a status that
    came before the outbox stored that id is found too). The timeline orders them by when we
    learnt them, like its events: the provider's clock counts whole seconds, and not ours."""
    replies = (
        await session.execute(
            select(OutboxItem.channel, OutboxItem.payload, OutboxItem.result).where(
                OutboxItem.complaint_id == complaint_id, OutboxItem.kind == "reply"
            )
        )
    ).all()
    purposes = {
        (channel, str(result.get("external_id"))): payload.get("purpose")
        for channel, payload, result in replies
        if channel and (result or {}).get("external_id")
    }
    if not purposes:
        return []
    rows = (
        await session.scalars(
            select(ReplyStatus)
            .where(tuple_(ReplyStatus.channel, ReplyStatus.external_id).in_(list(purposes)))
            .order_by(ReplyStatus.id)
            .limit(TIMELINE_LIMIT)
        )
    ).all()
    return [
        (
            r.received_at,
            r.status_at,
            describe_reply_status(
                r.channel, purposes.get((r.channel, r.external_id)), r.status, r.errors
            ),
        )
        for r in rows
    ]


async def add_note(console: Console, request: web.Request, op: OperatorSession) -> web.Response:
    c = await load_scoped(console, op, request.match_info["ref"])
    back = f"/ops/complaints/{quote(c.tracking_ref)}"
    text = str((await request.post()).get("text", "")).strip()
    if not text:
        console.redirect(back, op, "Catatan kosong.", error=True)
    if len(text) > MAX_NOTE_CHARS:
        message = f"Catatan terlalu panjang ({len(text)} karakter; paling banyak {MAX_NOTE_CHARS})."
        console.redirect(back, op, message, error=True)
    async with console.rt.store.transaction() as session:
        session.add(ComplaintNote(complaint_id=c.id, author=op.name, text=text))
    console.redirect(f"{back}#linimasa", op, "Catatan disimpan.")
