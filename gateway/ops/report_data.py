"""Reports for pimpinan: one period (a week, a month, any span up to a year) for one region
or the whole province, built once and written as CSV, Excel or a printable page.

The figures are the province table's (`aggregates.measures`) over the same complaints,
grouped by region, channel and category, followed by the list of those complaints. The
reporter is masked unless the reader may see it (`masking.reporter_text`); the subject of a
confidential (rahasia) complaint is left out, as reports are printed and passed on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.labels import CATEGORY_LABELS, CHANNEL_LABELS, STATUS_LABELS
from gateway.ops.aggregates import Period, measures, period_clause, regions_table
from gateway.ops.masking import reporter_text
from gateway.settings import Settings
from gateway.sla import VERIFY_STAGE, WorkingDays
from gateway.store.models import Complaint, Reporter, utcnow

MAX_REPORT_DAYS = 366
MEASURES = {
    "received": "Diterima",
    "forwarded": "Diteruskan",
    "pending_review": "Menunggu tinjauan",
    "overdue": "Terlambat",
    "resolved": "Selesai (LAPOR!)",
    "on_time_pct": "% tepat waktu",
    "median_hours_to_forward": "Median jam sampai diteruskan",
}
LINE_COLUMNS = (
    "No. tiket",
    "Wilayah",
    "Diterima",
    "Kanal",
    "Kategori",
    "Status",
    "Pokok aduan",
    "Batas verifikasi",
    "Diteruskan",
    "SLA",
    "Pelapor",
)
CONFIDENTIAL_SUBJECT = "(rahasia — lihat di konsol)"


def last_week(today: date) -> tuple[date, date]:
    """Monday to Sunday of the week before `today`'s."""
    monday = today - timedelta(days=today.weekday() + 7)
    return monday, monday + timedelta(days=6)


def last_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


@dataclass(frozen=True, slots=True)
class ReportLine:
    ticket: str
    region: str
    received: datetime
    channel: str
    category: str
    status: str
    subject: str
    verify_due: datetime
    forwarded: datetime | None
    sla: str
    reporter: str

    def cells(self) -> tuple[Any, ...]:
        """In the order of LINE_COLUMNS."""
        return (
            self.ticket,
            self.region,
            self.received,
            self.channel,
            self.category,
            self.status,
            self.subject,
            self.verify_due,
            self.forwarded,
            self.sla,
            self.reporter,
        )


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    region_code: str | None  # None: every region of the installation
    scope_name: str
    generated_at: datetime  # in the gateway's zone
    total: dict[str, Any]
    regions: list[dict[str, Any]]
    channels: list[dict[str, Any]]  # {"label": …} | measures
    categories: list[dict[str, Any]]
    lines: list[ReportLine]

    @property
    def title(self) -> str:
        return f"Laporan pengaduan {self.scope_name}"

    @property
    def period_text(self) -> str:
        return f"{self.period.start:%d-%m-%Y} s.d. {self.period.end:%d-%m-%Y}"

    def filename(self, ext: str) -> str:
        scope = self.region_code or "provinsi"
        return f"laporan-{scope.lower()}-{self.period.start}-{self.period.end}.{ext}"


def sla_text(cal: WorkingDays, c: Complaint, now: datetime) -> str:
    if cal.is_overdue(c, now):
        return "Terlambat verifikasi" if c.status in VERIFY_STAGE else "Terlambat tindak lanjut"
    on_time = cal.on_time(c)
    if on_time is None:
        return "Dalam batas" if c.status in VERIFY_STAGE else "-"
    return "Diteruskan tepat waktu" if on_time else "Diteruskan terlambat"


def _grouped(
    rows: list[Complaint], key: str, labels: dict[str, str], cal: WorkingDays, now: datetime
) -> list[dict[str, Any]]:
    groups: dict[str, list[Complaint]] = defaultdict(list)
    for c in rows:
        groups[getattr(c, key)].append(c)
    order = list(labels)
    return [
        {"key": k, "label": labels.get(k, k)} | measures(groups[k], cal, now)
        for k in sorted(groups, key=lambda k: (order.index(k) if k in order else len(order), k))
    ]


async def build_report(
    session: AsyncSession,
    settings: Settings,
    cal: WorkingDays,
    period: Period,
    region: str | None,
    *,
    full_reporter: bool,
) -> Report:
    """`region` None: every region. `full_reporter`: the reader may see reporters in full
    (a region's own operator); otherwise they are masked."""
    query = (
        select(Complaint, Reporter)
        .outerjoin(Reporter, Complaint.reporter_id == Reporter.id)
        .where(*period_clause(period, region))
        .order_by(Complaint.received_at, Complaint.tracking_ref)
    )
    pairs = (await session.execute(query)).all()
    rows = [c for c, _ in pairs]
    now = utcnow()
    zone = period.zone
    lines = [
        ReportLine(
            ticket=c.tracking_ref,
            region=c.region_code,
            received=c.received_at.astimezone(zone),
            channel=CHANNEL_LABELS.get(c.channel, c.channel),
            category=CATEGORY_LABELS.get(c.category, c.category),
            status=STATUS_LABELS.get(c.status, c.status),
            subject=CONFIDENTIAL_SUBJECT if c.confidential else c.subject,
            verify_due=cal.verify_due(c).astimezone(zone),
            forwarded=c.forwarded_at.astimezone(zone) if c.forwarded_at else None,
            sla=sla_text(cal, c, now),
            reporter=reporter_text(r, anonymous=c.anonymous, full=full_reporter),
        )
        for c, r in pairs
    ]
    scope = settings.regions[region].name if region else "seluruh wilayah"
    return Report(
        period=period,
        region_code=region,
        scope_name=scope,
        generated_at=now.astimezone(zone),
        total=measures(rows, cal, now),
        regions=regions_table(settings, rows, cal, now, region),
        channels=_grouped(rows, "channel", CHANNEL_LABELS, cal, now),
        categories=_grouped(rows, "category", CATEGORY_LABELS, cal, now),
        lines=lines,
    )
