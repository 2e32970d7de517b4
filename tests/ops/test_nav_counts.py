"""The menu's counts (waiting for review, unhandled inbox) on every console page and at
/ops/counts, per operator's scope; and the console's scripts: static files only (CSP)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.models import Complaint
from tests.ops.workbench_support import csrf, login, open_console
from tests.support import make_raw

PAGES = [
    "/ops/",
    "/ops/review",
    "/ops/inbox",
    "/ops/complaints",
    "/ops/complaints/AGM-000001",
    "/ops/stats",
    "/ops/province",
    "/ops/reports",
    "/ops/outbox",
]


@pytest.fixture
async def console(settings: Settings, store: Store) -> AsyncIterator[tuple[TestClient, Runtime]]:
    async with open_console(settings, store) as opened:
        yield opened


def badges(page: str) -> dict[str, str]:
    found = re.findall(r'data-count="(\w+)"( hidden)?>(\d+)<', page)
    return {name: "" if hidden else n for name, hidden, n in found}


async def test_counts_follow_the_work_in_scope(console: tuple[TestClient, Runtime]) -> None:
    client, rt = console
    await rt.intake.submit(make_raw("AGAM jalan rusak"))
    await rt.intake.submit(make_raw("PANDEGLANG jembatan putus"))  # PDG reviews first
    await rt.intake.submit(make_raw("XYZ tidak ada kata kunci"))  # unrouted
    await login(client, "agam")
    page = await (await client.get("/ops/complaints")).text()
    assert badges(page) == {"review": "", "inbox": ""}  # nothing of AGAM waits: hidden
    assert (await (await client.get("/ops/counts")).json()) == {"review": 0, "inbox": 0}

    async with rt.store.transaction() as s:
        await s.execute(
            update(Complaint)
            .where(Complaint.tracking_ref == "AGM-000001")
            .values(status="pending_review")
        )
    page = await (await client.get("/ops/complaints")).text()
    assert badges(page) == {"review": "1", "inbox": ""}
    assert (await (await client.get("/ops/counts")).json()) == {"review": 1, "inbox": 0}

    await login(client, "admin")
    page = await (await client.get("/ops/stats")).text()
    assert badges(page) == {"review": "2", "inbox": "1"}
    # Dismissing the unrouted message takes it off the count.
    inbox = await (await client.get("/ops/inbox")).text()
    inbound_id = re.search(r'action="/ops/inbox/(\d+)/dismiss"', inbox).group(1)
    token = await csrf(client)
    await client.post(f"/ops/inbox/{inbound_id}/dismiss", data={"csrf": token, "reason": "iklan"})
    assert (await (await client.get("/ops/counts")).json()) == {"review": 2, "inbox": 0}

    client.session.cookie_jar.clear()
    resp = await client.get("/ops/counts", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/ops/login"


async def test_console_scripts_are_static_files_under_csp(
    console: tuple[TestClient, Runtime],
) -> None:
    client, rt = console
    await rt.intake.submit(make_raw("AGAM jalan rusak"))
    await login(client, "admin")
    for path in PAGES:
        resp = await client.get(path)
        assert resp.status == 200, path
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        page = await resp.text()
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
        assert scripts, path  # at least the menu's counts
        for attrs, body in scripts:
            assert re.search(r'src="/ops/static/[a-z_]+\.js"', attrs) and not body.strip(), path
    for name in ("nav_counts.js", "live_log.js"):
        resp = await client.get(f"/ops/static/{name}")
        assert resp.status == 200 and "javascript" in resp.headers["Content-Type"]
        assert "{{" not in await resp.text()  # no template left in a static file
    assert (await client.get("/ops/static/../views.py")).status in (403, 404)
