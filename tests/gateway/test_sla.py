"""Working-day SLA: weekends, Indonesian holidays, extra days off, and the SQL cutoff."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.sla import SlaConfig, WorkingDays

WIB = ZoneInfo("Asia/Jakarta")
CAL = WorkingDays(SlaConfig(extra_holidays=[date(2026, 12, 24)]), "Asia/Jakarta")


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # Thursday + 3: Fri, Mon, Tue — same time of day.
        (wib(2026, 12, 3, 10, 0), 3, wib(2026, 12, 8, 10, 0)),
        # Cuti bersama (extra) on the 24th and Christmas on the 25th are skipped.
        (wib(2026, 12, 23, 10, 0), 3, wib(2026, 12, 30, 10, 0)),
        # Received on Saturday: counted from Monday 00:00.
        (wib(2026, 12, 5, 9, 30), 3, wib(2026, 12, 10, 0, 0)),
        # Independence Day (Monday 17 August 2026) is not a working day.
        (wib(2026, 8, 14, 8, 0), 1, wib(2026, 8, 18, 8, 0)),
        # A UTC instant late in the evening is already the next day in Jakarta.
        (datetime(2026, 12, 4, 18, 0, tzinfo=UTC), 1, wib(2026, 12, 8, 0, 0)),
    ],
)
def test_due_skips_weekends_and_holidays(start: datetime, days: int, due: datetime) -> None:
    got = CAL.due(start, days)
    assert got == due
    assert got.utcoffset() == timedelta(hours=7)


def test_holiday_names_and_days() -> None:
    assert not CAL.is_working(date(2026, 8, 17))
    assert CAL.holiday_name(date(2026, 12, 24)) == "Libur tambahan"
    assert CAL.holiday_name(date(2026, 12, 25))
    assert CAL.is_working(date(2026, 12, 3))
    assert not CAL.is_working(date(2026, 12, 5))


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(t=instants, now=instants, n=st.integers(min_value=1, max_value=10))
def test_cutoff_is_the_inverse_of_due(t: datetime, now: datetime, n: int) -> None:
    """What SQL filters (received_at < cutoff) is exactly what a row computes (due < now)."""
    assert (CAL.due(t, n) < now) == (t < CAL.cutoff(now, n))


def test_extra_holidays_are_checked() -> None:
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        SlaConfig(extra_holidays=["24-12-2026"])
    with pytest.raises(ValidationError):
        SlaConfig(verify_working_days=0)
    assert SlaConfig(extra_holidays=["2026-12-24"]).extra_holidays == (date(2026, 12, 24),)
