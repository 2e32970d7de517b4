"""The unrouted/rejected inbox over a real socket (issue 11 items 3 and 5)."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from gateway.queries import intake_stats
from gateway.runtime import Runtime
from gateway.store.models import Event, InboundMessage
from normalizer.types import Channel
from tests.ops.conftest import csrf, login
from tests.support import make_raw

Console = tuple[TestClient, Runtime]


def rows(page: str) -> list[str]:
    return re.findall(r"<tr><td data-label=\"No.\">#(\d+)</td>", page)


async def test_a_message_made_a_complaint_leaves_the_inbox_and_keeps_its_history(
    console: Console,
) -> None:
    client, rt = console
    result = await rt.intake.submit(make_raw("PADANG jalan rusak di Lubuk Basung"))
    await login(client, "admin")
    assert rows(await (await client.get("/ops/inbox")).text()) == [str(result.inbound_id)]
    resp = await client.post(
        f"/ops/inbox/{result.inbound_id}/assign",
        data={"csrf": await csrf(client), "region": "AGAM"},
    )
    page = await resp.text()
    assert "dijadikan aduan AGM-000001" in page and rows(page) == []
    history = await (await client.get("/ops/inbox?tampil=selesai")).text()
    assert rows(history) == [str(result.inbound_id)]
    assert "Dijadikan aduan AGM-000001" in history and "oleh admin" in history

    # Not in the target region's inbox either, and no longer counted unrouted.
    client.session.cookie_jar.clear()
    await login(client, "agam")
    assert rows(await (await client.get("/ops/inbox")).text()) == []
    async with rt.store.reader() as session:
        stats = await intake_stats(session)
    outcomes = {r["outcome"]: r["count"] for r in stats["all"]}
    assert outcomes == {"assigned": 1}


async def test_dismiss_as_spam_needs_a_reason_and_is_kept(console: Console) -> None:
    client, rt = console
    spam = await rt.intake.submit(make_raw("MENANG UNDIAN hubungi kami sekarang"))
    await login(client, "admin")
    token = await csrf(client)
    resp = await client.post(f"/ops/inbox/{spam.inbound_id}/dismiss", data={"csrf": token})
    assert "Alasan membuang pesan wajib diisi." in await resp.text()
    resp = await client.post(
        f"/ops/inbox/{spam.inbound_id}/dismiss", data={"csrf": token, "reason": "penipuan undian"}
    )
    page = await resp.text()
    assert "dibuang sebagai spam" in page and rows(page) == []
    history = await (await client.get("/ops/inbox?tampil=selesai")).text()
    assert "Dibuang sebagai spam: penipuan undian" in history
    # Twice, or made a complaint afterwards: refused with a reason.
    resp = await client.post(
        f"/ops/inbox/{spam.inbound_id}/dismiss", data={"csrf": token, "reason": "lagi"}
    )
    assert "sudah ditangani" in await resp.text()
    resp = await client.post(
        f"/ops/inbox/{spam.inbound_id}/assign", data={"csrf": token, "region": "AGAM"}
    )
    assert "sudah dibuang sebagai spam" in await resp.text()
    async with rt.store.reader() as session:
        (event,) = (await session.scalars(select(Event).where(Event.outcome == "dismissed"))).all()
        stats = await intake_stats(session)
    assert event.detail["by"] == "admin" and "undian" not in str(event.detail)
    assert {r["outcome"] for r in stats["all"]} == {"dismissed"}


async def test_the_inbox_pages_instead_of_hiding_older_messages(console: Console) -> None:
    client, rt = console
    ids = [
        (await rt.intake.submit(make_raw(f"TIDAKADA pesan nomor {i}"))).inbound_id
        for i in range(120)
    ]
    await login(client, "admin")
    page = await (await client.get("/ops/inbox")).text()
    seen = rows(page)
    assert "Belum ditangani (120)" in page
    while (older := re.search(r'href="/ops/inbox\?sebelum=(\d+)"', page)) is not None:
        page = await (await client.get(f"/ops/inbox?sebelum={older.group(1)}")).text()
        seen += rows(page)
    assert seen == [str(i) for i in reversed(ids)]  # every one, newest first, once


async def test_jadikan_aduan_only_where_it_can_succeed(console: Console) -> None:
    client, rt = console
    empty = await rt.intake.submit(make_raw("AGAM"))  # rejected: no text
    routable = await rt.intake.submit(make_raw("KOTAX jalan berlubang besar"))
    await login(client, "agam")
    page = await (await client.get("/ops/inbox")).text()
    assert rows(page) == [str(empty.inbound_id)]
    assert f"/ops/inbox/{empty.inbound_id}/assign" not in page
    assert "Tidak dapat dijadikan aduan: Isi pesan kosong" in page
    assert "empty_text" not in page  # words, not codes
    client.session.cookie_jar.clear()
    await login(client, "admin")
    page = await (await client.get("/ops/inbox")).text()
    assert f"/ops/inbox/{routable.inbound_id}/assign" in page
    assert "Kata kunci atau wilayah tidak dikenali" in page and ">unrouted<" not in page


async def test_a_spelled_out_phone_number_is_masked_in_the_inbox(console: Console) -> None:
    client, rt = console
    spellings = ["0812-3456-7890", "+62 812 3456 7890", "0812.3456.7890", "(0812) 34567890"]
    for i, sender in enumerate(spellings):
        await rt.intake.submit(make_raw(f"TIDAKADA pesan {i}", sender=sender))
    await rt.intake.submit(
        make_raw("", channel=Channel.EMAIL, sender="siti.aminah@example.com", recipient="x@y.id")
    )
    for name in ("admin", "agam"):
        client.session.cookie_jar.clear()
        await login(client, name)
        page = await (await client.get("/ops/inbox")).text()
        for sender in spellings:
            assert sender not in page
        for middle in ("34567890", "3456-7890", "3456 7890", "3456.7890"):
            assert middle not in page
    client.session.cookie_jar.clear()
    await login(client, "admin")
    page = await (await client.get("/ops/inbox")).text()
    assert page.count("+62812*****890") == len(spellings)
    assert "siti.aminah" not in page and "s***@example.com" in page
    async with rt.store.reader() as session:
        stored = (await session.scalars(select(InboundMessage.sender))).all()
    assert "0812-3456-7890" in stored  # the raw sender is kept, only the view is masked
