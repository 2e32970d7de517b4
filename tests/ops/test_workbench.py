"""The workbench pages over a real socket, SQLite and PostgreSQL: complaint detail and
notes, search / filters / keyset pages, overdue marks, scope and masking."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.models import Complaint, ComplaintNote
from normalizer.types import Channel
from tests.ops.workbench_support import csrf, login, open_console
from tests.support import make_raw

LONG_AGO = datetime.now(UTC) - timedelta(days=40)


@pytest.fixture
async def console(settings: Settings, store: Store) -> AsyncIterator[tuple[TestClient, Runtime]]:
    async with open_console(settings, store) as opened:
        yield opened


async def test_detail_shows_everything_and_keeps_notes(
    console: tuple[TestClient, Runtime],
) -> None:
    client, rt = console
    await rt.intake.submit(make_raw("AGAM jalan rusak di Lubuk Basung", sender="081234567890"))
    # The same reporter, near-same text: linked as a possible duplicate.
    await rt.intake.submit(make_raw("AGAM jalan rusak di Lubuk Basung!", sender="081234567890"))
    await rt.intake.submit(make_raw("SBY banjir di Jl. Ahmad Yani"))
    await login(client, "agam")
    resp = await client.get("/ops/complaints/agm-000001")
    page = await resp.text()
    assert resp.status == 200
    assert "jalan rusak di Lubuk Basung" in page and "Kabupaten Agam" in page
    assert "+6281234567890" in page  # the region's own operator sees the reporter
    assert "Diterima lewat SMS" in page and "Batas verifikasi" in page
    assert "AGM-000002" in page  # the duplicate, linked from the original
    page2 = await (await client.get("/ops/complaints/AGM-000002")).text()
    assert 'href="/ops/complaints/AGM-000001"' in page2

    token = await csrf(client)
    resp = await client.post(
        "/ops/complaints/AGM-000001/notes",
        data={"csrf": token, "text": "Sudah ditelepon, pelapor minta foto disusulkan."},
    )
    assert resp.status == 200 and "Catatan disimpan." in await resp.text()
    for bad, said in (("   ", "Catatan kosong."), ("x" * 4001, "Catatan terlalu panjang")):
        resp = await client.post(
            "/ops/complaints/AGM-000001/notes", data={"csrf": token, "text": bad}
        )
        assert said in await resp.text()
    resp = await client.post(
        "/ops/complaints/AGM-000001/notes", data={"text": "tanpa csrf"}, allow_redirects=False
    )
    assert resp.status == 403
    async with rt.store.reader() as s:
        notes = (await s.scalars(select(ComplaintNote))).all()
    assert [(n.author, n.text[:12]) for n in notes] == [("agam", "Sudah ditele")]
    page = await (await client.get("/ops/complaints/AGM-000001")).text()
    assert "Catatan agam:" in page and "foto disusulkan" in page

    # Another region's complaint does not exist for this operator, nor does a bad number.
    assert (await client.get("/ops/complaints/SBY-000001")).status == 404
    assert (await client.get("/ops/complaints/NOPE-1")).status == 404
    resp = await client.post("/ops/complaints/SBY-000001/notes", data={"csrf": token, "text": "x"})
    assert resp.status == 404

    await login(client, "admin")
    page = await (await client.get("/ops/complaints/AGM-000001")).text()
    assert "+6281234567890" not in page and "+62812*****890" in page
    assert (await client.get("/ops/complaints/SBY-000001")).status == 200


async def test_search_filters_and_keyset_pages(console: tuple[TestClient, Runtime]) -> None:
    client, rt = console
    base = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
    for i in range(60):
        await rt.intake.submit(
            make_raw(
                f"AGAM laporan nomor {i:02d} tentang {'sampah' if i % 2 else 'jalan'}",
                received_at=base + timedelta(hours=i),
                sender=f"+62812000{i:05d}",
            )
        )
    await rt.intake.submit(
        make_raw(
            "Lampu jalan padam",
            channel=Channel.EMAIL,
            sender="warga@example.com",
            recipient="aduan@agamkab.go.id",
            received_at=base,
        )
    )
    await login(client, "agam")
    page = await (await client.get("/ops/complaints")).text()
    refs = re.findall(r'href="/ops/complaints/(AGM-\d+)"', page)
    assert len(refs) == 50 and refs[0] == "AGM-000060"  # newest first
    next_url = re.search(r'href="(\?[^"]*page=[^"]+)" rel="next"', page).group(1)
    page2 = await (await client.get("/ops/complaints" + next_url.replace("&amp;", "&"))).text()
    refs2 = re.findall(r'href="/ops/complaints/(AGM-\d+)"', page2)
    assert len(refs2) == 11 and not set(refs) & set(refs2)
    assert 'rel="next"' not in page2 and "Halaman pertama" in page2

    # Free text, case-insensitive; the filters survive into the next page's link.
    page = await (await client.get("/ops/complaints?q=SAMPAH&sort=terlama")).text()
    refs = re.findall(r'href="/ops/complaints/(AGM-\d+)"', page)
    assert len(refs) == 30 and refs[0] == "AGM-000002"
    page = await (await client.get("/ops/complaints?q=agm-000007")).text()
    assert re.findall(r'href="/ops/complaints/(AGM-\d+)"', page) == ["AGM-000007"]
    page = await (await client.get("/ops/complaints?channel=email")).text()
    assert re.findall(r'href="/ops/complaints/(AGM-\d+)"', page) == ["AGM-000061"]
    # Dates are days in the gateway's zone (WIB): 2 Nov 03:00 UTC + 20 h is 3 Nov 06:00 WIB.
    page = await (await client.get("/ops/complaints?from=2026-11-03&to=2026-11-03")).text()
    refs = re.findall(r'href="/ops/complaints/(AGM-\d+)"', page)
    assert len(refs) == 24
    # A search that should match nothing (LIKE wildcards are literal).
    page = await (await client.get("/ops/complaints?q=%25_%25")).text()
    assert "Tidak ada aduan yang cocok" in page

    resp = await client.get("/ops/complaints?from=03-11-2026&status=bogus&page=zzz")
    page = await resp.text()
    assert resp.status == 400
    assert "TTTT-BB-HH" in page and "Status “bogus” tidak dikenal" in page
    assert "Tautan halaman tidak sah" in page


async def test_overdue_is_marked_counted_and_filtered(
    console: tuple[TestClient, Runtime],
) -> None:
    client, rt = console
    await rt.intake.submit(make_raw("AGAM jalan rusak sejak lama", received_at=LONG_AGO))
    await rt.intake.submit(make_raw("AGAM lampu mati kemarin"))
    await rt.intake.submit(make_raw("SBY banjir lama sekali", received_at=LONG_AGO))
    async with rt.store.transaction() as s:
        await s.execute(
            update(Complaint).where(Complaint.tracking_ref == "AGM-000002").values(status="closed")
        )
    await login(client, "agam")
    page = await (await client.get("/ops/complaints")).text()
    assert "1 aduan terlambat" in page  # SBY's overdue one is not this operator's
    row = re.search(r'<tr class="terlambat">\s*<td[^>]*><a href="/ops/complaints/([^"]+)"', page)
    assert row.group(1) == "AGM-000001"
    page = await (await client.get("/ops/complaints?overdue=1")).text()
    assert re.findall(r'href="/ops/complaints/(AGM-\d+)"', page) == ["AGM-000001"]
    await login(client, "admin")
    page = await (await client.get("/ops/complaints?overdue=1")).text()
    assert "2 aduan terlambat" in page
    assert set(re.findall(r'href="/ops/complaints/([A-Z]+-\d+)"', page)) == {
        "AGM-000001",
        "SBY-000001",
    }
    page = await (await client.get("/ops/complaints?region=SBY")).text()
    assert set(re.findall(r'href="/ops/complaints/([A-Z]+-\d+)"', page)) == {"SBY-000001"}
    # parse_qs keeps the bookmark readable: filters are plain query parameters.
    link = re.search(r'href="(\?overdue=1)"', page).group(1)
    assert parse_qs(urlsplit(link).query) == {"overdue": ["1"]}


async def test_stats_charts_and_province_table(console: tuple[TestClient, Runtime]) -> None:
    client, rt = console
    await rt.intake.submit(make_raw("AGAM jalan rusak parah"))
    await rt.intake.submit(make_raw("AGAM lampu jalan mati", channel=Channel.WEB, sender="web"))
    await rt.intake.submit(make_raw("SBY banjir lagi"))
    await rt.intake.submit(make_raw("XYZ tidak ada kata kunci"))
    await rt.intake.submit(make_raw("AGAM sudah lama", received_at=LONG_AGO))
    await login(client, "agam")
    page = await (await client.get("/ops/stats")).text()
    assert page.count("<svg") == 5 and "cdn" not in page.lower()
    # Charts are drawn by the server: the only script is the menu's counts.
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/ops/static/nav_counts.js" defer>']
    for title in ("Aduan per hari menurut kanal", "Sebaran status aduan", "Kepatuhan SLA"):
        assert title in page
    assert (
        "Diterima" in page
        and "Antre ke LAPOR!" in page
        and "accepted" not in page.split("<main>")[1].replace('class="accepted"', "")
    )
    assert "SBY" not in page.split("<main>")[1]  # an operator's charts are their region's
    assert (await client.get("/ops/province")).status == 403
    resp = await client.get("/ops/stats?from=2026-13-01")
    assert resp.status == 400 and "TTTT-BB-HH" in await resp.text()

    await login(client, "admin")
    page = await (await client.get("/ops/province?sort=received&dir=turun")).text()
    names = re.findall(r'<a href="/ops/complaints\?region=([A-Z]+)&amp;from=', page)
    assert names == ["AGAM", "SBY", "PDG"]  # most received first; every region listed
    assert 'aria-sort="descending"' in page and "Pantauan provinsi" in page
    assert "overdue=1" not in page  # the old one is outside the default 30 days
    since = (LONG_AGO - timedelta(days=1)).date().isoformat()
    page = await (await client.get(f"/ops/province?from={since}")).text()
    assert "region=AGAM&amp;overdue=1" in page
    resp = await client.get("/ops/province?sort=bogus")
    assert resp.status == 400 and "Urutan “bogus” tidak dikenal" in await resp.text()
