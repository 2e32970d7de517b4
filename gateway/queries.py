"""Read models shared by the CLI, the HTTP API and the console."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import case, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from gateway.store.models import Complaint, Event, InboundMessage, Reporter, utcnow


def complaint_json(c: Complaint, reporter: Reporter | None) -> dict[str, Any]:
    return {
        "id": c.id,
        "tracking_ref": c.tracking_ref,
        "region": c.region_code,
        "channel": c.channel,
        "status": c.status,
        "status_reason": c.status_reason,
        "category": c.category,
        "subject": c.subject,
        "text": c.text,
        "attachments": c.attachments,
        "reporter": {
            "name": reporter.name if reporter else None,
            "phone": reporter.phone if reporter else None,
            "email": reporter.email if reporter else None,
            "twitter": (
                {"handle": reporter.twitter_handle, "id": reporter.twitter_id}
                if reporter and (reporter.twitter_handle or reporter.twitter_id)
                else None
            ),
        },
        "anonymous": c.anonymous,
        "confidential": c.confidential,
        "received_at": c.received_at,
        "created_at": c.created_at,
        "lapor_tracking_id": c.lapor_tracking_id,
        "lapor_status": c.lapor_status,
        "external_id": c.external_id,
        "possible_duplicate_of": c.possible_duplicate_of,
        "notes": c.notes,
    }


def public_status_json(c: Complaint) -> dict[str, Any]:
    """What anyone holding the tracking number may see: no reporter, no text."""
    return {
        "tracking_ref": c.tracking_ref,
        "region": c.region_code,
        "status": c.status,
        "lapor_tracking_id": c.lapor_tracking_id,
        "received_at": c.received_at,
        "updated_at": c.updated_at,
    }


async def list_complaints(
    session: AsyncSession,
    *,
    region: str | None = None,
    channel: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    where: ColumnElement[bool] | None = None,
) -> Sequence[tuple[Complaint, Reporter | None]]:
    query = (
        select(Complaint, Reporter)
        .outerjoin(Reporter, Complaint.reporter_id == Reporter.id)
        .order_by(Complaint.created_at, Complaint.tracking_ref)
    )
    if region:
        query = query.where(Complaint.region_code == region.upper())
    if channel:
        query = query.where(Complaint.channel == channel)
    if status:
        query = query.where(Complaint.status == status)
    if where is not None:
        query = query.where(where)
    if limit:
        query = query.limit(limit)
    return [(c, r) for c, r in (await session.execute(query)).all()]


async def find_complaint(
    session: AsyncSession, id_or_ref: str
) -> tuple[Complaint, Reporter | None] | None:
    row = (
        await session.execute(
            select(Complaint, Reporter)
            .outerjoin(Reporter, Complaint.reporter_id == Reporter.id)
            .where(or_(Complaint.id == id_or_ref, Complaint.tracking_ref == id_or_ref.upper()))
        )
    ).first()
    return (row[0], row[1]) if row else None


async def intake_stats(session: AsyncSession, zone: tzinfo = UTC) -> dict[str, Any]:
    """Counts by region × channel × outcome for today (midnight in `zone`, the configured
    timezone), the last 7 days and all time. An unrouted or rejected message an operator
    made a complaint counts as `assigned`, one dismissed as spam as `dismissed`."""
    now = utcnow()
    windows = {
        "today": now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0),
        "7d": now - timedelta(days=7),
        "all": None,
    }
    outcome = case(
        (InboundMessage.outcome == "accepted", InboundMessage.outcome),
        (InboundMessage.outcome == "duplicate", InboundMessage.outcome),
        (InboundMessage.complaint_id.is_not(None), literal_column("'assigned'")),
        (InboundMessage.handled_at.is_not(None), literal_column("'dismissed'")),
        else_=InboundMessage.outcome,
    ).label("outcome")
    out: dict[str, Any] = {}
    for name, since in windows.items():
        query = select(
            InboundMessage.region_code, InboundMessage.channel, outcome, func.count()
        ).group_by(InboundMessage.region_code, InboundMessage.channel, outcome)
        if since is not None:
            query = query.where(InboundMessage.ingested_at >= since)
        rows = (await session.execute(query)).all()
        out[name] = [
            {"region": region, "channel": channel, "outcome": outcome, "count": count}
            for region, channel, outcome, count in rows
        ]
    status_rows = (
        await session.execute(
            select(Complaint.region_code, Complaint.status, func.count()).group_by(
                Complaint.region_code, Complaint.status
            )
        )
    ).all()
    out["complaints_by_status"] = [
        {"region": r, "status": s, "count": n} for r, s, n in status_rows
    ]
    return out


REPLY_DAYS = 7
# The reply events that end an outbox row: what a channel's provider was asked to deliver
# (`sent`), what it gave up on (`dead`), what had no sender (`unsendable`).
REPLY_RESULTS = {"sent": "sent", "dead": "failed", "unsendable": "unsendable"}


async def reply_stats(
    session: AsyncSession,
    zone: tzinfo = UTC,
    *,
    days: int = REPLY_DAYS,
    region: str | None = None,
) -> list[dict[str, Any]]:
    """Replies per channel per day (in `zone`) over the last `days` days, today included:
    `sent`, `failed` and `unsendable` — what an SMS or WhatsApp bill counts.

    Days are bucketed in SQL by comparing with their UTC boundaries, so both databases agree
    without knowing time zones. `region` keeps replies about that region's complaints."""
    today = utcnow().astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    starts = [
        (first + timedelta(days=i), datetime.combine(first + timedelta(days=i), time(0), zone))
        for i in range(days)
    ]
    day = case(
        *((Event.ts >= at, literal_column(f"'{d.isoformat()}'")) for d, at in reversed(starts))
    ).label("day")
    query = (
        select(day, Event.channel, Event.outcome, func.count())
        .where(
            Event.kind == "reply",
            Event.outcome.in_(REPLY_RESULTS),
            Event.ts >= starts[0][1].astimezone(UTC),
        )
        .group_by(day, Event.channel, Event.outcome)
    )
    if region:
        query = query.join(Complaint, Complaint.id == Event.complaint_id).where(
            Complaint.region_code == region
        )
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for d, channel, outcome, n in (await session.execute(query)).all():
        row = counts.setdefault((d, channel or "-"), dict.fromkeys(REPLY_RESULTS.values(), 0))
        row[REPLY_RESULTS[outcome]] += n
    return [{"day": d, "channel": channel, **row} for (d, channel), row in sorted(counts.items())]
