"""The review queue on SQLite and PostgreSQL: approve, reject, assign, and the CLI."""

from __future__ import annotations

import json

import pytest

from gateway.outbox import OutboxWorker, register
from gateway.review import ReviewError, approve, assign, reject
from gateway.runtime import Runtime
from tests.lapor.sandbox_fixture import RunningSandbox
from tests.outbox.support import complaint, drain, events_of, outbox_rows, point_at
from tests.support import make_raw, run_cli


async def test_review_holds_until_approved(runtime: Runtime, sandbox: RunningSandbox) -> None:
    point_at(runtime, sandbox.url)
    worker: OutboxWorker = register(runtime)
    result = await runtime.intake.submit(make_raw("PANDEGLANG jalan berlubang di Labuan"))
    assert result.reason == "pending_review"
    await drain(worker)
    assert sandbox.lapor.counters["reports"] == 0  # held for review

    decision = await approve(runtime.store, runtime.settings, result.tracking_ref)
    assert decision.status == "queued"
    with pytest.raises(ReviewError, match="hanya aduan yang menunggu tinjauan"):
        await approve(runtime.store, runtime.settings, result.tracking_ref)
    await drain(worker)
    await worker.client.close()
    assert (await complaint(runtime, result.complaint_id)).status == "forwarded"
    assert sandbox.lapor.counters["reports"] == 1
    assert [e["outcome"] for e in await events_of(runtime, "review")] == ["approved"]


async def test_reject_tells_the_citizen_politely(runtime: Runtime) -> None:
    register(runtime)
    result = await runtime.intake.submit(make_raw("BEBEJA minta pulsa gratis dong"))
    first = await reject(
        runtime.store, runtime.settings, result.complaint_id, "bukan aduan layanan publik"
    )
    assert first.reply_queued
    c = await complaint(runtime, result.complaint_id)
    assert (c.status, c.status_reason) == ("rejected_by_operator", "bukan aduan layanan publik")
    (reply,) = [r for r in await outbox_rows(runtime, "reply") if r.payload["purpose"] != "receipt"]
    assert reply.payload["text"] == (
        f"Mohon maaf, aduan {c.tracking_ref} tidak dapat diproses: bukan aduan layanan publik"
    )
    (event,) = await events_of(runtime, "review")
    assert event["outcome"] == "rejected" and "layanan" not in json.dumps(event)
    with pytest.raises(ReviewError, match="wajib diisi"):
        await reject(runtime.store, runtime.settings, c.tracking_ref, "   ")

    # Reassigned and rejected again: recorded, and the citizen is not told a second time.
    await assign(runtime.store, runtime.settings, c.tracking_ref, "PDG")
    decision = await reject(runtime.store, runtime.settings, c.tracking_ref, "tetap bukan aduan")
    assert decision.status == "rejected_by_operator" and not decision.reply_queued
    purposes = [r.payload["purpose"] for r in await outbox_rows(runtime, "reply")]
    assert purposes == ["receipt", "rejected_by_operator"]
    outcomes = [e["outcome"] for e in await events_of(runtime, "review")]
    assert outcomes == ["rejected", "reassigned", "rejected"]


async def test_assign_moves_a_complaint_and_keeps_its_number(runtime: Runtime) -> None:
    result = await runtime.intake.submit(make_raw("PANDEGLANG jalan rusak, ternyata di Agam"))
    decision = await assign(runtime.store, runtime.settings, result.tracking_ref, "agam")
    assert (decision.tracking_ref, decision.region_code, decision.status) == (
        result.tracking_ref,
        "AGAM",
        "queued",
    )
    assert [r.kind for r in await outbox_rows(runtime, "forward")] == ["forward"]
    (event,) = await events_of(runtime, "review")
    assert event["detail"]["from_region"] == "PDG" and event["region"] == "AGAM"
    with pytest.raises(ReviewError, match="tidak dikenal"):
        await assign(runtime.store, runtime.settings, result.tracking_ref, "XYZ")


async def test_unrouted_sms_becomes_a_complaint_by_assigning_a_region(runtime: Runtime) -> None:
    register(runtime)
    result = await runtime.intake.submit(make_raw("LUBUKBASUNG lampu jalan mati sudah 2 minggu"))
    assert result.outcome == "unrouted"
    (help_row,) = await outbox_rows(runtime, "reply")
    assert help_row.payload["purpose"] == "help"
    assert "kirim ke 1708" in help_row.payload["text"]

    decision = await assign(runtime.store, runtime.settings, str(result.inbound_id), "AGAM")
    assert decision.tracking_ref.startswith("AGM-") and decision.status == "queued"
    c = await complaint(runtime, decision.complaint_id)
    assert "lampu jalan mati" in c.text
    purposes = [r.payload["purpose"] for r in await outbox_rows(runtime, "reply")]
    assert purposes == ["help", "receipt"]
    with pytest.raises(ReviewError, match="sudah menjadi aduan"):
        await assign(runtime.store, runtime.settings, str(result.inbound_id), "AGAM")
    with pytest.raises(ReviewError, match="tidak ditemukan"):
        await assign(runtime.store, runtime.settings, "999999", "AGAM")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the CLI is store-agnostic
async def test_review_and_outbox_cli(runtime: Runtime) -> None:
    result = await runtime.intake.submit(make_raw("PANDEGLANG sampah di pantai Carita"))
    config = runtime.settings.path
    done = run_cli(config, "complaints", "approve", result.tracking_ref)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [result.tracking_ref, "PDG", "queued"]
    again = run_cli(config, "complaints", "approve", result.tracking_ref)
    assert again.returncode == 1 and "only complaints waiting for review" in again.stderr
    status = run_cli(config, "outbox", "status", "--json")
    assert json.loads(status.stdout)["counts"]["forward"] == {"pending": 1}
    bad = run_cli(config, "outbox", "retry")
    assert bad.returncode == 1 and "--dead" in bad.stderr
