"""`/ops/reports` over a real socket, SQLite and PostgreSQL: the page, the CSV and the Excel
file (opened with openpyxl), masking per role, and a region operator kept to their region."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime

import openpyxl
import pytest
from aiohttp.test_utils import TestClient

from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.store.db import Store
from tests.ops.report_support import FORMULA, MASKED_PHONE, PHONE, WEEK, seed_week
from tests.ops.workbench_support import login, open_console

SPAN = f"from={WEEK[0]}&to={WEEK[1]}"


@pytest.fixture
async def console(settings: Settings, store: Store) -> AsyncIterator[tuple[TestClient, Runtime]]:
    async with open_console(settings, store) as opened:
        await seed_week(opened[1])
        yield opened


def sheet_rows(body: bytes, name: str) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(body))
    return [tuple(row) for row in wb[name].iter_rows(values_only=True)]


async def test_admin_gets_the_province_as_excel(console: tuple[TestClient, Runtime]) -> None:
    client, _ = console
    await login(client, "admin")
    resp = await client.get(f"/ops/reports?{SPAN}&format=xlsx")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert (
        'filename="laporan-provinsi-2026-11-02-2026-11-08.xlsx"'
        in (resp.headers["Content-Disposition"])
    )
    body = await resp.read()
    summary = sheet_rows(body, "Ringkasan")
    assert summary[0] == ("Laporan pengaduan seluruh wilayah", *[None] * 7)
    assert summary[1][:2] == ("Periode (tanggal diterima)", "02-11-2026 s.d. 08-11-2026")
    header = summary[4]
    assert header[:3] == ("Wilayah", "Diterima", "Diteruskan")
    rows = {r[0]: r[1:] for r in summary[5:]}
    # received, forwarded, waiting, overdue, resolved, % on time, median hours
    assert rows["Kabupaten Agam"] == (5, 2, 1, 3, 1, 50.0, 73.5)
    assert rows["Kota Surabaya"] == (1, 1, 0, 0, 1, 100.0, 1.0)
    assert rows["Kabupaten Pandeglang"] == (0, 0, 0, 0, 0, None, None)
    assert rows["Jumlah"] == (6, 3, 1, 3, 2, 66.7, 2.0)
    channels = {r[0]: r[1:3] for r in sheet_rows(body, "Per kanal")[1:]}
    assert channels == {"SMS": (5, 3), "E-mail": (1, 0)}
    categories = sheet_rows(body, "Per kategori")
    assert sum(r[1] for r in categories[1:]) == 6

    lines = sheet_rows(body, "Daftar aduan")
    assert lines[0][:3] == ("No. tiket", "Wilayah", "Diterima")
    by_ref = {r[0]: dict(zip(lines[0], r, strict=True)) for r in lines[1:]}
    # Inclusive of the last day in the gateway's zone, not of the day after.
    assert set(by_ref) == {f"AGM-00000{i}" for i in range(1, 6)} | {"SBY-000001"}
    first = by_ref["AGM-000001"]
    assert first["Diterima"] == datetime(2026, 11, 2, 10, 0)  # a date cell, in WIB
    assert first["Status"] == "Selesai" and first["SLA"] == "Diteruskan tepat waktu"
    assert first["Pelapor"] == f"S*** A***, {MASKED_PHONE}"  # the admin sees it masked
    assert by_ref["AGM-000002"]["SLA"] == "Terlambat verifikasi"
    assert by_ref["AGM-000003"]["Pelapor"] == "Dirahasiakan (anonim)"
    assert by_ref["AGM-000003"]["SLA"] == "Terlambat tindak lanjut"
    assert "suap" not in by_ref["AGM-000004"]["Pokok aduan"]  # rahasia: not in the report
    # A formula from outside stays text: no spreadsheet runs it.
    assert by_ref["AGM-000005"]["Pokok aduan"] == FORMULA
    wb = openpyxl.load_workbook(io.BytesIO(body))
    cells = [c for c in wb["Daftar aduan"]["G"] if str(c.value).startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)


async def test_region_operator_csv_is_their_region_in_full(
    console: tuple[TestClient, Runtime],
) -> None:
    client, _ = console
    await login(client, "agam")
    resp = await client.get(f"/ops/reports?{SPAN}&format=csv")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert "laporan-agam-2026-11-02-2026-11-08.csv" in resp.headers["Content-Disposition"]
    body = await resp.read()
    assert body.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read the accents
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["Laporan pengaduan Kabupaten Agam"]
    start = rows.index(["Ringkasan per wilayah"])
    assert rows[start + 2] == ["Kabupaten Agam", "5", "2", "1", "3", "1", "50.0", "73.5"]
    assert len(rows[start + 3]) == 0  # one region, no total row
    listed = rows.index(["Daftar aduan"])
    lines = {r[0]: r for r in rows[listed + 2 :]}
    assert set(lines) == {f"AGM-00000{i}" for i in range(1, 6)}  # nothing of SBY
    assert lines["AGM-000001"][10] == f"Siti Aminah, {PHONE}"  # their own reporter, in full
    assert lines["AGM-000003"][10] == "Dirahasiakan (anonim)"
    assert lines["AGM-000005"][6] == "'" + FORMULA  # a formula cell, neutralised
    assert lines["AGM-000001"][2] == "2026-11-02 10:00"

    # Another region's report is refused, not quietly replaced by their own.
    for fmt in ("csv", "xlsx", "html"):
        resp = await client.get(f"/ops/reports?{SPAN}&region=SBY&format={fmt}")
        assert resp.status == 403
    resp = await client.get(f"/ops/reports?{SPAN}&region=agam&format=csv")
    assert resp.status == 200


async def test_page_presets_bad_input_and_masking(console: tuple[TestClient, Runtime]) -> None:
    client, _ = console
    await login(client, "agam")
    page = await (await client.get(f"/ops/reports?{SPAN}")).text()
    assert "Laporan pengaduan Kabupaten Agam" in page
    assert "02-11-2026 s.d. 08-11-2026" in page
    assert PHONE in page and "<script" not in page.split("<main>")[1]
    assert re.search(r"<dt>Diterima</dt><dd>5</dd>", page)
    assert re.search(r"<dt>% tepat waktu</dt><dd>50,0%</dd>", page)
    assert "Minggu lalu" in page and "Bulan lalu" in page
    assert 'name="format" value="xlsx"' in page and 'name="format" value="csv"' in page
    # The print layout is a static stylesheet (CSP: no inline styles).
    assert 'href="/ops/static/reports.css"' in page
    assert "@media print" in await (await client.get("/ops/static/reports.css")).text()
    assert "SBY-000001" not in page
    # The default period is last week: a page, not an error.
    assert (await client.get("/ops/reports")).status == 200

    for query, said in (
        ("from=2026-13-01", "TTTT-BB-HH"),
        ("from=2026-11-09&to=2026-11-02", "Tanggal awal sesudah tanggal akhir"),
        ("from=2024-01-01&to=2026-01-01", "paling panjang 366 hari"),
        (f"{SPAN}&format=pdf", "Format “pdf” tidak dikenal"),
    ):
        resp = await client.get(f"/ops/reports?{query}")
        assert resp.status == 400 and said in await resp.text(), query
    # A bad date never turns into a download of some other period.
    resp = await client.get("/ops/reports?from=kemarin&format=xlsx")
    assert resp.status == 400 and resp.headers["Content-Type"].startswith("text/html")

    await login(client, "admin")
    page = await (await client.get(f"/ops/reports?{SPAN}")).text()
    assert PHONE not in page and MASKED_PHONE in page
    assert "Per wilayah" in page and "SBY-000001" in page
    page = await (await client.get(f"/ops/reports?{SPAN}&region=SBY")).text()
    assert "Laporan pengaduan Kota Surabaya" in page and "AGM-000001" not in page
    resp = await client.get(f"/ops/reports?{SPAN}&region=NOPE")
    assert resp.status == 400 and "Wilayah “NOPE” tidak dikenal" in await resp.text()
