"""Status sync against a real sandbox LAPOR, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import update

from gateway.outbox import OutboxWorker
from gateway.runtime import Runtime
from gateway.status_sync import StatusSync
from gateway.store.models import Complaint
from tests.lapor.sandbox_fixture import RunningSandbox, start_sandbox
from tests.outbox.support import complaint, drain, events_of, outbox_rows, point_at
from tests.support import make_raw

SENDER = "+6281234567890"


async def forwarded(rt: Runtime, text: str = "AGAM lampu jalan mati di Jorong Pasar") -> Complaint:
    """A complaint taken in and forwarded to the sandbox by the real outbox worker."""
    result = await rt.intake.submit(make_raw(text, sender=SENDER))
    worker = OutboxWorker(rt)
    await drain(worker)
    await worker.client.close()
    c = await complaint(rt, result.complaint_id)
    assert c.status == "forwarded" and c.lapor_tracking_id
    return c


async def move(sandbox: RunningSandbox, tracking_id: str, status: str) -> None:
    """What a LAPOR operator does, through the sandbox's own control route."""
    async with aiohttp.ClientSession() as http:
        url = f"{sandbox.url}/sandbox/reports/{tracking_id}/status"
        async with http.post(url, json={"status": status}) as resp:
            assert resp.status == 200, await resp.text()


async def resolved_replies(rt: Runtime) -> list[str]:
    return [
        r.payload["text"]
        for r in await outbox_rows(rt, "reply")
        if r.payload["purpose"] == "resolved"
    ]


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)


async def test_each_change_is_an_event_and_resolution_closes_and_replies_once(
    runtime: Runtime, sandbox: RunningSandbox
) -> None:
    point_at(runtime, sandbox.url)
    c = await forwarded(runtime)
    sync = StatusSync(runtime)

    first = await sync.poll_once()  # LAPOR's first status of a new report
    assert (first.checked, first.changed, first.closed) == (1, 1, 0)
    await move(sandbox, c.lapor_tracking_id, "ditindaklanjuti")
    second = await sync.poll_once()
    assert (second.checked, second.changed) == (1, 1)
    assert (await sync.poll_once()).changed == 0  # unchanged on LAPOR: nothing recorded

    now = await complaint(runtime, c.id)
    assert (now.status, now.lapor_status) == ("forwarded", "ditindaklanjuti")
    assert await resolved_replies(runtime) == []

    await move(sandbox, c.lapor_tracking_id, "selesai")
    # Two instances seeing the resolution at once: one stores it, the other finds it done.
    other = StatusSync(runtime)
    both = await asyncio.gather(sync.poll_once(), other.poll_once())
    assert [r.error for r in both] == [None, None]
    assert sum(r.changed for r in both) == 1 and sum(r.closed for r in both) == 1
    for _ in range(3):
        assert (await sync.poll_once()).checked == 0  # closed: no longer asked about
    await sync.client.close()
    await other.client.close()

    now = await complaint(runtime, c.id)
    assert (now.status, now.lapor_status) == ("closed", "selesai")
    texts = await resolved_replies(runtime)
    assert len(texts) == 1 and c.tracking_ref in texts[0]
    status_events = await events_of(runtime, "status")
    assert [(e["outcome"], e["detail"]["previous"]) for e in status_events] == [
        ("diterima", None),
        ("ditindaklanjuti", "diterima"),
        ("selesai", "ditindaklanjuti"),
    ]
    assert {(e["complaint_id"], e["region"]) for e in status_events} == {(c.id, "AGAM")}
    assert status_events[-1]["detail"] == {
        "lapor_tracking_id": c.lapor_tracking_id,
        "previous": "ditindaklanjuti",
        "closed": True,
    }
    logged = json.dumps(status_events)
    assert SENDER not in logged and "lampu jalan" not in logged
    assert runtime.health.components["status-sync"].ok


async def test_no_reply_when_notify_on_resolved_is_off(
    runtime: Runtime, sandbox: RunningSandbox
) -> None:
    point_at(runtime, sandbox.url, notify_on_resolved=False, resolved_statuses=("Selesai",))
    c = await forwarded(runtime)
    await move(sandbox, c.lapor_tracking_id, "selesai")
    sync = StatusSync(runtime)
    assert (await sync.poll_once()).closed == 1  # resolved_statuses match ignoring case
    await sync.client.close()
    assert (await complaint(runtime, c.id)).status == "closed"
    assert await resolved_replies(runtime) == []
    assert [e["outcome"] for e in await events_of(runtime, "status")] == ["selesai"]


async def test_a_report_lapor_does_not_know_does_not_stop_the_others(
    runtime: Runtime, sandbox: RunningSandbox
) -> None:
    point_at(runtime, sandbox.url, status_sync_batch=1)  # also pages through batches
    lost = await forwarded(runtime, "AGAM jembatan putus di Nagari Koto Malintang")
    kept = await forwarded(runtime, "AGAM sampah menumpuk di Pasar Maninjau")
    async with runtime.store.transaction() as session:
        await session.execute(
            update(Complaint).where(Complaint.id == lost.id).values(lapor_tracking_id="9999999")
        )
    sync = StatusSync(runtime)
    result = await sync.poll_once()
    await sync.client.close()
    assert result.checked == 1 and list(result.refused) == ["9999999"]
    assert (await complaint(runtime, kept.id)).lapor_status == "diterima"
    health = runtime.health.components["status-sync"]
    assert not health.ok and "9999999" in health.detail and "HTTP 404" in health.detail


async def test_status_calls_are_paced_and_stop_ends_the_wait(
    runtime: Runtime, sandbox: RunningSandbox
) -> None:
    """At most status_sync_max_per_s calls a second, across batches; a stop during the
    wait between two calls ends the pass at once instead of asking the rest."""
    point_at(runtime, sandbox.url, status_sync_max_per_s=20.0, status_sync_batch=2)
    for i in range(5):
        await forwarded(runtime, f"AGAM lampu jalan mati di jorong nomor {i} sejak {i * 7} hari")
    sync = StatusSync(runtime)
    started = time.monotonic()
    result = await sync.poll_once()
    assert result.checked == 5
    assert time.monotonic() - started >= 4 / 20.0  # four gaps of 50 ms between five calls

    point_at(runtime, sandbox.url, status_sync_max_per_s=0.5)  # one call, then a 2 s wait
    slow = StatusSync(runtime)
    task = asyncio.create_task(slow.poll_once())
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await slow.stop()
    assert (await task).checked == 1
    assert time.monotonic() - started < 1.0
    await sync.client.close()


async def serve(sandbox: RunningSandbox, port: int) -> web.AppRunner:
    """(Re)start a sandbox's state on a fixed port, as LAPOR coming back after an outage."""
    runner = web.AppRunner(sandbox.lapor.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def test_lapor_down_makes_it_unhealthy_then_the_next_poll_recovers(
    runtime: Runtime,
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sandbox, runner = await start_sandbox(port)
    point_at(runtime, sandbox.url, status_sync_interval_s=0.05)
    c = await forwarded(runtime)
    await move(sandbox, c.lapor_tracking_id, "selesai")
    health = runtime.health.components

    sandbox.fail(status=502, answer="html")  # a proxy's error page instead of LAPOR
    sync = StatusSync(runtime)
    await sync.start()
    try:
        await wait_for(lambda: "status-sync" in health and not health["status-sync"].ok)
        assert "HTTP 502" in health["status-sync"].detail

        await runner.cleanup()  # LAPOR gone: connections refused
        await wait_for(lambda: "cannot connect" in health["status-sync"].detail)
        assert sync._task is not None and not sync._task.done()  # the loop lives on
        assert await events_of(runtime, "status") == []
        assert (await complaint(runtime, c.id)).status == "forwarded"

        sandbox.fail()  # back, and healthy
        runner = await serve(sandbox, port)
        await wait_for(lambda: health["status-sync"].ok)
    finally:
        started = time.monotonic()
        await sync.stop()
        assert time.monotonic() - started < 2.0  # graceful and prompt
        await runner.cleanup()
    assert (await complaint(runtime, c.id)).status == "closed"
    assert [e["outcome"] for e in await events_of(runtime, "status")] == ["selesai"]
    assert len(await resolved_replies(runtime)) == 1


async def test_adapters_without_a_status_call_leave_it_idle(
    runtime: Runtime, sandbox: RunningSandbox
) -> None:
    point_at(runtime, sandbox.url)
    await forwarded(runtime)
    before = sandbox.lapor.counters["requests"]
    for changes in ({"mode": "xml"}, {"mode": "http", "status_path": ""}):
        point_at(runtime, sandbox.url, status_sync_interval_s=0.01, **changes)
        sync = StatusSync(runtime)
        await sync.start()
        await asyncio.sleep(0.1)
        await sync.stop()
        health = runtime.health.components["status-sync"]
        assert health.ok and health.detail.startswith("idle:")
        assert changes["mode"] in health.detail
    assert sandbox.lapor.counters["requests"] == before
    assert await events_of(runtime, "status") == []


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_one_instance_polls_the_other_stands_by_and_stops_at_once(
    runtime: Runtime, sandbox: RunningSandbox
) -> None:
    point_at(runtime, sandbox.url, status_sync_interval_s=0.05)
    c = await forwarded(runtime)
    second = Runtime(settings=runtime.settings, store=runtime.store, intake=runtime.intake)
    leader, follower = StatusSync(runtime), StatusSync(second)
    await leader.start()
    polling = runtime.health.components
    await wait_for(
        lambda: "status-sync" in polling and polling["status-sync"].detail[:7] == "polling"
    )
    await follower.start()
    await move(sandbox, c.lapor_tracking_id, "selesai")
    deadline = time.monotonic() + 5
    while (await complaint(runtime, c.id)).status != "closed":
        assert time.monotonic() < deadline, "the leader did not close the complaint"
        await asyncio.sleep(0.05)
    standby = second.health.components["status-sync"]
    assert standby.ok and standby.detail.startswith("standby")

    started = time.monotonic()
    await follower.stop()  # waiting for the lock: nothing to finish
    await leader.stop()
    assert time.monotonic() - started < 1.0
    assert len(await resolved_replies(runtime)) == 1


async def test_a_restarted_sandbox_with_its_reports_file_still_knows_every_report(
    runtime: Runtime, tmp_path
) -> None:
    """`make run` twice: the second sandbox reads the first one's reports back, so the status
    sync finds every forwarded complaint and stays healthy (in memory it would answer 404)."""
    reports = tmp_path / "sandbox-lapor.jsonl"
    sandbox, runner = await start_sandbox(reports_file=reports)
    point_at(runtime, sandbox.url)
    c = await forwarded(runtime)
    await move(sandbox, c.lapor_tracking_id, "diverifikasi")
    await runner.cleanup()

    again, runner = await start_sandbox(reports_file=reports)
    try:
        point_at(runtime, again.url)
        sync = StatusSync(runtime)
        result = await sync.poll_once()
        await sync.client.close()
    finally:
        await runner.cleanup()
    assert result.refused == {} and result.checked == 1
    assert runtime.health.components["status-sync"].ok
    assert (await complaint(runtime, c.id)).lapor_status == "diverifikasi"
