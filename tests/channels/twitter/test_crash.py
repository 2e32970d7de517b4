"""`lapor-gateway serve` killed with SIGKILL during a paginated poll, twice: no tweet lost,
none doubled, and no tweet even fetched into intake twice (the cursor commits with it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fakes.x_api import Fault
from gateway.store.db import Store
from gateway.store.models import Complaint, Cursor, Event, InboundMessage
from tests.channels.twitter.conftest import FakeX
from tests.support import kill, running_gateway

TWEETS = 100  # 10 pages of 10

pytestmark = pytest.mark.slow


async def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await _value(condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        await asyncio.sleep(0.01)


async def _value(result: object) -> object:
    return await result if asyncio.iscoroutine(result) else result


async def count(store: Store, column: object) -> int:
    async with store.reader() as s:
        return int(await s.scalar(select(func.count(column))) or 0)


async def test_sigkill_mid_poll_loses_and_doubles_nothing(
    fake_x: FakeX, store: Store, config_path: Path, tmp_path: Path
) -> None:
    ids = [
        fake_x.tweet(
            f"Aduan uji {i}: jalan berlubang di Lubuk Basung #aduanagam", username=f"warga{i % 7}"
        )
        for i in range(TWEETS)
    ]
    log = tmp_path / "gateway.log"

    # 1. Killed while page 2 is slow to come: nothing may be stored, the cursor stays unset.
    fake_x.api.faults.append(Fault(status=200, delay_s=3.0, page=2))
    async with running_gateway(config_path, log) as proc:
        await wait_for(lambda: any(r["page"] == 2 for r in fake_x.api.requests), 30, "page 2")
        await kill(proc)
    assert await count(store, InboundMessage.id) == 0
    assert await count(store, Cursor.key) == 0

    # 2. Killed while the tweets are going into intake.
    async with running_gateway(config_path, log) as proc:
        await wait_for(lambda: _stored_at_least(store, 20), 30, "20 stored tweets")
        await kill(proc)
    stored_at_kill = await count(store, InboundMessage.id)
    assert stored_at_kill < TWEETS, "the kill must land mid-poll"

    # 3. A clean run finishes the job; SIGTERM stops it gracefully (exit 0 required).
    async with running_gateway(config_path, log):
        await wait_for(lambda: _done(store), 30, "all tweets stored")

    async with store.reader() as s:
        complaints = (await s.scalars(select(Complaint.external_id))).all()
        outcomes = (
            await s.execute(
                select(Event.outcome, func.count())
                .where(Event.kind == "inbound")
                .group_by(Event.outcome)
            )
        ).all()
        # Only the search cursor: replies:… markers live in the same table.
        cursor = (await s.scalars(select(Cursor.value).where(Cursor.key.like("twitter:%")))).one()
    assert sorted(complaints) == sorted(ids)  # each tweet once
    assert dict(outcomes) == {"accepted": TWEETS}  # not even a replay reached intake
    assert cursor == ids[-1]


async def _stored_at_least(store: Store, n: int) -> bool:
    return await count(store, InboundMessage.id) >= n


async def _done(store: Store) -> bool:
    return await count(store, Complaint.id) >= TWEETS
