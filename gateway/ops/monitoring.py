"""`/ops/stats` (charts, for everyone in their scope) and `/ops/province` (the admin's table
of every region side by side), both over a period `?from=&to=` (default: 30 days)."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from gateway.labels import CHANNEL_LABELS, OUTCOME_LABELS, STATUS_LABELS
from gateway.ops import charts
from gateway.ops.aggregates import DEFAULT_DAYS, Period, charts_data, region_summary
from gateway.ops.auth import OperatorSession
from gateway.ops.views import Console
from gateway.queries import intake_stats, reply_stats

MAX_PERIOD_DAYS = 366
PROVINCE_COLUMNS = {
    "name": "Wilayah",
    "received": "Diterima",
    "forwarded": "Diteruskan",
    "pending_review": "Menunggu tinjauan",
    "overdue": "Terlambat",
    "resolved": "Selesai (LAPOR!)",
    "on_time_pct": "% tepat waktu",
    "median_hours_to_forward": "Median jam sampai diteruskan",
}


def parse_period(query: Any, zone: ZoneInfo) -> tuple[Period, list[str]]:
    """`from`/`to` as YYYY-MM-DD; a bad value is reported and the default used instead."""
    default = Period.last_days(DEFAULT_DAYS, zone)
    errors: list[str] = []
    values: dict[str, date] = {}
    for key, label in (("from", "awal"), ("to", "akhir")):
        raw = str(query.get(key, "") or "")
        if not raw:
            continue
        try:
            values[key] = date.fromisoformat(raw)
        except ValueError:
            errors.append(f"Tanggal {label} “{raw}” tidak sah; gunakan TTTT-BB-HH.")
    start = values.get("from", default.start)
    end = values.get("to", default.end)
    if start > end:
        errors.append("Tanggal awal sesudah tanggal akhir; dipakai 30 hari terakhir.")
        return default, errors
    if (end - start).days >= MAX_PERIOD_DAYS:
        errors.append(f"Rentang paling panjang {MAX_PERIOD_DAYS} hari; dipakai 30 hari terakhir.")
        return default, errors
    return Period(start, end, zone), errors


def _figure(draw: Any, title: str, *args: Any) -> dict[str, Any]:
    return {"title": title, "svg": draw(title, *args)}


def _with_errors(resp: web.Response, errors: list[str]) -> web.Response:
    if errors:
        resp.set_status(400)
    return resp


async def stats_page(console: Console, request: web.Request, op: OperatorSession) -> web.Response:
    period, errors = parse_period(request.query, console.zone)
    async with console.rt.store.reader() as session:
        data = await charts_data(session, console.calendar, period, op.scope)
        intake = await intake_stats(session, zone=console.zone)
        replies = await reply_stats(
            session, console.zone, region=None if op.is_admin else op.region
        )
    if not op.is_admin:
        intake = {k: [r for r in v if r["region"] == op.region] for k, v in intake.items()}
    days = data["days"]
    per_day = {
        CHANNEL_LABELS.get(ch, ch): [counts.get(d, 0) for d in days]
        for ch, counts in data["per_day"].items()
    }
    weeks = [(f"Minggu {w['week']:%d-%m}", w) for w in data["weekly"]]
    figures = [
        _figure(
            charts.stacked_columns,
            "Aduan per hari menurut kanal",
            [f"{d:%d-%m}" for d in days],
            per_day,
        ),
        _figure(
            charts.bars,
            "Sebaran status aduan",
            [
                (label, data["status"][s])
                for s, label in STATUS_LABELS.items()
                if data["status"].get(s)
            ],
        ),
        _figure(
            charts.stacked_bars,
            "Pesan masuk menurut kanal: diterima, tak terarah, ditolak",
            [(CHANNEL_LABELS.get(ch, ch), parts) for ch, parts in data["outcomes"].items()],
            [(k, OUTCOME_LABELS[k]) for k in ("accepted", "duplicate", "unrouted", "rejected")],
        ),
        _figure(
            charts.bars,
            "Median waktu sampai diteruskan ke LAPOR! (jam), per minggu diterima",
            [(label, w["median_hours"]) for label, w in weeks if w["median_hours"] is not None],
            " jam",
        ),
        _figure(
            charts.bars,
            "Kepatuhan SLA verifikasi per minggu (% diteruskan tepat waktu)",
            [(label, w["on_time_pct"]) for label, w in weeks],
            "%",
        ),
    ]
    windows = [("today", "Hari ini"), ("7d", "7 hari terakhir"), ("all", "Sepanjang waktu")]
    resp = console.render(
        "ops_stats.html",
        request,
        op,
        nav="stats",
        figures=figures,
        period=period,
        errors=errors,
        stats=intake,
        replies=replies,
        windows=windows,
        outcome_labels=OUTCOME_LABELS,
        channel_labels=CHANNEL_LABELS,
    )
    return _with_errors(resp, errors)


async def province_page(
    console: Console, request: web.Request, op: OperatorSession
) -> web.Response:
    if not op.is_admin:
        raise web.HTTPForbidden(text="Halaman ini hanya untuk admin provinsi.")
    period, errors = parse_period(request.query, console.zone)
    sort = str(request.query.get("sort", "name"))
    if sort not in PROVINCE_COLUMNS:
        errors.append(f"Urutan “{sort}” tidak dikenal; diurutkan menurut wilayah.")
        sort = "name"
    descending = request.query.get("dir") == "turun"
    async with console.rt.store.reader() as session:
        rows = await region_summary(session, console.rt.settings, console.calendar, period)
    # Empty values (no forward yet) sort last either way.
    filled = [r for r in rows if r[sort] is not None]
    empty = [r for r in rows if r[sort] is None]
    filled.sort(key=lambda r: r[sort], reverse=descending)
    span = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    columns = [
        {
            "key": key,
            "label": label,
            "url": "?"
            + urlencode(
                span | {"sort": key} | ({"dir": "turun"} if key == sort and not descending else {})
            ),
            "sorted": "descending"
            if key == sort and descending
            else "ascending"
            if key == sort
            else None,
        }
        for key, label in PROVINCE_COLUMNS.items()
    ]
    totals = {
        key: sum(r[key] for r in rows)
        for key in ("received", "forwarded", "pending_review", "overdue", "resolved")
    }
    resp = console.render(
        "ops_province.html",
        request,
        op,
        nav="province",
        rows=filled + empty,
        columns=columns,
        totals=totals,
        period=period,
        errors=errors,
        span=urlencode(span),
    )
    return _with_errors(resp, errors)
