"""Accounts in Chromium at phone width: an admin disables an operator whose live log then
says the session ended; an admin enrols TOTP and signs in with a code."""

from __future__ import annotations

import re
import time

import pyotp

from tests.browser.harness import PHONE, screenshot_path

PASSWORD = "kata-sandi-uji"


async def sign_in(page, gw, name: str) -> None:
    await page.goto(gw.url("/ops/login"))
    await page.get_by_label("Nama pengguna").fill(name)
    await page.get_by_label("Kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Masuk").click()


async def test_an_admin_disables_an_operator_whose_live_log_ends(live_gateway, browser_page):
    gw = live_gateway
    gw.add_operator("admin", PASSWORD, role="admin")
    gw.add_operator("penghubung.agam", PASSWORD, region="AGAM")
    operator = await browser_page(viewport=PHONE)
    await sign_in(operator, gw, "penghubung.agam")
    await operator.wait_for_function(
        "document.getElementById('sambungan').dataset.state === 'open'"
    )
    admin = await browser_page(viewport=PHONE)
    await sign_in(admin, gw, "admin")
    await admin.get_by_role("link", name="Akun", exact=True).click()
    await admin.get_by_role("link", name="Ubah akun penghubung.agam").click()
    await admin.get_by_role("button", name="Nonaktifkan akun penghubung.agam").click()
    await admin.get_by_text("Akun penghubung.agam dinonaktifkan.").wait_for()
    await admin.screenshot(path=screenshot_path("accounts-disabled-phone"), full_page=True)
    await operator.wait_for_function(
        "document.getElementById('sambungan').dataset.state === 'ended'"
    )
    await sign_in(operator, gw, "penghubung.agam")
    assert "Nama pengguna atau kata sandi salah." in await operator.content()


async def test_an_admin_enrols_totp_and_signs_in_with_a_code(live_gateway, browser_page):
    gw = live_gateway
    gw.add_operator("admin", PASSWORD, role="admin")
    page = await browser_page(viewport=PHONE)
    await sign_in(page, gw, "admin")
    await page.wait_for_url(gw.url("/ops/"))
    await page.get_by_role("link", name="admin", exact=True).click()
    await page.get_by_role("button", name="Siapkan verifikasi dua langkah").click()
    assert await page.locator("figure.qr svg").count() == 1
    key = (await page.locator("code.kunci").first.inner_text()).replace(" ", "")
    totp = pyotp.TOTP(key)
    step = int(time.time() // 30)
    await page.get_by_label("Kode 6 angka").fill(totp.generate_otp(step))
    await page.get_by_role("button", name="Aktifkan").click()
    await page.get_by_role("status").get_by_text("Verifikasi dua langkah aktif").wait_for()
    await page.get_by_role("button", name="Keluar").click()

    await sign_in(page, gw, "admin")
    code = page.get_by_label("Kode 6 angka")
    await code.wait_for()
    assert re.search(r"/ops/login$", page.url)
    await page.screenshot(path=screenshot_path("accounts-totp-code-phone"), full_page=True)
    await code.fill(totp.generate_otp(step))  # already used to confirm: refused
    await page.get_by_role("button", name="Lanjutkan").click()
    await page.get_by_text("sudah dipakai").wait_for()
    await page.get_by_label("Kode 6 angka").fill(totp.generate_otp(step + 1))
    await page.get_by_role("button", name="Lanjutkan").click()
    await page.wait_for_url(gw.url("/ops/"))
