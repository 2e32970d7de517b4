"""`purge --older-than DAYS`: reporter data of finished old complaints goes, the complaints
stay, active work is untouched, and every run is in the purge log."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from gateway.purge import PURGED, purge
from gateway.runtime import Runtime
from gateway.store.db import Store
from gateway.store.models import (
    Complaint,
    InboundMessage,
    OutboxItem,
    PurgeLog,
    Reporter,
    SmsPart,
)
from tests.support import cli_in_process, make_raw

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=400)


async def _submit(rt: Runtime, text: str, sender: str, received_at: datetime):
    return await rt.intake.submit(make_raw(text, sender=sender, received_at=received_at))


async def _finish(store: Store, complaint_id: str, status: str = "forwarded") -> None:
    """What the outbox does once LAPOR took it: the forward is done."""
    async with store.transaction() as s:
        await s.execute(update(Complaint).where(Complaint.id == complaint_id).values(status=status))
        await s.execute(
            update(OutboxItem).where(OutboxItem.complaint_id == complaint_id).values(status="done")
        )


async def test_purge_removes_identity_of_finished_old_complaints(
    runtime: Runtime, store: Store, config_path: Path
) -> None:
    done = await _submit(runtime, "AGAM jalan rusak di Lubuk Basung", "+6281111111111", OLD)
    await _finish(store, done.complaint_id)
    active = await _submit(runtime, "AGAM lampu jalan mati", "+6282222222222", OLD)  # queued
    recent = await _submit(runtime, "AGAM saluran air tersumbat", "+6283333333333", NOW)
    await _finish(store, recent.complaint_id)
    unrouted_old = await _submit(runtime, "XYZ tolong perbaiki jembatan", "+6284444444444", OLD)
    unrouted_new = await _submit(runtime, "XYZ sampah menumpuk", "+6285555555555", NOW)
    async with store.transaction() as s:
        for seen, digest in ((OLD, "a" * 64), (datetime.now(UTC), "b" * 64)):
            s.add(
                SmsPart(
                    group_key=f"+6286666666666|8:1|2#{digest[0]}",
                    digest=digest,
                    sender="+6286666666666",
                    recipient="1708",
                    concat_ref=1,
                    total=2,
                    seq=1,
                    text="AGAM bagian pertama",
                    smsc_timestamp=seen,
                    first_seen_at=seen,
                )
            )

    dry = await asyncio.to_thread(
        cli_in_process, config_path, "purge", "--older-than", "365", "--dry-run", "--json"
    )
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout) == {
        "complaints": 1,
        "inbound_messages_without_complaint": 1,
        "sms_parts": 1,
    }

    result = await asyncio.to_thread(
        cli_in_process, config_path, "purge", "--older-than", "365", "--json"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    async with store.reader() as s:
        c_done = await s.get(Complaint, done.complaint_id)
        c_active = await s.get(Complaint, active.complaint_id)
        c_recent = await s.get(Complaint, recent.complaint_id)
        phones = set((await s.scalars(select(Reporter.phone))).all())
        inbound = {row.external_id: row for row in (await s.scalars(select(InboundMessage))).all()}
        parts = (await s.scalars(select(SmsPart.digest))).all()
        logs = (await s.scalars(select(PurgeLog))).all()
    assert summary["tracking_refs"] == [c_done.tracking_ref]
    assert summary["counts"]["complaints"] == 1 and summary["counts"]["reporters_deleted"] == 1
    # The complaint itself stays, without anyone to identify.
    assert c_done.reporter_id is None and c_done.text == "jalan rusak di Lubuk Basung"
    assert c_done.status == "forwarded"
    assert c_active.reporter_id is not None and c_recent.reporter_id is not None
    assert phones == {"+6282222222222", "+6283333333333"}
    by_complaint = {row.complaint_id: row for row in inbound.values() if row.complaint_id}
    assert by_complaint[done.complaint_id].sender == PURGED
    assert by_complaint[done.complaint_id].meta == {}
    assert by_complaint[active.complaint_id].sender == "+6282222222222"
    loose_old = next(r for r in inbound.values() if r.text == "" and r.sender == PURGED)
    assert loose_old.outcome == unrouted_old.outcome.value
    assert any(r.sender == "+6285555555555" for r in inbound.values())  # recent: untouched
    assert unrouted_new.outcome == unrouted_old.outcome
    assert parts == ["b" * 64]
    # The log: what was purged, by whom, no personal data.
    assert sum(len(row.tracking_refs) for row in logs) == 1
    assert {row.run_id for row in logs} == {summary["run_id"]}
    assert "+628" not in json.dumps([row.counts for row in logs] + [r.tracking_refs for r in logs])

    # A second run finds nothing, and says so in the log.
    again = await purge(store, 365)
    assert again.tracking_refs == [] and not any(again.counts.values())
    shown = await asyncio.to_thread(cli_in_process, config_path, "purge", "--history")
    assert shown.exit_code == 0
    assert summary["run_id"] in shown.stdout and again.run_id in shown.stdout
    listed = await asyncio.to_thread(cli_in_process, config_path, "purge", "--history", "--json")
    history = json.loads(listed.stdout)
    assert [h["run_id"] for h in history] == [again.run_id, summary["run_id"]]
    assert history[1]["tracking_refs"] == [c_done.tracking_ref]


async def test_purge_waits_for_pending_work(runtime: Runtime, store: Store) -> None:
    """A finished complaint whose receipt reply has not left yet keeps its recipient."""
    res = await _submit(runtime, "AGAM jembatan putus", "+6287777777777", OLD)
    async with store.transaction() as s:
        await s.execute(
            update(Complaint).where(Complaint.id == res.complaint_id).values(status="forwarded")
        )
        await s.execute(
            update(OutboxItem)
            .where(OutboxItem.complaint_id == res.complaint_id)
            .values(status="pending")
        )
    assert (await purge(store, 30)).counts["complaints"] == 0
    await _finish(store, res.complaint_id)
    assert (await purge(store, 30)).counts["complaints"] == 1


def test_purge_refuses_bad_input(config_path: Path) -> None:
    for args, expected in (
        ([], "--older-than DAYS"),
        (["--older-than", "0"], "at least 1 day"),
        (["--older-than", "-5"], "at least 1 day"),
        (["--older-than", "tiga"], "not a valid integer"),
    ):
        result = cli_in_process(config_path, "purge", *args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.output
