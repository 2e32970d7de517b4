"""A report as a file: CSV (sections one after another, UTF-8 with BOM so spreadsheets read
the accents) or Excel (one sheet per section, numbers as numbers, dates as dates).

Citizens write the subjects: a cell that a spreadsheet would run as a formula (`=`, `+`, `-`,
`@` first) is written as text — a leading `'` in CSV, a string cell in Excel.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from gateway.ops.report_data import LINE_COLUMNS, MEASURES, Report

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "DD-MM-YYYY HH:MM"
CSV_DATE = "%Y-%m-%d %H:%M"


def _tables(report: Report) -> Iterator[tuple[str, list[str], list[list[Any]]]]:
    """(section title, header, rows) for every figures table of the report."""
    keys = list(MEASURES)
    labels = list(MEASURES.values())
    regions = [[r["name"], *(r[k] for k in keys)] for r in report.regions]
    if report.region_code is None:
        regions.append(["Jumlah", *(report.total[k] for k in keys)])
    yield "Ringkasan per wilayah", ["Wilayah", *labels], regions
    for title, first, groups in (
        ("Per kanal", "Kanal", report.channels),
        ("Per kategori", "Kategori", report.categories),
    ):
        yield title, [first, *labels], [[r["label"], *(r[k] for k in keys)] for r in groups]


def _heading(report: Report) -> list[list[str]]:
    zone = str(report.period.zone)
    return [
        [report.title],
        ["Periode (tanggal diterima)", report.period_text],
        ["Dibuat", f"{report.generated_at:%d-%m-%Y %H:%M} ({zone})"],
    ]


# -- CSV ----------------------------------------------------------------------------------


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(CSV_DATE)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(report: Report) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def rows(items: Iterable[Iterable[Any]]) -> None:
        writer.writerows([_csv_cell(v) for v in row] for row in items)

    rows(_heading(report))
    for title, header, table in _tables(report):
        rows([[], [title], header, *table])
    rows([[], ["Daftar aduan"], LINE_COLUMNS, *(line.cells() for line in report.lines)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# -- Excel --------------------------------------------------------------------------------


def _xlsx_cell(ws: WriteOnlyWorksheet, value: Any, bold: bool = False) -> WriteOnlyCell:
    if isinstance(value, datetime):
        # Excel has no time zones: the local time of the gateway's zone, as in the console.
        cell = WriteOnlyCell(ws, value.replace(tzinfo=None))
        cell.number_format = DATE_FORMAT
    elif isinstance(value, str):
        cell = WriteOnlyCell(ws, None)
        cell.value = value
        cell.data_type = "s"  # never a formula, whatever the text starts with
    else:
        cell = WriteOnlyCell(ws, value)
    if bold:
        cell.font = Font(bold=True)
    return cell


def _sheet(
    wb: Workbook, title: str, widths: list[int], rows: Iterable[tuple[list[Any], bool]]
) -> None:
    ws = wb.create_sheet(title)
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    for values, bold in rows:
        ws.append([_xlsx_cell(ws, v, bold) for v in values])


def to_xlsx(report: Report) -> bytes:
    wb = Workbook(write_only=True)
    widths = [28, *([14] * len(MEASURES))]
    tables = list(_tables(report))
    _, header, regions = tables[0]
    province = report.region_code is None
    _sheet(
        wb,
        "Ringkasan",
        widths,
        [
            *((row, i == 0) for i, row in enumerate(_heading(report))),
            ([], False),
            (header, True),
            # The province's last row is its total.
            *((row, province and i == len(regions) - 1) for i, row in enumerate(regions)),
        ],
    )
    for title, header, table in tables[1:]:
        _sheet(wb, title, widths, [(header, True), *((row, False) for row in table)])
    _sheet(
        wb,
        "Daftar aduan",
        [14, 8, 17, 16, 20, 18, 40, 17, 17, 22, 34],
        [(list(LINE_COLUMNS), True), *((list(line.cells()), False) for line in report.lines)],
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
