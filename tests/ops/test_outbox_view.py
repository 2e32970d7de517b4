"""The console's outbox view against a real sandbox LAPOR: failed rows in words, retry, and
the "LAPOR id unknown to LAPOR" report that keeps status sync unhealthy — close / re-send."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from gateway.outbox import OutboxWorker
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.status_sync import StatusSync
from gateway.store.db import Store
from gateway.store.models import Complaint, OutboxItem
from tests.lapor.sandbox_fixture import RunningSandbox, sandbox  # noqa: F401
from tests.ops.workbench_support import csrf, login, open_console
from tests.outbox.support import complaint, drain, events_of, point_at
from tests.support import make_raw


@pytest.fixture
async def console(settings: Settings, store: Store) -> AsyncIterator[tuple[TestClient, Runtime]]:
    async with open_console(settings, store) as opened:
        yield opened


async def forward_all(rt: Runtime) -> None:
    worker = OutboxWorker(rt)
    await drain(worker)
    await worker.client.close()


async def poll(rt: Runtime) -> None:
    sync = StatusSync(rt)
    await sync.poll_once()
    await sync.client.close()


async def test_failed_rows_in_words_and_retry(console: tuple[TestClient, Runtime]) -> None:
    client, rt = console
    agam = await rt.intake.submit(make_raw("AGAM jembatan putus di Koto Malintang"))
    sby = await rt.intake.submit(make_raw("SBY banjir di Jl. Ahmad Yani"))
    async with rt.store.transaction() as s:
        await s.execute(
            update(OutboxItem)
            .where(OutboxItem.kind == "forward")
            .values(status="dead", attempts=8, last_error="HTTP 503: layanan sibuk")
        )
        await s.execute(
            update(Complaint)
            .where(Complaint.id.in_((agam.complaint_id, sby.complaint_id)))
            .values(status="failed")
        )
    await login(client, "agam")
    page = html.unescape(await (await client.get("/ops/outbox")).text())
    assert "Server LAPOR! sedang bermasalah (galat 5xx)" in page and "HTTP 503" in page
    assert "AGM-000001" in page and "SBY-000001" not in page
    async with rt.store.reader() as s:
        forwards = await s.scalars(select(OutboxItem).where(OutboxItem.kind == "forward"))
        rows = {r.complaint_id: r.id for r in forwards}
    token = await csrf(client)
    # Another region's row is not this operator's to retry.
    resp = await client.post(
        f"/ops/outbox/{rows[sby.complaint_id]}/retry", data={"csrf": token}, allow_redirects=False
    )
    assert resp.status == 404
    resp = await client.post(f"/ops/outbox/{rows[agam.complaint_id]}/retry", data={"csrf": token})
    assert "diantrekan lagi" in await resp.text()
    assert (await complaint(rt, agam.complaint_id)).status == "queued"
    # Twice: the row is pending now, there is nothing dead to retry.
    resp = await client.post(
        f"/ops/outbox/{rows[agam.complaint_id]}/retry", data={"csrf": token}, allow_redirects=False
    )
    assert resp.status == 303
    resp = await client.post("/ops/outbox/999999/retry", data={"csrf": token})
    assert resp.status == 404


async def test_unknown_lapor_id_can_be_resent_or_closed(
    console: tuple[TestClient, Runtime],
    sandbox: RunningSandbox,  # noqa: F811
) -> None:
    client, rt = console
    point_at(rt, sandbox.url)
    lost = await rt.intake.submit(make_raw("AGAM jembatan putus di Koto Malintang"))
    gone = await rt.intake.submit(make_raw("AGAM sampah menumpuk di Pasar Maninjau"))
    await forward_all(rt)
    real_id = (await complaint(rt, lost.complaint_id)).lapor_tracking_id
    async with rt.store.transaction() as s:
        for cid, fake in ((lost.complaint_id, "9999998"), (gone.complaint_id, "9999999")):
            await s.execute(
                update(Complaint).where(Complaint.id == cid).values(lapor_tracking_id=fake)
            )
    await poll(rt)
    await poll(rt)  # the refusal is recorded once, not on every pass
    assert not rt.health.components["status-sync"].ok
    assert (await complaint(rt, lost.complaint_id)).lapor_sync_error.startswith("HTTP 404")
    assert [e["outcome"] for e in await events_of(rt, "status")] == ["refused", "refused"]

    await login(client, "agam")
    page = html.unescape(await (await client.get("/ops/outbox")).text())
    assert "9999998" in page and "9999999" in page
    assert "LAPOR! tidak mengenal laporan" in page
    token = await csrf(client)
    resp = await client.post(
        "/ops/outbox/unknown/AGM-000001", data={"csrf": token, "action": "resend"}
    )
    assert "diantrekan untuk dikirim ulang" in await resp.text()
    resp = await client.post(
        "/ops/outbox/unknown/AGM-000002", data={"csrf": token, "action": "close", "reason": ""}
    )
    assert "wajib diisi" in await resp.text()
    resp = await client.post(
        "/ops/outbox/unknown/AGM-000002",
        data={"csrf": token, "action": "close", "reason": "Sudah ditangani dinas langsung"},
    )
    assert "AGM-000002 ditutup" in await resp.text()
    again = await client.post(
        "/ops/outbox/unknown/AGM-000002", data={"csrf": token, "action": "close", "reason": "x"}
    )
    assert "tidak ada yang diubah" in await again.text()

    closed = await complaint(rt, gone.complaint_id)
    assert closed.status == "closed" and closed.status_reason == "Sudah ditangani dinas langsung"
    # Re-sent with the same idempotency key: the sandbox answers the report it does know.
    await forward_all(rt)
    resent = await complaint(rt, lost.complaint_id)
    assert resent.status == "forwarded" and resent.lapor_tracking_id == real_id
    assert resent.lapor_sync_error is None
    await poll(rt)
    assert rt.health.components["status-sync"].ok
    page = html.unescape(await (await client.get("/ops/complaints/AGM-000001")).text())
    assert "Dikirim ulang ke LAPOR! oleh agam: no. lacak 9999998 tidak dikenal LAPOR!" in page
    assert "LAPOR! tidak memberi status laporan ini" in page
