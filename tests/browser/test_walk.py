"""The walk (issue 14 "Browser tests", item 10): every console page as an admin and as a
region operator, and the citizen form, at 1280 px and at 390 px, in Chromium.

On every page: no horizontal scroll on the phone, no console error, no CSP violation, and
no serious or critical axe-core finding. A full-page screenshot of each goes to
var/test-artifacts/screenshots/walk-*.png, to be looked at as an operator on a phone would.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe

from gateway.intake import Intake
from gateway.review import dismiss
from gateway.settings import load_settings
from gateway.store.db import Store
from gateway.store.regions import sync_regions
from normalizer.types import Channel
from tests.browser.harness import DESKTOP, PHONE, LiveGateway, screenshot_path
from tests.support import make_raw, running_gateway, write_config

PASSWORD = "kata-sandi-uji"
LONG_WORD = "Jl.Prof.Dr.Hamka-Kelurahan-Lubuk-Basung-Kecamatan-Lubuk-Basung-RT-003-RW-007"
# Serious and critical axe findings fail the walk, and so do missing landmarks and
# headings (moderate in axe); the others are written beside the screenshots
# (walk-axe-notes-*.txt), to be read with them.
BLOCKING = ("serious", "critical")
BLOCKING_RULES = ("region", "landmark-one-main", "page-has-heading-one", "landmark-unique")
# Records every CSP violation and uncaught error, whatever the page does later.
WATCH = """
window.__problems = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__problems.push('CSP: ' + e.violatedDirective + ' ' + e.blockedURI));
"""


async def seed(config: Path) -> None:
    """What every page has something to show: complaints (one overdue, one long word, one
    held for review), unrouted, rejected and dismissed messages."""
    settings = load_settings(config)
    store = Store(settings.database_url)
    try:
        await sync_regions(store, settings)
        intake = Intake(settings, store)
        old = datetime.now(UTC) - timedelta(days=12)
        for raw in [
            make_raw("AGAM lampu jalan mati sejak seminggu di simpang pasar", received_at=old),
            make_raw(f"AGAM jalan berlubang besar di {LONG_WORD}, sudah tiga motor jatuh"),
            make_raw(
                "Sampah menumpuk di depan sekolah, mohon diangkut",
                channel=Channel.EMAIL,
                sender="warga@mail.id",
                recipient="aduan@agamkab.go.id",
            ),
            make_raw("BEBEJA jembatan putus di Cibaliung, anak sekolah memutar jauh"),
            make_raw("halo apa kabar, pulsa saya hilang"),
            make_raw("AGAM"),
        ]:
            await intake.submit(raw)
        spam = await intake.submit(make_raw("menang undian, hubungi nomor ini"))
        await dismiss(store, spam.inbound_id, "Penipuan undian", by="admin")
    finally:
        await store.close()


@pytest.fixture
async def walk_gateway(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[LiveGateway]:
    db = tmp_path / "lapor.db"
    shutil.copy(sqlite_template, db)
    config = write_config(tmp_path / "cfg", f"sqlite+aiosqlite:///{db}")
    await seed(config)
    log = tmp_path / "gateway.log"
    async with running_gateway(config, log):
        gw = LiveGateway(
            base_url=f"http://{load_settings(config).http.listen}", config=config, log=log
        )
        gw.add_operator("admin", PASSWORD, role="admin")
        gw.add_operator("penghubung.agam", PASSWORD, region="AGAM")
        yield gw


@dataclass
class Walk:
    gw: LiveGateway
    browser_page: Any
    axe: Axe = field(default_factory=Axe)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    async def new_page(self, viewport: dict[str, int]) -> Any:
        page = await self.browser_page(viewport=viewport)
        await page.add_init_script(WATCH)

        def console(m: Any) -> None:
            # A failed load is reported below with its address (a page's own status, such
            # as the form's 422 with the errors, is the page's answer, not a fault).
            if m.type == "error" and not m.text.startswith("Failed to load resource"):
                self.problems.append(f"{page.url}: console: {m.text}")

        def response(r: Any) -> None:
            if r.status >= 400 and r.request.resource_type != "document":
                self.problems.append(f"{page.url}: {r.url} answered {r.status}")

        page.on("console", console)
        page.on("response", response)
        page.on("pageerror", lambda e: self.problems.append(f"{page.url}: error: {e}"))
        return page

    async def check(self, page: Any, name: str, viewport: dict[str, int]) -> None:
        """The checks every page gets, then its screenshot."""
        where = f"{name} ({viewport['width']} px)"
        self.seen.append(where)
        if viewport is PHONE:
            width = await page.evaluate(
                "[document.scrollingElement.scrollWidth, window.innerWidth]"
            )
            if width[0] > width[1]:
                self.problems.append(f"{where}: scrolls sideways ({width[0]} > {width[1]} px)")
        self.problems += [f"{where}: {p}" for p in await page.evaluate("window.__problems")]
        results = await self.axe.run(page)
        for v in results.response["violations"]:
            targets = "; ".join(", ".join(n["target"]) for n in v["nodes"][:5])
            found = f"{where}: axe {v['id']} ({v['impact']}): {targets}"
            blocking = v["impact"] in BLOCKING or v["id"] in BLOCKING_RULES
            (self.problems if blocking else self.notes).append(found)
        size = "desktop" if viewport is DESKTOP else "phone"
        await page.screenshot(path=screenshot_path(f"walk-{name}-{size}"), full_page=True)

    async def visit(self, page: Any, path: str, name: str, viewport: dict[str, int]) -> None:
        response = await page.goto(self.gw.url(path), wait_until="load")
        if response.status != 200:
            self.problems.append(f"{name}: {path} answered {response.status}")
        await self.check(page, name, viewport)


async def sign_in(walk: Walk, page: Any, name: str, viewport: dict[str, int]) -> None:
    await page.goto(walk.gw.url("/ops/login"))
    if name == "admin":
        await walk.check(page, "login", viewport)
    await page.get_by_label("Nama pengguna").fill(name)
    await page.get_by_label("Kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await page.wait_for_url(walk.gw.url("/ops/"))


CONSOLE_PAGES = [
    ("/ops/", "log"),
    ("/ops/inbox", "inbox"),
    ("/ops/inbox?tampil=selesai", "inbox-handled"),
    ("/ops/complaints", "complaints"),
    ("/ops/complaints?q=jalan&status=failed&channel=sms&overdue=1", "complaints-filtered"),
    ("/ops/complaints/AGM-000001", "complaint-detail"),
    ("/ops/review", "review"),
    ("/ops/outbox", "outbox"),
    ("/ops/stats", "stats"),
    ("/ops/account", "own-account"),
]
ADMIN_PAGES = [
    ("/ops/province", "province"),
    ("/ops/accounts", "accounts"),
    ("/ops/accounts/penghubung.agam", "account-edit"),
]


async def walk_console(walk: Walk, name: str, viewport: dict[str, int]) -> None:
    page = await walk.new_page(viewport)
    await sign_in(walk, page, name, viewport)
    who = "admin" if name == "admin" else "operator"
    pages = CONSOLE_PAGES + (ADMIN_PAGES if who == "admin" else [])
    for path, label in pages:
        await walk.visit(page, path, f"{who}-{label}", viewport)
    if who == "admin":
        # The TOTP enrolment step: QR code, key and confirm form (not confirmed here).
        await page.goto(walk.gw.url("/ops/account"))
        await page.get_by_role("button", name="Siapkan verifikasi dua langkah").click()
        await page.get_by_text("Pindai kode QR").first.wait_for()
        await walk.check(page, "admin-totp-enrol", viewport)


async def walk_citizen(walk: Walk, viewport: dict[str, int]) -> None:
    page = await walk.new_page(viewport)
    await walk.visit(page, "/", "citizen-form", viewport)
    await page.fill("#text", "Jalan")
    await page.fill("#phone", "0812-345")
    await page.click("button[type=submit] >> text=Kirim Aduan")
    await page.locator("[role=alert]").wait_for()
    await walk.check(page, "citizen-error", viewport)
    await page.select_option("#region", "AGAM")
    await page.fill("#phone", "")
    await page.fill("#text", "Saluran air tersumbat di depan SDN 3 Lubuk Basung")
    await page.click("button[type=submit] >> text=Kirim Aduan")
    await page.wait_for_selector("text=Nomor tiket")
    await walk.check(page, "citizen-thanks", viewport)
    await page.get_by_role("link", name="Lihat status").click()
    await page.wait_for_load_state()
    await walk.check(page, "citizen-status", viewport)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_every_page_at_both_widths(walk_gateway, browser_page, viewport) -> None:
    walk = Walk(walk_gateway, browser_page)
    await walk_citizen(walk, viewport)
    for name in ("admin", "penghubung.agam"):
        await walk_console(walk, name, viewport)
    # citizen: form, error, thanks, status; the login page; each console page per account
    expected = 4 + 1 + len(CONSOLE_PAGES) + len(ADMIN_PAGES) + 1 + len(CONSOLE_PAGES)
    assert len(walk.seen) == expected, walk.seen
    size = "desktop" if viewport is DESKTOP else "phone"
    notes = screenshot_path(f"walk-axe-notes-{size}").with_suffix(".txt")
    notes.write_text("\n".join(walk.notes) + "\n", encoding="utf-8")
    assert not walk.problems, "\n".join(walk.problems)
