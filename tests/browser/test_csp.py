"""Content-Security-Policy in Chromium: no inline script or style left on any page the
citizen or an operator sees, and the pages still work (their scripts are static files)."""

from __future__ import annotations

from typing import Any

from tests.browser.harness import PHONE, screenshot_path
from tests.browser.test_console_session import PASSWORD, send_complaint, sign_in

CONSOLE_PAGES = (
    "/ops/",
    "/ops/inbox",
    "/ops/review",
    "/ops/complaints",
    "/ops/complaints/AGM-000001",
    "/ops/stats",
    "/ops/province",
    "/ops/outbox",
    "/ops/reports",
    "/ops/accounts",
    "/ops/accounts/admin",
    "/ops/account",
)


def watch_csp(page: Any) -> list[str]:
    """Every CSP violation the page reports, from the console and the DOM event."""
    seen: list[str] = []
    page.on(
        "console",
        lambda msg: seen.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return seen


async def violations(page: Any) -> list[str]:
    return await page.evaluate("window.__csp || []")


INIT = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


async def test_citizen_pages_break_no_csp_rule(live_gateway, browser_page) -> None:
    page = await browser_page(viewport=PHONE)
    await page.add_init_script(INIT)
    logged = watch_csp(page)
    resp = await page.goto(live_gateway.url("/"))
    policy = resp.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    # The stylesheet applied (the heading's colour) and form.js ran (the counter counts).
    assert await page.eval_on_selector("h1", "h => getComputedStyle(h).color") == "rgb(176, 0, 32)"
    await page.select_option("#region", "AGAM")
    await page.fill("#text", "Lampu jalan mati di depan pasar")
    assert "31" in await page.inner_text("#text-count")
    assert await violations(page) == []
    await page.click("button[type=submit] >> text=Kirim Aduan")
    await page.wait_for_selector("text=Nomor tiket")
    assert await violations(page) == []
    for path in ("/status?ref=AGM-000001", "/halaman-tidak-ada"):
        await page.goto(live_gateway.url(path))
        assert await violations(page) == [], path
    await page.screenshot(path=screenshot_path("csp-not-found-phone"), full_page=True)
    assert logged == []


async def test_console_pages_break_no_csp_rule(live_gateway, browser_page) -> None:
    gw = live_gateway
    gw.add_operator("admin", PASSWORD, role="admin")
    send_complaint(gw, "Jalan rusak parah di depan pasar Lubuk Basung")
    page = await browser_page(viewport=PHONE)
    await page.add_init_script(INIT)
    logged = watch_csp(page)
    await page.goto(gw.url("/ops/login"))
    assert await violations(page) == []
    await page.screenshot(path=screenshot_path("csp-login-phone"), full_page=True)
    await sign_in(page, gw, "admin")
    # log.js ran: the live log connected through its EventSource.
    await page.wait_for_selector("#sambungan[data-state=open]")
    for path in CONSOLE_PAGES:
        resp = await page.goto(gw.url(path))
        assert resp.status == 200, path
        assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
        assert await violations(page) == [], path
    await page.screenshot(path=screenshot_path("csp-stats-phone"), full_page=True)
    assert logged == []
