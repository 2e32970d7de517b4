"""Two gateway processes share one PostgreSQL outbox: every complaint is filed exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.runtime import Runtime
from gateway.store.models import Complaint, Event
from normalizer.types import Channel
from tests.lapor.sandbox_fixture import RunningSandbox
from tests.support import make_raw, start_gateway, write_config

# 1,000 (the number) passes in about 35 s; 300 keeps the suite inside its budget.
# LAPOR_TEST_OUTBOX_N=1000 runs the full size.
N = int(os.environ.get("LAPOR_TEST_OUTBOX_N", "300"))


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_gateways_drain_the_outbox_each_complaint_sent_once(
    runtime: Runtime, sandbox: RunningSandbox, db_url: str, tmp_path: Path
) -> None:
    async def submit(i: int) -> None:
        raw = make_raw(
            f"Aduan nomor {i}: jalan rusak di Nagari Koto Tuo",
            channel=Channel.API,
            sender="portal-provinsi",
            recipient="api",
            region_hint="AGAM",
        )
        assert (await runtime.intake.submit(raw)).outcome == "accepted"

    for start in range(0, N, 50):
        await asyncio.gather(*(submit(i) for i in range(start, start + 50)))

    procs = []
    for name in ("a", "b"):
        config = write_config(tmp_path / name, db_url, lapor_url=sandbox.url)
        procs.append(start_gateway(config, tmp_path / f"{name}.log"))
    try:
        deadline = time.monotonic() + 60
        while True:
            async with runtime.store.reader() as session:
                forwarded = await session.scalar(
                    select(func.count()).where(Complaint.status == "forwarded")
                )
            if forwarded == N:
                break
            assert time.monotonic() < deadline, f"only {forwarded}/{N} forwarded"
            await asyncio.sleep(0.2)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            assert p.wait(timeout=30) == 0

    assert sandbox.lapor.counters["reports"] == N
    assert sandbox.lapor.counters["replays"] == 0  # no row was sent twice
    async with runtime.store.reader() as session:
        ids = (await session.scalars(select(Complaint.lapor_tracking_id))).all()
        events = (await session.scalars(select(Event).where(Event.kind == "forward"))).all()
    assert len(set(ids)) == N and set(ids) == set(sandbox.lapor.reports)
    assert [e.outcome for e in events] == ["forwarded"] * N
    workers = {e.detail["worker"] for e in events}
    assert len(workers) == 2, "both gateways should have taken a share"
