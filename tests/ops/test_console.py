"""The operator console over a real socket: sign-in, scope, masking, live log (SSE)."""

from __future__ import annotations

import asyncio
import json

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from gateway.runtime import Runtime
from gateway.store.models import Complaint
from normalizer.types import Channel, Reporter
from tests.ops.conftest import csrf, login
from tests.support import make_raw


async def test_pages_need_sign_in(console: tuple[TestClient, Runtime]) -> None:
    client, _ = console
    for path in (
        "/ops/",
        "/ops/inbox",
        "/ops/review",
        "/ops/complaints",
        "/ops/stats",
        "/ops/events/stream",
    ):
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == "/ops/login", path
    assert await login(client, "agam", "salah") == 401
    assert await login(client, "tidak-ada") == 401
    assert await login(client, "agam") == 303
    page = await (await client.get("/ops/")).text()
    assert "Log masuk (langsung)" in page and "MODE LATIHAN" in page


async def test_tampered_cookie_and_missing_csrf_are_refused(
    console: tuple[TestClient, Runtime],
) -> None:
    client, _ = console
    client.session.cookie_jar.update_cookies({"lapor_ops": "e30=.deadbeef"})
    resp = await client.get("/ops/", allow_redirects=False)
    assert resp.status == 303
    await login(client, "agam")
    resp = await client.post("/ops/logout", data={}, allow_redirects=False)
    assert resp.status == 403
    token = await csrf(client)
    resp = await client.post("/ops/logout", data={"csrf": token}, allow_redirects=False)
    assert resp.status == 303


async def test_operator_sees_own_region_with_identity_admin_sees_masked(
    console: tuple[TestClient, Runtime],
) -> None:
    client, rt = console
    await rt.intake.submit(make_raw("AGAM jalan rusak di Lubuk Basung", sender="081234567890"))
    await rt.intake.submit(make_raw("SBY banjir di Jl. Ahmad Yani", sender="081299990000"))
    await rt.intake.submit(make_raw("AGAM ANONIM pungli di kantor camat", sender="081277776666"))
    await login(client, "agam")
    page = await (await client.get("/ops/complaints")).text()
    assert "AGM-000001" in page and "SBY-000001" not in page
    assert "+6281234567890" in page  # the region's operator may call back
    assert "+6281277776666" not in page and "Dirahasiakan (anonim)" in page

    client.session.cookie_jar.clear()
    await login(client, "admin")
    page = await (await client.get("/ops/complaints")).text()
    assert "AGM-000001" in page and "SBY-000001" in page
    assert "+6281234567890" not in page and "+62812*****890" in page


async def test_inbox_shows_unrouted_masked(console: tuple[TestClient, Runtime]) -> None:
    client, rt = console
    await rt.intake.submit(make_raw("PADANG jalan rusak", sender="081211112222"))
    await rt.intake.submit(
        make_raw(
            "",
            channel=Channel.API,
            sender="api:x",
            recipient="AGAM",
            region_hint="AGAM",
            reporter=Reporter(phone="081233334444"),
        )
    )
    await login(client, "admin")
    page = await (await client.get("/ops/inbox")).text()
    assert "PADANG jalan rusak" in page and "Tak terarah" in page
    assert "081211112222" not in page and "+6281211112222" not in page
    assert "Jadikan aduan" in page


async def test_live_log_streams_new_events(console: tuple[TestClient, Runtime]) -> None:
    client, rt = console
    await rt.intake.submit(make_raw("SBY sebelum login", external_id="old"))
    await login(client, "agam")
    resp = await client.get("/ops/events/stream?after=0")
    assert resp.headers["Content-Type"] == "text/event-stream"

    async def next_event() -> dict:
        while True:
            line = await asyncio.wait_for(resp.content.readline(), 10)
            if line.startswith(b"data: "):
                return json.loads(line[6:])

    await rt.intake.submit(make_raw("SBY bukan wilayah operator ini", external_id="sby"))
    await rt.intake.submit(make_raw("AGAM lampu jalan mati", external_id="agam"))
    event = await next_event()
    assert event["region"] == "AGAM" and event["outcome"] == "accepted"
    assert event["ref"] == "AGM-000001"
    resp.close()


async def test_stats_page(console: tuple[TestClient, Runtime]) -> None:
    client, rt = console
    await rt.intake.submit(make_raw("AGAM jalan rusak parah"))
    await login(client, "agam")
    page = await (await client.get("/ops/stats")).text()
    assert "Hari ini" in page and "AGAM" in page


async def test_review_decisions_from_the_console(console: tuple[TestClient, Runtime]) -> None:
    client, rt = console
    held = await rt.intake.submit(make_raw("BEBEJA jembatan putus di Cibaliung"))
    wrong = await rt.intake.submit(make_raw("PANDEGLANG banjir di Surabaya kota"))
    await login(client, "admin")
    token = await csrf(client)
    page = await (await client.get("/ops/review")).text()
    assert "PDG-000001" in page and "PDG-000002" in page

    resp = await client.post(f"/ops/complaints/{held.complaint_id}/approve", data={"csrf": token})
    assert "disetujui" in await resp.text()
    resp = await client.post(f"/ops/complaints/{held.complaint_id}/approve", data={"csrf": token})
    assert "hanya aduan yang menunggu tinjauan" in await resp.text()  # the operator is told why
    resp = await client.post(
        f"/ops/complaints/{wrong.complaint_id}/assign", data={"csrf": token, "region": "SBY"}
    )
    assert "dialihkan ke wilayah SBY" in await resp.text()
    async with rt.store.reader() as s:
        statuses = {
            c.tracking_ref: (c.status, c.region_code)
            for c in (await s.scalars(select(Complaint))).all()
        }
    assert statuses == {"PDG-000001": ("queued", "PDG"), "PDG-000002": ("queued", "SBY")}


async def test_inbox_message_becomes_a_complaint(console: tuple[TestClient, Runtime]) -> None:
    client, rt = console
    result = await rt.intake.submit(make_raw("PADANG jalan rusak di Lubuk Basung"))
    await login(client, "agam")
    token = await csrf(client)
    # An unrouted message belongs to no region: only an admin may act on it.
    resp = await client.post(
        f"/ops/inbox/{result.inbound_id}/assign", data={"csrf": token, "region": "AGAM"}
    )
    assert resp.status == 404
    client.session.cookie_jar.clear()
    await login(client, "admin")
    token = await csrf(client)
    resp = await client.post(
        f"/ops/inbox/{result.inbound_id}/assign", data={"csrf": token, "region": "AGAM"}
    )
    assert "dijadikan aduan AGM-000001" in await resp.text()


async def test_operator_cannot_act_on_another_region(console: tuple[TestClient, Runtime]) -> None:
    client, rt = console
    other = await rt.intake.submit(make_raw("BEBEJA sampah di pasar Pandeglang"))
    await login(client, "agam")
    token = await csrf(client)
    resp = await client.post(f"/ops/complaints/{other.complaint_id}/approve", data={"csrf": token})
    assert resp.status == 404
