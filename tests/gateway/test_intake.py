"""intake.submit on SQLite and PostgreSQL: outcomes, one transaction, dedup, tracking refs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.intake import (
    SIMILAR_CANDIDATES,
    AlsoInTransaction,
    IntakeResult,
    Outcome,
    _newest_lateral,
    _newest_one,
)
from gateway.runtime import Runtime
from gateway.store.models import (
    Complaint,
    Cursor,
    Event,
    InboundMessage,
    OutboxItem,
    Reporter,
)
from normalizer.types import Channel
from normalizer.types import Reporter as ReporterValue
from tests.support import make_raw


async def count(rt: Runtime, model: type) -> int:
    async with rt.store.reader() as s:
        return await s.scalar(select(func.count()).select_from(model))


async def test_accepted_sms_writes_everything_in_one_go(runtime: Runtime) -> None:
    result = await runtime.intake.submit(make_raw("AGAM jalan rusak di depan pasar"))
    assert result.outcome is Outcome.ACCEPTED
    assert result.region_code == "AGAM"
    assert result.tracking_ref == "AGM-000001"
    async with runtime.store.reader() as s:
        complaint = await s.scalar(select(Complaint))
        reporter = await s.get(Reporter, complaint.reporter_id)
        outbox = (await s.scalars(select(OutboxItem))).all()
        event = await s.scalar(select(Event))
        inbound = await s.scalar(select(InboundMessage))
    assert complaint.text == "jalan rusak di depan pasar"
    assert complaint.status == "queued"
    assert reporter.phone == "+6281234567890"
    assert [o.kind for o in outbox] == ["forward"]
    assert outbox[0].idempotency_key == f"forward:{complaint.id}"
    assert (event.kind, event.outcome, event.region_code) == ("inbound", "accepted", "AGAM")
    assert event.complaint_id == complaint.id
    assert inbound.outcome == "accepted" and inbound.complaint_id == complaint.id
    # Personal data stays out of the ingestion log.
    assert "+6281234567890" not in str(event.detail)


async def test_replay_is_a_duplicate_not_a_second_complaint(runtime: Runtime) -> None:
    raw = make_raw("AGAM lampu jalan mati", external_id="sms-1")
    first = await runtime.intake.submit(raw)
    again = await runtime.intake.submit(raw)
    assert again.outcome is Outcome.DUPLICATE
    assert again.complaint_id == first.complaint_id
    assert again.tracking_ref == first.tracking_ref
    assert await count(runtime, Complaint) == 1
    assert await count(runtime, Event) == 2  # the replay is visible in the log


async def test_same_external_id_on_another_channel_is_not_a_duplicate(runtime: Runtime) -> None:
    await runtime.intake.submit(make_raw("AGAM jalan rusak", external_id="x-1"))
    other = make_raw(
        "#aduanagam jalan rusak parah",
        external_id="x-1",
        channel=Channel.TWITTER,
        sender="@warga",
        recipient="",
    )
    result = await runtime.intake.submit(other)
    assert result.outcome is Outcome.ACCEPTED


async def test_unrouted_and_rejected_are_stored_and_logged(runtime: Runtime) -> None:
    unrouted = await runtime.intake.submit(make_raw("PADANG jalan rusak"))
    empty = await runtime.intake.submit(make_raw("AGAM   "))
    assert unrouted.outcome is Outcome.UNROUTED
    assert empty.outcome is Outcome.REJECTED and empty.reason == "empty_text"
    assert empty.region_code == "AGAM"
    async with runtime.store.reader() as s:
        rows = (await s.scalars(select(InboundMessage).order_by(InboundMessage.id))).all()
        outcomes = (await s.scalars(select(Event.outcome).order_by(Event.id))).all()
    assert [r.outcome for r in rows] == ["unrouted", "rejected"]
    assert rows[0].text == "PADANG jalan rusak"  # the original, for an operator to assign
    assert outcomes == ["unrouted", "rejected"]
    assert await count(runtime, Complaint) == 0
    assert await count(runtime, OutboxItem) == 0


async def test_review_region_holds_the_complaint(runtime: Runtime) -> None:
    result = await runtime.intake.submit(make_raw("BEBEJA sampah menumpuk di pasar"))
    assert result.outcome is Outcome.ACCEPTED and result.reason == "pending_review"
    async with runtime.store.reader() as s:
        complaint = await s.get(Complaint, result.complaint_id)
    assert complaint.region_code == "PDG" and complaint.status == "pending_review"
    assert await count(runtime, OutboxItem) == 0


async def test_anonymous_and_confidential_flags(runtime: Runtime) -> None:
    result = await runtime.intake.submit(make_raw("AGAM RAHASIA ANONIM pungli di kantor desa"))
    async with runtime.store.reader() as s:
        complaint = await s.get(Complaint, result.complaint_id)
    assert complaint.anonymous and complaint.confidential
    assert complaint.text == "pungli di kantor desa"


async def test_cross_channel_possible_duplicate_is_linked(runtime: Runtime) -> None:
    first = await runtime.intake.submit(
        make_raw("AGAM jalan di depan pasar lubuk basung rusak parah", sender="081234567890")
    )
    web = make_raw(
        "Jalan di depan Pasar Lubuk Basung rusak parah!",
        channel=Channel.API,
        sender="api:portal",
        recipient="AGAM",
        region_hint="AGAM",
        reporter=ReporterValue(phone="+62 812-3456-7890"),
    )
    second = await runtime.intake.submit(web)
    unrelated = await runtime.intake.submit(
        make_raw("AGAM air PDAM tidak mengalir tiga hari", sender="081234567890")
    )
    async with runtime.store.reader() as s:
        c2 = await s.get(Complaint, second.complaint_id)
        c3 = await s.get(Complaint, unrelated.complaint_id)
    assert second.outcome is Outcome.ACCEPTED
    assert c2.possible_duplicate_of == first.complaint_id
    assert c3.possible_duplicate_of is None


async def test_tracking_refs_per_region_are_sequential(runtime: Runtime) -> None:
    refs = [
        (await runtime.intake.submit(make_raw(text))).tracking_ref
        for text in ("AGAM satu dua tiga", "SBY banjir di jalan", "AGAM empat lima enam")
    ]
    assert refs == ["AGM-000001", "SBY-000001", "AGM-000002"]


async def test_200_concurrent_submits_with_50_replays(runtime: Runtime) -> None:
    originals = [
        make_raw(
            f"{'AGAM' if i % 2 else 'SBY'} aduan nomor {i} tentang jalan",
            external_id=f"c-{i}",
            sender=f"+62812000{i:05d}",
        )
        for i in range(150)
    ]
    replays = originals[:50]
    results = await asyncio.gather(*(runtime.intake.submit(raw) for raw in [*originals, *replays]))
    outcomes = [r.outcome for r in results]
    assert outcomes.count(Outcome.ACCEPTED) == 150
    assert outcomes.count(Outcome.DUPLICATE) == 50
    refs = {r.tracking_ref for r in results if r.outcome is Outcome.ACCEPTED}
    assert len(refs) == 150
    async with runtime.store.reader() as s:
        stored_refs = (await s.scalars(select(Complaint.tracking_ref))).all()
    assert len(stored_refs) == len(set(stored_refs)) == 150
    assert await count(runtime, InboundMessage) == 150
    assert await count(runtime, OutboxItem) == 150


def cursor_to(value: str) -> AlsoInTransaction:
    async def write(session: AsyncSession, _: IntakeResult) -> None:
        row = await session.get(Cursor, "test")
        if row is None:
            session.add(Cursor(key="test", value=value))
        else:
            row.value = value

    return write


async def failing_write(session: AsyncSession, _: IntakeResult) -> None:
    raise RuntimeError("the caller's write failed")


async def test_also_commits_with_the_message_for_every_outcome(runtime: Runtime) -> None:
    raw = make_raw("AGAM jalan rusak", external_id="also-1")
    await runtime.intake.submit(raw, also=cursor_to("1"))
    await runtime.intake.submit(raw, also=cursor_to("2"))  # duplicate
    await runtime.intake.submit(make_raw("ZZZ salah"), also=cursor_to("3"))  # unrouted
    with pytest.raises(RuntimeError):
        await runtime.intake.submit(
            make_raw("AGAM lampu mati", external_id="x"), also=failing_write
        )
    async with runtime.store.reader() as s:
        assert (await s.get(Cursor, "test")).value == "3"
        # The failed caller's message rolled back with its write: nothing half-stored.
        stored_x = await s.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.external_id == "x")
        )
    assert stored_x == 0


async def test_one_batch_catches_its_own_duplicates(runtime: Runtime) -> None:
    # Submitted together, these share a group commit: the twin must see the first's rows.
    raw = make_raw("AGAM jembatan putus", external_id="twin")
    results = await asyncio.gather(
        runtime.intake.submit(raw), runtime.intake.submit(raw), runtime.intake.submit(raw)
    )
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert {r.tracking_ref for r in results} == {"AGM-000001"}
    assert {r.inbound_id for r in results} == {results[0].inbound_id}
    assert await count(runtime, InboundMessage) == 1
    assert await count(runtime, Complaint) == 1
    async with runtime.store.reader() as s:
        outcomes = (await s.scalars(select(Event.outcome).order_by(Event.id))).all()
    assert outcomes == ["accepted", "duplicate", "duplicate"]


async def test_a_failing_message_fails_alone_and_leaves_no_gap(runtime: Runtime) -> None:
    ok = [make_raw(f"AGAM jalan rusak nomor {i}", sender=f"+62812000000{i}") for i in range(4)]
    bad = make_raw("AGAM lampu mati", external_id="bad")
    results = await asyncio.gather(
        runtime.intake.submit(ok[0]),
        runtime.intake.submit(ok[1]),
        runtime.intake.submit(bad, also=failing_write),
        runtime.intake.submit(ok[2]),
        runtime.intake.submit(ok[3]),
        return_exceptions=True,
    )
    assert isinstance(results[2], RuntimeError)
    good = [r for r in results if isinstance(r, IntakeResult)]
    assert [r.outcome for r in good] == [Outcome.ACCEPTED] * 4
    # Gap-free: the rolled-back message took no number.
    assert [r.tracking_ref for r in good] == [f"AGM-00000{i}" for i in range(1, 5)]
    assert await count(runtime, Complaint) == 4
    assert await count(runtime, OutboxItem) == 4
    async with runtime.store.reader() as s:
        stored = (await s.scalars(select(InboundMessage.external_id))).all()
        logged = (await s.scalars(select(Event.external_id))).all()
    assert "bad" not in stored and "bad" not in logged
    # The counter continues after the batch.
    after = await runtime.intake.submit(make_raw("AGAM got mampet"))
    assert after.tracking_ref == "AGM-000005"


async def test_a_near_same_text_in_the_same_batch_is_linked(runtime: Runtime) -> None:
    first, second = await asyncio.gather(
        runtime.intake.submit(make_raw("AGAM jalan rusak parah di depan pasar")),
        runtime.intake.submit(make_raw("AGAM jalan rusak parah di depan pasar!")),
    )
    async with runtime.store.reader() as s:
        linked = await s.scalar(
            select(Complaint.possible_duplicate_of).where(Complaint.id == second.complaint_id)
        )
    assert linked == first.complaint_id


async def test_more_than_one_batch_of_concurrent_submits(runtime: Runtime) -> None:
    raws = [make_raw(f"AGAM aduan {i}", sender=f"+628130{i:06d}") for i in range(600)]
    results = await asyncio.gather(*(runtime.intake.submit(raw) for raw in raws))
    refs = sorted(r.tracking_ref for r in results)
    assert refs == [f"AGM-{i:06d}" for i in range(1, 601)]
    assert await count(runtime, Complaint) == 600


async def test_a_busy_number_is_compared_with_its_newest_complaints(runtime: Runtime) -> None:
    busy = "+6281311112222"
    for i in range(SIMILAR_CANDIDATES + 10):
        await runtime.intake.submit(make_raw(f"AGAM laporan nomor {i} tentang hal {i * 7919}"))
    # A day and more ago: outside the window, however similar.
    old = await runtime.intake.submit(
        make_raw("AGAM pohon tumbang menutup jalan ke Maninjau", sender=busy)
    )
    for i in range(SIMILAR_CANDIDATES + 5):
        await runtime.intake.submit(
            make_raw(f"AGAM keluhan ke-{i}: kode {i * 104729}", sender=busy)
        )
    async with runtime.store.transaction() as s:
        complaint = await s.get(Complaint, old.complaint_id)
        complaint.created_at -= timedelta(hours=25)
    recent = await runtime.intake.submit(
        make_raw("AGAM lampu jalan di Lubuk Basung mati semua", sender=busy)
    )
    again_old = await runtime.intake.submit(
        make_raw("AGAM pohon tumbang menutup jalan ke Maninjau!", sender=busy)
    )
    again_recent = await runtime.intake.submit(
        make_raw("AGAM lampu jalan di Lubuk Basung mati semua!", sender=busy)
    )
    async with runtime.store.reader() as s:
        links = {
            cid: link
            for cid, link in await s.execute(select(Complaint.id, Complaint.possible_duplicate_of))
        }
    assert links[again_recent.complaint_id] == recent.complaint_id
    assert links[again_old.complaint_id] is None


async def test_newest_complaints_of_a_number_are_read_from_the_index(runtime: Runtime) -> None:
    """The check must not sort a number's whole history: the (phone, id) index is walked."""
    async with runtime.store.transaction() as s:
        conn = await s.connection()
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # empty tables here
            statement, values = _newest_lateral("phone"), {"values": ["+6281311112222"]}
            explain, sort = "EXPLAIN", "Sort"
        else:
            statement, values = _newest_one("phone"), {"value": "+6281311112222"}
            explain, sort = "EXPLAIN QUERY PLAN", "TEMP B-TREE"
        compiled = statement.compile(conn)
        params = compiled.construct_params(values)
        rows = await conn.exec_driver_sql(
            f"{explain} {compiled.string}", tuple(params[k] for k in compiled.positiontup or ())
        )
        plan = " | ".join(str(row[-1]) for row in rows)
    assert "ix_reporters_phone_id" in plan, plan
    assert sort not in plan, plan
