"""Retention of reporter personal data (UU No. 27/2022, Pelindungan Data Pribadi).

`lapor-gateway purge --older-than DAYS` removes who complained from everything received
before the cutoff whose journey is over, and keeps what was complained about:

- complaints: the reporter link is cut; reporter rows (name, phone, e-mail, X account)
  that no complaint refers to any more are deleted. Text, category, region, status and
  the LAPOR tracking id stay: they are the agency's record of a public service.
- inbound messages: sender, sender name and channel metadata (headers, tweet JSON) are
  replaced; a message that never became a complaint (unrouted, rejected, duplicate)
  loses its text too.
- replies already sent or given up: the recipient address goes.
- SMS parts (multipart fragments) older than the cutoff are deleted.

A complaint still in review or waiting to be forwarded, or with work in the outbox, is
left alone until it is done. Each batch commits together with its purge_log row (tracking
numbers and counts, no personal data), so the log never claims more or less than was done,
and intake keeps running between batches.
"""

from __future__ import annotations

import getpass
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from gateway.store.db import Store
from gateway.store.models import (
    Complaint,
    InboundMessage,
    OutboxItem,
    PurgeLog,
    Reporter,
    SmsPart,
    utcnow,
)

PURGED = "purged"  # what replaces a sender; also how a purged inbound row is recognised
ACTIVE_STATUSES = ("pending_review", "queued")
BUSY_OUTBOX = ("pending", "sending")
BATCH = 200
# Bulk statements on rows no session has loaded: nothing to synchronise.
BULK = {"synchronize_session": False}


@dataclass
class PurgeResult:
    run_id: str
    cutoff: datetime
    counts: dict[str, int] = field(
        default_factory=lambda: {
            "complaints": 0,
            "reporters_deleted": 0,
            "inbound_messages": 0,
            "replies": 0,
            "sms_parts_deleted": 0,
        }
    )
    tracking_refs: list[str] = field(default_factory=list)

    def add(self, counts: dict[str, int]) -> None:
        for k, v in counts.items():
            self.counts[k] += v


def actor() -> str:
    """Who ran it, for the log: the sudo caller if any, else the login."""
    try:
        return (os.environ.get("SUDO_USER") or getpass.getuser())[:64]
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _busy(complaint_id: Any) -> Any:
    return exists().where(
        OutboxItem.complaint_id == complaint_id, OutboxItem.status.in_(BUSY_OUTBOX)
    )


def _eligible_complaints(cutoff: datetime) -> Any:
    not_purged = or_(
        Complaint.reporter_id.is_not(None),
        exists().where(InboundMessage.id == Complaint.inbound_id, InboundMessage.sender != PURGED),
    )
    return (
        select(Complaint.id, Complaint.tracking_ref, Complaint.reporter_id, Complaint.inbound_id)
        .where(
            Complaint.received_at < cutoff,
            Complaint.status.not_in(ACTIVE_STATUSES),
            ~_busy(Complaint.id),
            not_purged,
        )
        .order_by(Complaint.received_at, Complaint.id)
    )


def _eligible_loose_inbound(cutoff: datetime) -> Any:
    """Inbound rows that are not a complaint's own record: unrouted, rejected, duplicates."""
    done_complaint = select(Complaint.id).where(
        Complaint.received_at < cutoff, Complaint.status.not_in(ACTIVE_STATUSES)
    )
    return (
        select(InboundMessage.id)
        .where(
            InboundMessage.received_at < cutoff,
            InboundMessage.sender != PURGED,
            ~exists().where(Complaint.inbound_id == InboundMessage.id),  # sweep 1's business
            or_(
                InboundMessage.complaint_id.is_(None),
                InboundMessage.complaint_id.in_(done_complaint),
            ),
            ~exists().where(
                OutboxItem.inbound_id == InboundMessage.id, OutboxItem.status.in_(BUSY_OUTBOX)
            ),
        )
        .order_by(InboundMessage.id)
    )


async def _purge_complaints(session: AsyncSession, rows: list[Any]) -> dict[str, int]:
    ids = [r.id for r in rows]
    reporter_ids = {r.reporter_id for r in rows if r.reporter_id is not None}
    inbound_ids = [r.inbound_id for r in rows if r.inbound_id is not None]
    await session.execute(
        update(Complaint).where(Complaint.id.in_(ids)).values(reporter_id=None),
        execution_options=BULK,
    )
    inbound = await session.execute(
        update(InboundMessage)
        .where(or_(InboundMessage.id.in_(inbound_ids), InboundMessage.complaint_id.in_(ids)))
        .where(InboundMessage.sender != PURGED)
        .values(sender=PURGED, sender_name=None, meta={}),
        execution_options=BULK,
    )
    replies = await _forget_recipients(session, OutboxItem.complaint_id.in_(ids))
    deleted = 0
    if reporter_ids:
        still_used = select(Complaint.reporter_id).where(Complaint.reporter_id.is_not(None))
        gone = await session.execute(
            delete(Reporter).where(Reporter.id.in_(reporter_ids), Reporter.id.not_in(still_used)),
            execution_options=BULK,
        )
        deleted = gone.rowcount or 0
    return {
        "complaints": len(ids),
        "reporters_deleted": deleted,
        "inbound_messages": inbound.rowcount or 0,
        "replies": replies,
    }


async def _purge_loose_inbound(session: AsyncSession, ids: list[int]) -> dict[str, int]:
    inbound = await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id.in_(ids))
        .values(sender=PURGED, sender_name=None, meta={}, text=""),
        execution_options=BULK,
    )
    replies = await _forget_recipients(session, OutboxItem.inbound_id.in_(ids))
    return {"inbound_messages": inbound.rowcount or 0, "replies": replies}


async def _forget_recipients(session: AsyncSession, owned_by: ColumnElement[bool]) -> int:
    """Sent replies keep what was said, not to whom."""
    replies = await session.execute(
        update(OutboxItem)
        .where(OutboxItem.kind == "reply", owned_by, OutboxItem.recipient.is_not(None))
        .values(recipient=None),
        execution_options=BULK,
    )
    return replies.rowcount or 0


def _log(
    result: PurgeResult, days: int, who: str, counts: dict[str, int], refs: list[str]
) -> PurgeLog:
    return PurgeLog(
        run_id=result.run_id,
        cutoff=result.cutoff,
        older_than_days=days,
        actor=who,
        counts=counts,
        tracking_refs=refs,
    )


async def purge(store: Store, days: int, *, now: datetime | None = None) -> PurgeResult:
    if days < 1:
        raise ValueError("--older-than must be at least 1 day")
    result = PurgeResult(run_id=str(uuid.uuid4()), cutoff=(now or utcnow()) - timedelta(days=days))
    who = actor()
    while True:
        async with store.transaction() as session:
            rows = (await session.execute(_eligible_complaints(result.cutoff).limit(BATCH))).all()
            if not rows:
                break
            counts = await _purge_complaints(session, rows)
            refs = [r.tracking_ref for r in rows]
            session.add(_log(result, days, who, counts, refs))
        result.add(counts)
        result.tracking_refs += refs
    while True:
        async with store.transaction() as session:
            query = _eligible_loose_inbound(result.cutoff).limit(BATCH)
            ids = list((await session.scalars(query)).all())
            if not ids:
                break
            counts = await _purge_loose_inbound(session, ids)
            session.add(_log(result, days, who, counts, []))
        result.add(counts)
    async with store.transaction() as session:
        parts = await session.execute(
            delete(SmsPart).where(SmsPart.first_seen_at < result.cutoff), execution_options=BULK
        )
        counts = {"sms_parts_deleted": parts.rowcount or 0}
        if counts["sms_parts_deleted"] or not any(result.counts.values()):
            # A run that found nothing is logged too: the log shows retention is applied.
            session.add(_log(result, days, who, counts, []))
    result.add(counts)
    return result


async def preview(store: Store, days: int, *, now: datetime | None = None) -> dict[str, int]:
    """What a purge would touch now (a dry run), without writing anything."""
    if days < 1:
        raise ValueError("--older-than must be at least 1 day")
    cutoff = (now or utcnow()) - timedelta(days=days)
    async with store.reader() as session:
        complaints = await session.scalar(
            select(func.count()).select_from(_eligible_complaints(cutoff).subquery())
        )
        loose = await session.scalar(
            select(func.count()).select_from(_eligible_loose_inbound(cutoff).subquery())
        )
        parts = await session.scalar(
            select(func.count()).select_from(SmsPart).where(SmsPart.first_seen_at < cutoff)
        )
    return {
        "complaints": complaints or 0,
        "inbound_messages_without_complaint": loose or 0,
        "sms_parts": parts or 0,
    }


async def history(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """Past runs, newest first: one entry per run with its batches added up."""
    async with store.reader() as session:
        rows = (await session.scalars(select(PurgeLog).order_by(PurgeLog.id.desc()))).all()
    runs: dict[str, dict[str, Any]] = {}
    for row in rows:
        run = runs.get(row.run_id)
        if run is None:
            if len(runs) == limit:
                break
            run = runs[row.run_id] = {
                "run_id": row.run_id,
                "ran_at": row.ran_at.isoformat(),
                "cutoff": row.cutoff.isoformat(),
                "older_than_days": row.older_than_days,
                "actor": row.actor,
                "counts": {},
                "tracking_refs": [],
            }
        for k, v in row.counts.items():
            run["counts"][k] = run["counts"].get(k, 0) + v
        run["tracking_refs"] = list(row.tracking_refs) + run["tracking_refs"]
        run["ran_at"] = min(run["ran_at"], row.ran_at.isoformat())
    return list(runs.values())
