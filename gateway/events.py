"""The ingestion log: append events in the caller's transaction; read them back in order."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.db import Store, StoreUnavailable
from gateway.store.models import Event

log = logging.getLogger(__name__)


def record(
    session: AsyncSession,
    *,
    kind: str,
    outcome: str,
    channel: str | None = None,
    reason: str | None = None,
    external_id: str | None = None,
    complaint_id: str | None = None,
    region_code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> Event:
    """Add an event to the open transaction. Never put personal data in `detail`."""
    event = Event(
        kind=kind,
        outcome=outcome,
        channel=channel,
        reason=reason,
        external_id=external_id,
        complaint_id=complaint_id,
        region_code=region_code,
        detail=detail or {},
    )
    session.add(event)
    return event


async def fetch_after(
    session: AsyncSession,
    after_id: int,
    *,
    channel: str | None = None,
    region: str | None = None,
    kind: str | None = None,
    limit: int | None = 500,
) -> Sequence[Event]:
    query = select(Event).where(Event.id > after_id).order_by(Event.id)
    if channel:
        query = query.where(Event.channel == channel)
    if region:
        query = query.where(Event.region_code == region)
    if kind:
        query = query.where(Event.kind == kind)
    if limit:
        query = query.limit(limit)
    return (await session.scalars(query)).all()


async def recent(
    session: AsyncSession, count: int, *, region: str | None = None
) -> Sequence[Event]:
    """The newest `count` events, newest first."""
    query = select(Event).order_by(Event.id.desc()).limit(count)
    if region:
        query = query.where(Event.region_code == region)
    return (await session.scalars(query)).all()


def event_json(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "ts": _iso(e.ts),
        "kind": e.kind,
        "channel": e.channel,
        "outcome": e.outcome,
        "reason": e.reason,
        "external_id": e.external_id,
        "complaint_id": e.complaint_id,
        "region": e.region_code,
        # The inbound message's number: what `complaints assign NUMBER` takes.
        "inbound_id": (e.detail or {}).get("inbound_id"),
        "detail": e.detail,
    }


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


async def record_channel_event(
    store: Store, channel: str, outcome: str, reason: str, detail: dict[str, Any] | None = None
) -> None:
    """A channel's own fault or recovery, in a transaction of its own. A store that is down
    is itself the fault being reported: then the log line is all that is left."""
    try:
        async with store.transaction() as session:
            record(
                session,
                kind="channel",
                channel=channel,
                outcome=outcome,
                reason=reason,
                detail=detail,
            )
    except StoreUnavailable:
        log.warning("channel event not recorded: store unavailable", extra={"event": outcome})
