"""The console in Chromium: Back after logout, forged flash text, the live log's
connection state (issue 11 items 6, 8, 10, 11). Screenshots at phone width."""

from __future__ import annotations

import re
import shutil
import signal
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser.harness import PHONE, LiveGateway, screenshot_path
from tests.support import running_gateway, write_config

PASSWORD = "kata-sandi-uji"
PHONE_NUMBER = "+6281234567890"


async def sign_in(page, gw: LiveGateway, name: str) -> None:
    await page.goto(gw.url("/ops/login"))
    await page.get_by_label("Nama pengguna").fill(name)
    await page.get_by_label("Kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await page.wait_for_url(gw.url("/ops/"))


def send_complaint(gw: LiveGateway, text: str) -> None:
    """A complaint with the reporter's phone, through the real JSON API."""
    import json
    import urllib.error
    import urllib.request

    from tests.support import API_KEY_ALL

    request = urllib.request.Request(
        gw.url("/api/v1/complaints"),
        data=json.dumps(
            {"region": "AGAM", "text": text, "reporter": {"name": "Siti", "phone": "081234567890"}}
        ).encode(),
        headers={
            "Authorization": f"Bearer {API_KEY_ALL}",
            "Content-Type": "application/json",
            "Idempotency-Key": text[:40],
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 201
    except urllib.error.HTTPError as e:
        raise AssertionError(e.read().decode()) from e


async def test_back_after_logout_shows_no_personal_data(live_gateway, browser_page) -> None:
    gw = live_gateway
    gw.add_operator("agam", PASSWORD, region="AGAM")
    send_complaint(gw, "Jalan rusak parah di depan pasar Lubuk Basung")
    page = await browser_page(viewport=PHONE)
    await sign_in(page, gw, "agam")
    await page.goto(gw.url("/ops/complaints"))
    assert PHONE_NUMBER in await page.content()
    await page.screenshot(path=screenshot_path("console-complaints-phone"), full_page=True)
    await page.get_by_role("button", name="Keluar").click()
    await page.wait_for_url(gw.url("/ops/login"))
    assert "Anda sudah keluar." in await page.content()
    await page.go_back()
    await page.wait_for_load_state()
    content = await page.content()
    assert PHONE_NUMBER not in content and "Masuk Konsol Operator" in content
    await page.screenshot(path=screenshot_path("console-back-after-logout-phone"), full_page=True)


async def test_flash_text_from_the_url_is_not_shown(live_gateway, browser_page) -> None:
    gw = live_gateway
    gw.add_operator("agam", PASSWORD, region="AGAM")
    forged = "Akun diblokir. Hubungi 0812-0000-1111 segera"
    page = await browser_page(viewport=PHONE)
    await page.goto(gw.url("/ops/login?pesan=" + forged.replace(" ", "+") + "&galat=1"))
    assert await page.get_by_text("diblokir").count() == 0
    await sign_in(page, gw, "agam")
    await page.goto(gw.url("/ops/inbox?pesan=" + forged.replace(" ", "+") + "&galat=1"))
    assert await page.get_by_text("diblokir").count() == 0
    await page.screenshot(path=screenshot_path("console-inbox-forged-flash-phone"), full_page=True)


async def test_live_log_shows_when_the_session_ends(live_gateway, browser_page) -> None:
    gw = live_gateway
    gw.add_operator("agam", PASSWORD, region="AGAM")
    page = await browser_page(viewport=PHONE)
    await sign_in(page, gw, "agam")
    state = page.locator("#sambungan")
    await expect(state).to_have_attribute("data-state", "open")
    send_complaint(gw, "Lampu jalan mati di simpang empat")
    await page.get_by_text("AGM-000001").wait_for()
    await page.screenshot(path=screenshot_path("console-live-log-open-phone"), full_page=True)
    gw.cli("operator", "disable", "agam")
    await expect(state).to_have_attribute("data-state", "ended")
    assert "Sesi Anda berakhir" in await state.inner_text()
    assert await page.get_by_role("link", name="Masuk lagi").count() == 1
    await page.screenshot(path=screenshot_path("console-live-log-ended-phone"), full_page=True)


@pytest.fixture
async def stoppable_gateway(tmp_path: Path, sqlite_template: Path):
    db = tmp_path / "lapor.db"
    shutil.copy(sqlite_template, db)
    config = write_config(tmp_path / "cfg", f"sqlite+aiosqlite:///{db}")
    from gateway.settings import load_settings

    listen = load_settings(config).http.listen
    log = tmp_path / "gateway.log"
    async with running_gateway(config, log) as proc:
        yield LiveGateway(base_url=f"http://{listen}", config=config, log=log), proc


async def test_live_log_shows_when_the_gateway_goes_away(stoppable_gateway, browser_page) -> None:
    gw, proc = stoppable_gateway
    gw.add_operator("admin", PASSWORD, role="admin")
    page = await browser_page(viewport=PHONE)
    await sign_in(page, gw, "admin")
    state = page.locator("#sambungan")
    await expect(state).to_have_attribute("data-state", "open")
    proc.send_signal(signal.SIGTERM)
    await expect(state).to_have_attribute("data-state", re.compile("^(shutdown|connecting)$"))
    text = await page.locator("#sambungan").inner_text()
    assert "berhenti" in text or "Terputus" in text
    await page.screenshot(path=screenshot_path("console-live-log-disconnected-phone"))
    assert proc.wait(10) == 0
