"""The complaints list: free text, filters, sort, keyset pages — all in the query string,
so a view can be bookmarked: `?q=&status=&channel=&category=&from=&to=&overdue=1&sort=&page=`.

`page` is a keyset cursor (the sort key of the last row shown), not an offset: page 10,000
costs what page 1 costs, on the (received_at, id) indexes of migration 0005.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from gateway.labels import CATEGORY_LABELS, CHANNEL_LABELS, STATUS_LABELS
from gateway.ops.auth import OperatorSession
from gateway.ops.text_search import text_condition
from gateway.ops.views import Console
from gateway.store.models import Complaint, Reporter, utcnow

PAGE_SIZE = 50
OVERDUE_CAP = 10_000
MAX_QUERY_CHARS = 200
SORTS = {"terbaru": "Terbaru dulu", "terlama": "Terlama dulu"}


class BadFilter(ValueError):
    """A query-string value the list cannot use; the message is for the operator."""


@dataclass
class Filters:
    q: str = ""
    status: str = ""
    channel: str = ""
    category: str = ""
    region: str = ""
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool = False
    sort: str = "terbaru"
    page: tuple[datetime, str] | None = None
    errors: list[str] = field(default_factory=list)

    def params(self, **override: Any) -> dict[str, str]:
        """The query string of this view (empty values left out), for links."""
        values = {
            "q": self.q,
            "status": self.status,
            "channel": self.channel,
            "category": self.category,
            "region": self.region,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "overdue": "1" if self.overdue else "",
            "sort": "" if self.sort == "terbaru" else self.sort,
        } | override
        return {k: v for k, v in values.items() if v}


def _date(value: str, label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadFilter(f"Tanggal {label} “{value}” tidak sah; gunakan TTTT-BB-HH.") from None


def encode_cursor(received_at: datetime, complaint_id: str) -> str:
    raw = json.dumps([received_at.isoformat(), complaint_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        ts, complaint_id = json.loads(raw)
        when = datetime.fromisoformat(ts)
        if when.tzinfo is None or not isinstance(complaint_id, str):
            raise ValueError
        return when, complaint_id
    except (ValueError, TypeError, binascii.Error):
        raise BadFilter("Tautan halaman tidak sah; mulai lagi dari halaman pertama.") from None


def parse_filters(query: Any, op: OperatorSession, regions: set[str]) -> Filters:
    """Every value checked; each bad one becomes an error line and is dropped."""
    f = Filters()
    f.q = " ".join(str(query.get("q", "")).split())[:MAX_QUERY_CHARS]
    checks: list[tuple[str, dict[str, str] | set[str], str]] = [
        ("status", STATUS_LABELS, "Status"),
        ("channel", CHANNEL_LABELS, "Kanal"),
        ("category", CATEGORY_LABELS, "Kategori"),
        ("sort", SORTS, "Urutan"),
    ]
    for key, allowed, label in checks:
        value = str(query.get(key, "") or "")
        if value and value not in allowed:
            f.errors.append(f"{label} “{value}” tidak dikenal; saringan ini diabaikan.")
        elif value:
            setattr(f, key, value)
    region = str(query.get("region", "") or "").upper()
    if region and op.is_admin:
        if region in regions:
            f.region = region
        else:
            f.errors.append(f"Wilayah “{region}” tidak dikenal; saringan ini diabaikan.")
    for key, label, attr in (("from", "awal", "date_from"), ("to", "akhir", "date_to")):
        try:
            setattr(f, attr, _date(str(query.get(key, "") or ""), label))
        except BadFilter as e:
            f.errors.append(str(e))
    if f.date_from and f.date_to and f.date_from > f.date_to:
        f.errors.append("Tanggal awal sesudah tanggal akhir; rentang tanggal diabaikan.")
        f.date_from = f.date_to = None
    f.overdue = query.get("overdue") in ("1", "on", "true")
    token = str(query.get("page", "") or "")
    if token:
        try:
            f.page = decode_cursor(token)
        except BadFilter as e:
            f.errors.append(str(e))
    return f


def conditions(
    f: Filters,
    scope: str | None,
    zone: ZoneInfo,
    overdue: ColumnElement[bool],
    text_match: ColumnElement[bool] | None,
) -> list[ColumnElement[bool]]:
    """`text_match`: the condition for `f.q` on text and subject (text_search)."""
    where: list[ColumnElement[bool]] = []
    region = scope or f.region
    if region:
        where.append(Complaint.region_code == region)
    if f.q and text_match is not None:
        where.append(
            or_(
                Complaint.tracking_ref == f.q.upper(),
                Complaint.lapor_tracking_id == f.q,
                text_match,
            )
        )
    if f.status:
        where.append(Complaint.status == f.status)
    if f.channel:
        where.append(Complaint.channel == f.channel)
    if f.category:
        where.append(Complaint.category == f.category)
    if f.date_from:
        start = datetime.combine(f.date_from, time(0), zone).astimezone(UTC)
        where.append(Complaint.received_at >= start)
    if f.date_to:
        end = datetime.combine(f.date_to + timedelta(days=1), time(0), zone).astimezone(UTC)
        where.append(Complaint.received_at < end)
    if f.overdue:
        where.append(overdue)
    return where


def keyset_query(f: Filters, where: list[ColumnElement[bool]]) -> Select[Any]:
    newest_first = f.sort == "terbaru"
    query = select(Complaint, Reporter).outerjoin(Reporter, Complaint.reporter_id == Reporter.id)
    if f.page is not None:
        ts, cid = f.page
        # The bound on received_at alone lets both databases start the index range at the
        # cursor; the OR then settles ties (PostgreSQL would otherwise scan from the top).
        if newest_first:
            after = and_(
                Complaint.received_at <= ts,
                or_(Complaint.received_at < ts, Complaint.id < cid),
            )
        else:
            after = and_(
                Complaint.received_at >= ts,
                or_(Complaint.received_at > ts, Complaint.id > cid),
            )
        where = [*where, after]
    if where:
        query = query.where(and_(*where))
    if newest_first:
        query = query.order_by(Complaint.received_at.desc(), Complaint.id.desc())
    else:
        query = query.order_by(Complaint.received_at, Complaint.id)
    return query.limit(PAGE_SIZE + 1)


async def complaints_page(
    console: Console, request: web.Request, op: OperatorSession
) -> web.Response:
    f = parse_filters(request.query, op, set(console.rt.settings.regions))
    now = utcnow()
    overdue = console.calendar.overdue_clause(now)
    scope_where = [Complaint.region_code == op.scope] if op.scope else []
    async with console.rt.store.reader() as session:
        sqlite = not console.rt.store.is_postgres
        text_match = await text_condition(session, f.q, sqlite=sqlite) if f.q else None
        where = conditions(f, op.scope, console.zone, overdue, text_match)
        rows = (await session.execute(keyset_query(f, where))).all()
        # Counted up to a cap: the cost stays bounded however many are late.
        late = select(Complaint.id).where(overdue, *scope_where).limit(OVERDUE_CAP + 1)
        overdue_total = await session.scalar(select(func.count()).select_from(late.subquery()))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_url = None
    if more:
        last = rows[-1][0]
        next_url = "?" + urlencode(f.params(page=encode_cursor(last.received_at, last.id)))
    first_url = "?" + urlencode(f.params()) if f.page else None
    complaints = [console.complaint_view(op, c, r) for c, r in rows]
    for view, (c, _) in zip(complaints, rows, strict=True):
        view["channel_label"] = CHANNEL_LABELS.get(c.channel, c.channel)
        view["due"] = console.calendar.verify_due(c).strftime("%d-%m-%Y")
    resp = console.render(
        "ops_complaints.html",
        request,
        op,
        nav="complaints",
        complaints=complaints,
        f=f,
        statuses=list(STATUS_LABELS.items()),
        channels=list(CHANNEL_LABELS.items()),
        categories=list(CATEGORY_LABELS.items()),
        sorts=list(SORTS.items()),
        regions=console.regions_for(op),
        overdue_total=overdue_total or 0,
        overdue_cap=OVERDUE_CAP,
        sla=console.rt.settings.file.sla,
        overdue_url="?" + urlencode({"overdue": "1"}),
        next_url=next_url,
        first_url=first_url,
    )
    if f.errors:
        resp.set_status(400)
    return resp
