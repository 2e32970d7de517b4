"""The citizen form in Chromium: Back-edit-resend, the character counter, field errors."""

from __future__ import annotations

import json

from tests.browser.harness import PHONE, screenshot_path

TEXT_A = "Lampu jalan di Jl. Sudirman mati sejak seminggu."
TEXT_B = "Saluran air di depan SDN 3 Lubuk Basung tersumbat, banjir tiap hujan."


async def test_back_edit_and_send_again_files_the_second_complaint(live_gateway, browser_page):
    page = await browser_page(viewport=PHONE)
    await page.goto(live_gateway.url("/"))
    await page.select_option("#region", "AGAM")
    await page.fill("#text", TEXT_A)
    token = await page.input_value("input[name=token]")
    await page.click("button[type=submit] >> text=Kirim Aduan")
    await page.wait_for_selector("text=Nomor tiket")
    assert "AGM-000001" in await page.inner_text("strong")

    await page.go_back()
    await page.wait_for_selector("#text")
    # The browser brings back the very page sent: same token, the old text in place.
    assert await page.input_value("input[name=token]") == token
    assert await page.input_value("#text") == TEXT_A
    await page.fill("#text", TEXT_B)
    await page.click("button[type=submit] >> text=Kirim Aduan")
    await page.wait_for_selector("text=Nomor tiket")
    assert "AGM-000002" in await page.inner_text("strong")
    await page.screenshot(path=screenshot_path("form-back-edit-resend-phone"), full_page=True)

    stored = json.loads(live_gateway.cli("complaints", "list", "--json"))
    assert [(c["tracking_ref"], c["text"]) for c in stored] == [
        ("AGM-000001", TEXT_A),
        ("AGM-000002", TEXT_B),
    ]


async def test_the_counter_warns_before_sending_and_nothing_is_cut(live_gateway, browser_page):
    page = await browser_page(viewport=PHONE)
    await page.goto(live_gateway.url("/"))
    counter = page.locator("#text-count")
    assert "10.000 karakter" in await counter.inner_text()
    await page.fill("#text", "Jalan rusak 🙏")  # an emoji is one character, as the gateway counts
    assert await counter.inner_text() == "13 / 10.000 karakter"

    long_text = ("Jalan berlubang di Jl. Diponegoro. " * 380).rstrip() + "!"  # 13,300
    await page.fill("#text", long_text)
    assert len(await page.input_value("#text")) == 13_300  # the browser cut nothing
    assert "13.300 / 10.000 karakter — terlalu panjang 3.300 karakter" in (
        await counter.inner_text()
    )
    assert "over" in (await counter.get_attribute("class") or "")
    await page.screenshot(path=screenshot_path("form-counter-over-phone"))

    await page.click("button[type=submit] >> text=Kirim Aduan")
    alert = page.locator("[role=alert]")
    await alert.wait_for()
    assert "paling banyak 10.000 karakter" in await alert.inner_text()
    assert await page.input_value("#text") == long_text  # still whole, to be shortened
    await page.screenshot(path=screenshot_path("form-too-long-phone"), full_page=True)
    stored = json.loads(live_gateway.cli("complaints", "list", "--json"))
    assert stored == []  # refused, not stored as a cut "whole" complaint


async def test_an_invalid_phone_number_is_shown_on_the_form(live_gateway, browser_page):
    page = await browser_page(viewport=PHONE)
    await page.goto(live_gateway.url("/"))
    await page.fill("#text", TEXT_A)
    await page.fill("#phone", "0812-345")
    await page.click("button[type=submit] >> text=Kirim Aduan")
    await page.locator("[role=alert]").wait_for()
    assert "belum dikirim" in await page.inner_text("[role=alert]")
    # The reason is beside the field, which has the focus (the phone scrolls to it).
    assert "“0812-345” tidak valid" in await page.inner_text("#phone-error")
    assert await page.get_attribute("#phone", "aria-invalid") == "true"
    assert await page.evaluate("document.activeElement.id") == "phone"
    assert await page.input_value("#text") == TEXT_A
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    await page.screenshot(path=screenshot_path("form-invalid-phone-phone"), full_page=True)
    await page.fill("#phone", "0812-3456-7890")
    await page.click("button[type=submit] >> text=Kirim Aduan")
    await page.wait_for_selector("text=Nomor tiket")
