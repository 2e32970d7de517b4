"""The outbox worker against a real sandbox LAPOR, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import random
import socket
from datetime import timedelta

import pytest

from gateway.outbox import OutboxWorker, replay, status_summary
from gateway.runtime import Reply, Runtime, SendResult
from gateway.settings import Settings
from gateway.store.models import utcnow
from normalizer.types import Channel, Reporter
from tests.lapor.sandbox_fixture import RunningSandbox, start_sandbox
from tests.outbox.support import complaint, drain, events_of, outbox_rows, point_at
from tests.support import make_raw


def worker_for(rt: Runtime) -> OutboxWorker:
    return OutboxWorker(rt, rng=random.Random(4))


async def test_accepted_complaint_is_forwarded_and_replies_queued(
    runtime: Runtime, sandbox: RunningSandbox
) -> None:
    point_at(runtime, sandbox.url)
    worker = worker_for(runtime)
    from gateway.outbox import register

    register(runtime)  # the receipt hook
    result = await runtime.intake.submit(make_raw("AGAM jalan rusak di depan pasar Lubuk Basung"))
    await drain(worker)
    await worker.client.close()

    c = await complaint(runtime, result.complaint_id)
    assert c.status == "forwarded"
    assert c.lapor_tracking_id in sandbox.lapor.reports
    assert len(c.lapor_tracking_id) == 7
    assert sandbox.lapor.counters["reports"] == 1
    forward_events = await events_of(runtime, "forward")
    assert [e["outcome"] for e in forward_events] == ["forwarded"]
    assert forward_events[0]["detail"]["lapor_tracking_id"] == c.lapor_tracking_id

    # No SMS sender registered yet: both replies are recorded as not sendable.
    replies = await outbox_rows(runtime, "reply")
    assert [(r.payload["purpose"], r.status) for r in replies] == [
        ("receipt", "unsendable"),
        ("forwarded", "unsendable"),
    ]
    assert c.tracking_ref in replies[0].payload["text"]
    assert c.lapor_tracking_id in replies[1].payload["text"]
    reply_events = await events_of(runtime, "reply")
    assert {e["outcome"] for e in reply_events} == {"unsendable"}
    assert "+62812" not in json.dumps(reply_events)  # no phone numbers in the log


async def test_replies_go_through_the_channel_sender(
    runtime: Runtime, sandbox: RunningSandbox
) -> None:
    point_at(runtime, sandbox.url)
    sent: list[Reply] = []
    attempts = 0

    async def sms_sender(reply: Reply) -> SendResult:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            return SendResult(ok=False, error="modem busy", retry=True)
        sent.append(reply)
        return SendResult(ok=True, external_id=f"msg-{len(sent)}")

    runtime.add_sender("sms", sms_sender)
    from gateway.outbox import register

    worker = register(runtime)
    result = await runtime.intake.submit(make_raw("AGAM sampah menumpuk di Pasar Maninjau"))
    await drain(worker)
    await worker.client.close()

    assert [r.recipient for r in sent] == ["+6281234567890", "+6281234567890"]
    assert result.tracking_ref in sent[0].text
    rows = await outbox_rows(runtime, "reply")
    assert [r.status for r in rows] == ["done", "done"]
    outcomes = [e["outcome"] for e in await events_of(runtime, "reply")]
    assert outcomes.count("retry") == 1 and outcomes.count("sent") == 2


async def test_anonymous_complaint_reaches_lapor_without_identity(
    runtime: Runtime, sandbox: RunningSandbox
) -> None:
    point_at(runtime, sandbox.url)
    reporter = Reporter(name="Budi Santoso", phone="081298765432", email="budi@example.id")
    raw = make_raw(
        "Pungutan liar di kantor kecamatan",
        channel=Channel.API,
        sender="portal-provinsi",
        recipient="api",
        region_hint="AGAM",
        anonymous=True,
        confidential=True,
        reporter=reporter,
    )
    result = await runtime.intake.submit(raw)
    assert result.outcome == "accepted", result
    worker = worker_for(runtime)
    await drain(worker)
    await worker.client.close()
    (stored,) = sandbox.lapor.reports.values()
    assert stored.fields["anonymous"] is True and stored.fields["confidential"] is True
    assert stored.fields["reporter"] is None
    body = json.dumps(stored.fields)
    for secret in ("Budi", "81298765432", "budi@example.id"):
        assert secret not in body


FAILURES = [
    pytest.param({"fail_rate": 1.0}, "HTTP 500", id="500"),
    pytest.param({"status": 503}, "HTTP 503", id="503"),
    pytest.param({"latency_ms": 400}, "timeout after 0.2s", id="timeout"),
    pytest.param({"answer": "garbage"}, "answer is not", id="garbage"),
    pytest.param({"status": 502, "answer": "html"}, "502 Bad Gateway", id="html-error-page"),
]


@pytest.mark.parametrize(("faults", "reason"), FAILURES)
@pytest.mark.parametrize("mode", ["sandbox", "xml"])
async def test_failures_are_retried_then_dead_lettered(
    runtime: Runtime, sandbox: RunningSandbox, mode: str, faults: dict[str, object], reason: str
) -> None:
    point_at(runtime, sandbox.url, mode=mode, timeout_s=0.2, max_attempts=3)
    sandbox.fail(**faults)
    result = await runtime.intake.submit(make_raw("AGAM air PDAM keruh sudah seminggu"))
    worker = worker_for(runtime)
    await drain(worker)

    c = await complaint(runtime, result.complaint_id)
    assert c.status == "failed"
    assert reason in (c.status_reason or "")
    forward = await events_of(runtime, "forward")
    assert [e["outcome"] for e in forward] == ["retry", "retry", "dead"]
    assert all(reason in e["reason"] for e in forward)
    (row,) = await outbox_rows(runtime, "forward")
    assert (row.status, row.attempts) == ("dead", 3)

    # The operator replays it once LAPOR is healthy again: forwarded, filed once.
    sandbox.fail()
    assert await replay(runtime.store, dead=True) == 1
    await drain(worker)
    await worker.client.close()
    c = await complaint(runtime, result.complaint_id)
    assert c.status == "forwarded"
    # A slow LAPOR had stored the report already: the replay got the same tracking id.
    assert sandbox.lapor.counters["reports"] == 1
    assert c.lapor_tracking_id in sandbox.lapor.reports


async def test_retry_after_is_honoured(runtime: Runtime, sandbox: RunningSandbox) -> None:
    point_at(runtime, sandbox.url)
    sandbox.fail(status=503, retry_after=30)
    await runtime.intake.submit(make_raw("AGAM lampu jalan mati di Jl. Sudirman"))
    worker = worker_for(runtime)
    before = utcnow()
    assert await worker.run_once() == 1
    await worker.client.close()
    (row,) = await outbox_rows(runtime, "forward")
    assert row.status == "pending"
    assert row.next_attempt_at >= before + timedelta(seconds=30)
    (event,) = await events_of(runtime, "forward")
    assert event["outcome"] == "retry" and event["detail"]["retry_in_s"] >= 30
    assert await worker.run_once() == 0  # not due yet


async def test_a_senders_retry_after_is_honoured(runtime: Runtime, sandbox: RunningSandbox) -> None:
    point_at(runtime, sandbox.url)

    async def rate_limited(reply: Reply) -> SendResult:
        return SendResult(ok=False, error="rate limited", retry=True, retry_after=45)

    runtime.add_sender("sms", rate_limited)
    from gateway.outbox import register

    worker = register(runtime)
    await runtime.intake.submit(make_raw("AGAM got mampet di Simpang Empat"))
    before = utcnow()
    while await worker.run_once():  # forward and first reply attempts; then nothing is due
        pass
    await worker.client.close()
    (row, *_) = await outbox_rows(runtime, "reply")
    assert row.status == "pending"
    assert row.next_attempt_at >= before + timedelta(seconds=45)


async def test_wrong_token_is_dead_at_once(runtime: Runtime, sandbox: RunningSandbox) -> None:
    point_at(runtime, sandbox.url, token="bukan-token")
    result = await runtime.intake.submit(make_raw("AGAM jembatan putus di Nagari Koto Tinggi"))
    worker = worker_for(runtime)
    await drain(worker)
    await worker.client.close()
    c = await complaint(runtime, result.complaint_id)
    assert c.status == "failed" and "HTTP 401" in (c.status_reason or "")
    assert [e["outcome"] for e in await events_of(runtime, "forward")] == ["dead"]
    summary = await status_summary(runtime.store)
    assert summary["counts"]["forward"] == {"dead": 1}
    assert summary["dead"][0]["tracking_ref"] == c.tracking_ref


async def test_lapor_down_for_a_while_only_delays_forwarding(runtime: Runtime) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    point_at(runtime, f"http://127.0.0.1:{port}", max_attempts=50)
    result = await runtime.intake.submit(make_raw("AGAM banjir di Jorong Pasar"))
    worker = worker_for(runtime)
    for _ in range(3):
        await worker.run_once()
        await asyncio.sleep(0.2)
    retries = await events_of(runtime, "forward")
    assert retries and all("cannot connect" in e["reason"] for e in retries)
    running, runner = await start_sandbox(port)  # LAPOR is back
    try:
        await drain(worker)
        await worker.client.close()
    finally:
        await runner.cleanup()
    assert (await complaint(runtime, result.complaint_id)).status == "forwarded"
    assert running.lapor.counters["reports"] == 1


async def test_crash_between_send_and_mark_does_not_file_twice(
    runtime: Runtime, sandbox: RunningSandbox
) -> None:
    # LAPOR stores the report, then answers slowly: the worker "dies" waiting for it.
    point_at(runtime, sandbox.url, claim_lease_s=0.3)
    sandbox.fail(latency_ms=800)
    result = await runtime.intake.submit(make_raw("AGAM tanah longsor di Malalak"))
    doomed = worker_for(runtime)
    task = asyncio.create_task(doomed.run_once())
    while sandbox.lapor.counters["reports"] == 0:  # noqa: ASYNC110 - polling another task
        await asyncio.sleep(0.01)
    task.cancel()  # the process is killed: no outcome stored, the row stays claimed
    with pytest.raises(asyncio.CancelledError):
        await task
    await doomed.client.close()
    (row,) = await outbox_rows(runtime, "forward")
    assert row.status == "sending"

    sandbox.fail()
    survivor = worker_for(runtime)
    assert await survivor.run_once() == 0  # the claim's lease still holds
    await asyncio.sleep(0.35)
    await drain(survivor)
    await survivor.client.close()

    c = await complaint(runtime, result.complaint_id)
    assert c.status == "forwarded"
    assert sandbox.lapor.counters["reports"] == 1
    assert sandbox.lapor.counters["replays"] == 1
    (only,) = sandbox.lapor.reports
    assert c.lapor_tracking_id == only
    (row,) = await outbox_rows(runtime, "forward")
    assert (row.status, row.attempts) == ("done", 2)


async def test_replay_refuses_done_and_unknown_rows(
    runtime: Runtime, sandbox: RunningSandbox
) -> None:
    from gateway.outbox import NothingToRetry

    point_at(runtime, sandbox.url)
    await runtime.intake.submit(make_raw("AGAM pohon tumbang di jalan raya"))
    worker = worker_for(runtime)
    await drain(worker)
    await worker.client.close()
    (row,) = await outbox_rows(runtime, "forward")
    with pytest.raises(NothingToRetry, match="is done"):
        await replay(runtime.store, row_id=row.id)
    with pytest.raises(NothingToRetry, match="no outbox row"):
        await replay(runtime.store, row_id=row.id + 1000)


async def test_a_row_whose_outcome_cannot_be_stored_runs_out_of_attempts(
    runtime: Runtime, sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    # A `forwarded` template naming an unknown placeholder breaks storing the outcome.
    point_at(runtime, sandbox.url, max_attempts=2, backoff_base_s=0.01)
    replies = runtime.settings.file.replies.model_copy(
        update={"forwarded": "Aduan {ref} diteruskan, no. {nomor}"}
    )
    runtime.settings = Settings(
        runtime.settings.path,
        runtime.settings.file.model_copy(update={"replies": replies}),
        runtime.settings.regions,
    )
    result = await runtime.intake.submit(make_raw("AGAM saluran air tersumbat di Pasar Baru"))
    worker = worker_for(runtime)
    await drain(worker)
    await worker.client.close()

    (row,) = await outbox_rows(runtime, "forward")
    assert (row.status, row.attempts) == ("dead", 2)  # not re-sent every lease, forever
    assert row.last_error == "internal error: KeyError"
    c = await complaint(runtime, result.complaint_id)
    assert c.status == "failed"
    assert sandbox.lapor.counters["reports"] == 1  # the second attempt used the same key
    assert [e["outcome"] for e in await events_of(runtime, "forward")] == ["retry", "dead"]
    logged = [r for r in caplog.records if r.name == "gateway.outbox"]
    assert logged and all(r.error == "KeyError" for r in logged)  # type: ignore[attr-defined]
    assert "AGAM saluran" not in caplog.text and "+62812" not in caplog.text
