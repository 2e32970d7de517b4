"""In Chromium: the report page (its Excel download opened with openpyxl, the printed page
without the menu) and the menu's counts changing while the page stays open."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from playwright.async_api import expect

from tests.browser.harness import DESKTOP, PHONE, LiveGateway, screenshot_path
from tests.browser.test_console_session import PASSWORD, send_complaint, sign_in
from tests.support import running_gateway, write_config


@pytest.fixture
async def quick_gateway(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[LiveGateway]:
    """A gateway whose pages refresh their counts every second."""
    db = tmp_path / "lapor.db"
    shutil.copy(sqlite_template, db)
    config = write_config(
        tmp_path / "cfg", f"sqlite+aiosqlite:///{db}", "[ops]\ncounts_refresh_s = 1\n"
    )
    from gateway.settings import load_settings

    listen = load_settings(config).http.listen
    log = tmp_path / "gateway.log"
    async with running_gateway(config, log):
        yield LiveGateway(base_url=f"http://{listen}", config=config, log=log)


async def test_excel_download_from_the_report_page(
    live_gateway: LiveGateway, browser_page, tmp_path: Path
) -> None:
    gw = live_gateway
    gw.add_operator("admin", PASSWORD, role="admin")
    send_complaint(gw, "Jalan rusak parah di depan pasar Lubuk Basung")
    send_complaint(gw, "Lampu jalan mati di simpang empat Lubuk Basung")
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Jakarta")).date().isoformat()
    page = await browser_page(viewport=PHONE, accept_downloads=True)
    await sign_in(page, gw, "admin")
    await page.get_by_role("link", name="Laporan").click()
    await page.get_by_role("link", name="Minggu lalu").wait_for()
    await page.get_by_label("Dari tanggal").fill(today)
    await page.get_by_label("Sampai tanggal").fill(today)
    await page.get_by_label("Wilayah", exact=True).select_option("AGAM")
    await page.get_by_role("button", name="Tampilkan").click()
    await page.get_by_role("heading", name="Laporan pengaduan Kabupaten Agam").wait_for()
    assert "AGM-000002" in await page.content()
    await page.screenshot(path=screenshot_path("console-report-phone"), full_page=True)

    async with page.expect_download() as info:
        await page.get_by_role("button", name="Unduh Excel").click()
    download = await info.value
    assert download.suggested_filename == f"laporan-agam-{today}-{today}.xlsx"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    wb = openpyxl.load_workbook(saved)
    summary = list(wb["Ringkasan"].iter_rows(values_only=True))
    assert summary[5][:2] == ("Kabupaten Agam", 2)
    lines = list(wb["Daftar aduan"].iter_rows(values_only=True))
    assert [r[0] for r in lines[1:]] == ["AGM-000001", "AGM-000002"]
    assert all("*****" in r[10] for r in lines[1:])  # the admin's file: reporters masked

    # Printed, the page is the report alone: no menu, no form.
    await page.set_viewport_size(DESKTOP)
    await page.emulate_media(media="print")
    assert not await page.get_by_role("navigation", name="Menu konsol").is_visible()
    assert not await page.get_by_role("button", name="Unduh Excel").is_visible()
    assert await page.get_by_role("heading", name="Ringkasan").is_visible()
    await page.screenshot(path=screenshot_path("console-report-print"), full_page=True)


async def test_menu_counts_change_when_a_message_arrives(
    quick_gateway: LiveGateway, browser_page
) -> None:
    gw = quick_gateway
    gw.add_operator("admin", PASSWORD, role="admin")
    page = await browser_page(viewport=PHONE)
    errors: list[str] = []
    # favicon.ico is a 404 the browser asks for by itself.
    page.on(
        "console",
        lambda msg: (
            errors.append(f"{msg.text} {msg.location.get('url')}")
            if msg.type == "error" and "favicon" not in str(msg.location.get("url"))
            else None
        ),
    )
    await sign_in(page, gw, "admin")
    await page.goto(gw.url("/ops/complaints"))
    review = page.locator('[data-count="review"]')
    assert await review.is_hidden()
    # Pandeglang reviews every complaint first: one more waits for the admin.
    send_pdg = _pandeglang_complaint(gw)
    send_pdg("Jembatan gantung di Cikeusik putus")
    await expect(review).to_have_text("1", timeout=15_000)
    assert await review.is_visible()
    assert (await page.title()).startswith("(1) ")
    await page.screenshot(path=screenshot_path("console-menu-count-phone"), full_page=True)
    send_pdg("Banjir rob di pesisir Sumur")
    await expect(review).to_have_text("2", timeout=15_000)
    assert not errors  # nothing refused by the CSP, no script error


def _pandeglang_complaint(gw: LiveGateway):
    import json
    import urllib.request

    from tests.support import API_KEY_ALL

    def send(text: str) -> None:
        request = urllib.request.Request(
            gw.url("/api/v1/complaints"),
            data=json.dumps({"region": "PDG", "text": text}).encode(),
            headers={
                "Authorization": f"Bearer {API_KEY_ALL}",
                "Content-Type": "application/json",
                "Idempotency-Key": text[:40],
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 201

    return send
