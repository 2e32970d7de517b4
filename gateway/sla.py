"""Service levels in working days: verify within `[sla] verify_working_days` of receipt,
follow up within `[sla] followup_working_days` of the forward to LAPOR.

Days are counted in `[gateway] timezone`, skipping Saturdays, Sundays, Indonesia's national
holidays (the `holidays` package) and `[sla] extra_holidays` (cuti bersama, regional days).
A due moment keeps the time of day of its start: received Monday 14:00 with 3 working days
is due Thursday 14:00. A start on a day off counts from 00:00 of the next working day.

Stages: a complaint waiting for review, queued or failed is in the *verify* stage (the
region has not got it to LAPOR yet); a forwarded one is in the *follow-up* stage until
LAPOR's status closes it. Closed and rejected complaints are never overdue.

`cutoff` inverts `due`, so "overdue" is a plain `received_at < cutoff` (or
`forwarded_at < cutoff`) in SQL and lists stay indexable at any size.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import holidays
from pydantic import Field, field_validator
from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from gateway.config_base import Section
from gateway.store.models import Complaint, utcnow

VERIFY_STAGE = ("pending_review", "queued", "failed")
FOLLOWUP_STAGE = ("forwarded",)


class Timed(Protocol):
    """What the SLA reads of a complaint (an ORM row or a selected tuple of these)."""

    status: str
    received_at: datetime
    forwarded_at: datetime | None


class SlaConfig(Section):
    """`[sla]`: how many working days operators have, and the days that do not count."""

    verify_working_days: int = Field(default=3, ge=1, le=60)
    followup_working_days: int = Field(default=5, ge=1, le=120)
    extra_holidays: tuple[date, ...] = ()

    @field_validator("extra_holidays", mode="before")
    @classmethod
    def _iso_dates(cls, values: Any) -> Any:
        if not isinstance(values, list | tuple):
            raise ValueError('expected a list of dates, e.g. ["2026-12-24"]')
        out = []
        for v in values:
            if isinstance(v, date):
                out.append(v)
                continue
            try:
                out.append(date.fromisoformat(str(v)))
            except ValueError:
                raise ValueError(f"not a date (YYYY-MM-DD): {v!r}") from None
        return tuple(out)


class WorkingDays:
    """The calendar of one gateway: its zone, national holidays and the extra days off."""

    def __init__(self, cfg: SlaConfig, timezone: str):
        self.cfg = cfg
        self.zone = ZoneInfo(timezone)
        self._national = holidays.country_holidays("ID")
        self._extra = frozenset(cfg.extra_holidays)
        # Bound per instance: a reload with other extra days gets a fresh cache.
        self._working = lru_cache(maxsize=4096)(self._is_working)

    def _is_working(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._national and day not in self._extra

    def is_working(self, day: date) -> bool:
        return self._working(day)

    def holiday_name(self, day: date) -> str | None:
        if day in self._extra:
            return "Libur tambahan"
        return self._national.get(day)

    def _next_working(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_working(day):
            day += timedelta(days=1)
        return day

    def _prev_working(self, day: date) -> date:
        day -= timedelta(days=1)
        while not self.is_working(day):
            day -= timedelta(days=1)
        return day

    def due(self, start: datetime, working_days: int) -> datetime:
        """`start` plus `working_days` working days, in the configured zone."""
        local = start.astimezone(self.zone)
        if not self.is_working(local.date()):
            local = datetime.combine(self._next_working(local.date()), time(0), self.zone)
        day = local.date()
        for _ in range(working_days):
            day = self._next_working(day)
        return datetime.combine(day, local.time(), self.zone)

    def cutoff(self, now: datetime, working_days: int) -> datetime:
        """The instant such that `due(t, n) < now` exactly when `t < cutoff(now, n)`."""
        local = now.astimezone(self.zone)
        if not self.is_working(local.date()):
            # Every due moment lies on a working day, so "before now" means "before the
            # next working day begins".
            local = datetime.combine(self._next_working(local.date()), time(0), self.zone)
        day = local.date()
        for _ in range(working_days):
            day = self._prev_working(day)
        return datetime.combine(day, local.time(), self.zone)

    # -- per complaint ----------------------------------------------------------------------

    def verify_due(self, c: Timed) -> datetime:
        return self.due(c.received_at, self.cfg.verify_working_days)

    def followup_due(self, c: Timed) -> datetime | None:
        forwarded_at = c.forwarded_at
        if forwarded_at is None:
            return None
        return self.due(forwarded_at, self.cfg.followup_working_days)

    def is_overdue(self, c: Timed, now: datetime | None = None) -> bool:
        now = now or utcnow()
        if c.status in VERIFY_STAGE:
            return self.verify_due(c) < now
        if c.status in FOLLOWUP_STAGE:
            due = self.followup_due(c)
            return due is not None and due < now
        return False

    def sla_json(self, c: Timed, now: datetime | None = None) -> dict[str, Any]:
        """`complaints list --json`'s `sla`: ISO 8601 in the configured zone."""
        followup = self.followup_due(c)
        return {
            "verify_due": self.verify_due(c).isoformat(),
            "followup_due": followup.isoformat() if followup else None,
            "overdue": self.is_overdue(c, now),
        }

    def overdue_clause(self, now: datetime | None = None) -> ColumnElement[bool]:
        """The same rule as `is_overdue`, as a WHERE clause."""
        now = now or utcnow()
        verify_cut = self.cutoff(now, self.cfg.verify_working_days).astimezone(UTC)
        followup_cut = self.cutoff(now, self.cfg.followup_working_days).astimezone(UTC)
        return or_(
            and_(Complaint.status.in_(VERIFY_STAGE), Complaint.received_at < verify_cut),
            and_(Complaint.status.in_(FOLLOWUP_STAGE), Complaint.forwarded_at < followup_cut),
        )

    def on_time(self, c: Timed) -> bool | None:
        """Was it forwarded by its verify due moment? None while it is not forwarded."""
        if c.forwarded_at is None:
            return None
        return c.forwarded_at <= self.verify_due(c)


def working_days(settings: Any) -> WorkingDays:
    return WorkingDays(settings.file.sla, settings.gateway.timezone)
