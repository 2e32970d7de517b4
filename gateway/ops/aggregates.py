"""Numbers for the statistics page, the province table, `stats --json` and reports.

Everything is over a period of received dates (default: the last 30 days), so the work is
bounded by the period, not by how many complaints the store holds. Working-day SLA rules
need the holiday calendar, so per-complaint figures (on time, overdue, hours to forward) are
computed here from a narrow select (five columns), not in SQL.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from gateway.settings import Settings
from gateway.sla import WorkingDays
from gateway.store.models import Complaint, InboundMessage, utcnow

DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class Period:
    """Received dates `start`..`end` inclusive, as days in the gateway's zone."""

    start: date
    end: date
    zone: ZoneInfo

    @classmethod
    def last_days(cls, days: int, zone: ZoneInfo, today: date | None = None) -> Period:
        today = today or utcnow().astimezone(zone).date()
        return cls(today - timedelta(days=days - 1), today, zone)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(0), self.zone).astimezone(UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(0), self.zone).astimezone(UTC)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def as_json(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def period_clause(period: Period, region: str | None) -> list[ColumnElement[bool]]:
    """Complaints received in `period` (of `region`, when given)."""
    where = [Complaint.received_at >= period.since, Complaint.received_at < period.until]
    if region:
        where.append(Complaint.region_code == region)
    return where


async def _complaint_rows(session: AsyncSession, period: Period, region: str | None) -> list[Any]:
    query = select(
        Complaint.region_code,
        Complaint.channel,
        Complaint.status,
        Complaint.lapor_status,
        Complaint.received_at,
        Complaint.forwarded_at,
    ).where(*period_clause(period, region))
    return list((await session.execute(query)).all())


def measures(rows: list[Any], cal: WorkingDays, now: datetime) -> dict[str, Any]:
    """The province table's figures over any set of complaints (a region, a channel, a
    category, a whole report): rows need status, lapor_status, received_at, forwarded_at."""
    forwarded = [r for r in rows if r.forwarded_at is not None]
    on_time = [r for r in forwarded if cal.on_time(r)]
    hours = [(r.forwarded_at - r.received_at).total_seconds() / 3600 for r in forwarded]
    return {
        "received": len(rows),
        "forwarded": len(forwarded),
        "pending_review": sum(r.status == "pending_review" for r in rows),
        "overdue": sum(cal.is_overdue(r, now) for r in rows),
        # Closed by LAPOR's status (status sync), not by an operator.
        "resolved": sum(r.status == "closed" and r.lapor_status is not None for r in rows),
        "on_time_pct": round(100 * len(on_time) / len(forwarded), 1) if forwarded else None,
        "median_hours_to_forward": _median(hours),
    }


def regions_table(
    settings: Settings, rows: list[Any], cal: WorkingDays, now: datetime, region: str | None
) -> list[dict[str, Any]]:
    """One row per configured region (or the one given), every region even when empty."""
    by_region: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_region[row.region_code].append(row)
    return [
        {"region": r.code, "name": r.name} | measures(by_region.get(r.code, []), cal, now)
        for r in sorted(settings.regions.values(), key=lambda r: r.name)
        if region is None or r.code == region
    ]


async def region_summary(
    session: AsyncSession,
    settings: Settings,
    cal: WorkingDays,
    period: Period,
    region: str | None = None,
) -> list[dict[str, Any]]:
    rows = await _complaint_rows(session, period, region)
    return regions_table(settings, rows, cal, utcnow(), region)


async def charts_data(
    session: AsyncSession, cal: WorkingDays, period: Period, region: str | None
) -> dict[str, Any]:
    """The series the statistics page draws."""
    rows = await _complaint_rows(session, period, region)
    zone = period.zone
    per_day: dict[str, Counter[date]] = defaultdict(Counter)
    for r in rows:
        per_day[r.channel][r.received_at.astimezone(zone).date()] += 1
    status_counts = Counter(r.status for r in rows)

    inbound = select(InboundMessage.channel, InboundMessage.outcome, func.count()).where(
        InboundMessage.ingested_at >= period.since, InboundMessage.ingested_at < period.until
    )
    if region:
        inbound = inbound.where(InboundMessage.region_code == region)
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    for channel, outcome, n in await session.execute(
        inbound.group_by(InboundMessage.channel, InboundMessage.outcome)
    ):
        outcomes[channel][outcome] += n

    # Per ISO week of receipt: share of forwarded complaints forwarded in time, and the
    # median hours from receipt to forward.
    weeks: dict[date, list[Any]] = defaultdict(list)
    for r in rows:
        if r.forwarded_at is not None:
            day = r.received_at.astimezone(zone).date()
            weeks[day - timedelta(days=day.weekday())].append(r)
    weekly = [
        {
            "week": monday,
            "forwarded": len(group),
            "on_time_pct": round(100 * sum(bool(cal.on_time(r)) for r in group) / len(group), 1),
            "median_hours": _median(
                [(r.forwarded_at - r.received_at).total_seconds() / 3600 for r in group]
            ),
        }
        for monday, group in sorted(weeks.items())
    ]
    return {
        "days": period.days(),
        "per_day": {ch: dict(counter) for ch, counter in sorted(per_day.items())},
        "status": dict(status_counts),
        "outcomes": {ch: dict(c) for ch, c in sorted(outcomes.items())},
        "weekly": weekly,
    }
