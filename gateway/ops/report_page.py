"""`/ops/reports?from=&to=&region=&format=`: the report for pimpinan as a printable page
(`format` empty or `html`), or as a download (`csv`, `xlsx`).

A region's operator gets their own region's report, with reporters in full as on their
other pages; asking for another region is refused (403). The admin gets any region or the
whole province, with reporters masked.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from gateway.ops.aggregates import Period
from gateway.ops.auth import OperatorSession
from gateway.ops.report_data import (
    LINE_COLUMNS,
    MAX_REPORT_DAYS,
    MEASURES,
    Report,
    build_report,
    last_month,
    last_week,
)
from gateway.ops.report_files import to_csv, to_xlsx
from gateway.ops.views import Console
from gateway.store.models import utcnow

# The page shows this many complaints; the files always carry them all.
PAGE_LINES = 1000
DOWNLOADS = {
    "csv": (to_csv, "text/csv; charset=utf-8"),
    "xlsx": (to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def _number(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:.1f}".replace(".", ",")
        return text + "%" if key == "on_time_pct" else text
    return f"{value:,}".replace(",", ".")


def _table(rows: list[dict[str, Any]], name_key: str) -> list[dict[str, Any]]:
    return [
        {"name": r[name_key], "cells": [(MEASURES[k], _number(k, r[k])) for k in MEASURES]}
        for r in rows
    ]


def _dates(query: Any, today: date, errors: list[str]) -> tuple[date, date]:
    default = last_week(today)
    values = []
    for key, label, fallback in (("from", "awal", default[0]), ("to", "akhir", default[1])):
        raw = str(query.get(key, "") or "")
        try:
            values.append(date.fromisoformat(raw) if raw else fallback)
        except ValueError:
            errors.append(f"Tanggal {label} “{raw}” tidak sah; gunakan TTTT-BB-HH.")
            values.append(fallback)
    start, end = values
    if start > end:
        errors.append("Tanggal awal sesudah tanggal akhir.")
    elif (end - start).days >= MAX_REPORT_DAYS:
        errors.append(f"Rentang laporan paling panjang {MAX_REPORT_DAYS} hari.")
    return start, end


def _region(console: Console, op: OperatorSession, raw: str, errors: list[str]) -> str | None:
    if not op.is_admin:
        if raw and raw != op.region:
            raise web.HTTPForbidden(
                text="Operator wilayah hanya dapat membuat laporan wilayahnya sendiri."
            )
        return op.region
    if raw and raw not in console.rt.settings.regions:
        errors.append(f"Wilayah “{raw}” tidak dikenal.")
        return None
    return raw or None


def _download(report: Report, fmt: str) -> web.Response:
    write, content_type = DOWNLOADS[fmt]
    return web.Response(
        body=write(report),
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{report.filename(fmt)}"',
        },
    )


async def reports_page(console: Console, request: web.Request, op: OperatorSession) -> web.Response:
    query = request.query
    errors: list[str] = []
    region = _region(console, op, str(query.get("region", "") or "").strip().upper(), errors)
    today = utcnow().astimezone(console.zone).date()
    start, end = _dates(query, today, errors)
    fmt = str(query.get("format", "") or "html")
    if fmt != "html" and fmt not in DOWNLOADS:
        errors.append(f"Format “{fmt}” tidak dikenal; pilih CSV atau Excel.")
        fmt = "html"
    report = None
    if not errors:
        async with console.rt.store.reader() as session:
            report = await build_report(
                session,
                console.rt.settings,
                console.calendar,
                Period(start, end, console.zone),
                region,
                full_reporter=not op.is_admin,
            )
        if fmt in DOWNLOADS:
            # openpyxl is blocking, and a province's year is a large workbook.
            return await asyncio.to_thread(_download, report, fmt)
    scope = {"region": region} if region and op.is_admin else {}
    presets = [
        (label, "?" + urlencode({"from": a.isoformat(), "to": b.isoformat()} | scope))
        for label, (a, b) in (("Minggu lalu", last_week(today)), ("Bulan lalu", last_month(today)))
    ]
    resp = console.render(
        "ops_reports.html",
        request,
        op,
        nav="reports",
        errors=errors,
        start=start,
        end=end,
        region=region,
        regions=console.regions_for(op),
        presets=presets,
        report=report,
        summary=[(MEASURES[k], _number(k, report.total[k])) for k in MEASURES] if report else [],
        by_region=_table([*report.regions, report.total | {"name": "Jumlah"}], "name")
        if report and region is None
        else [],
        by_channel=_table(report.channels, "label") if report else [],
        by_category=_table(report.categories, "label") if report else [],
        measure_labels=list(MEASURES.values()),
        line_columns=LINE_COLUMNS,
        lines=report.lines[:PAGE_LINES] if report else [],
        page_lines=PAGE_LINES,
    )
    if errors:
        resp.set_status(400)
    return resp
