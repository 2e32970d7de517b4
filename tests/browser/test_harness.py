"""The harness itself: the citizen form renders in Chromium at both widths."""

from __future__ import annotations

from tests.browser.harness import DESKTOP, PHONE, screenshot_path


async def test_citizen_form_renders_at_phone_and_desktop_width(live_gateway, browser_page):
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = await browser_page(viewport=viewport)
        response = await page.goto(live_gateway.url("/"))
        assert response.status == 200
        assert await page.locator("form").count() >= 1
        # Nothing wider than the screen: a phone user never scrolls sideways.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: page is {width}px wide"
        await page.screenshot(path=screenshot_path(f"harness-form-{name}"), full_page=True)
