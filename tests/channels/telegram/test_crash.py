"""`lapor-gateway serve` in polling mode killed with SIGKILL while it stores a batch of
getUpdates: no update lost, none doubled, none even handed to intake twice (the offset
commits with each update), and every citizen one receipt."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from channels.telegram.poller import OFFSET_KEY
from gateway.store.db import Store
from gateway.store.models import Complaint, Cursor, Event, InboundMessage, OutboxItem
from tests.channels.telegram.conftest import FakeBot, eventually
from tests.support import kill, running_gateway

UPDATES = 120  # two getUpdates pages (100 at most each)
IN_FLIGHT = 8  # [lapor] outbox_concurrency: replies the kill may catch mid-send

pytestmark = pytest.mark.slow


@pytest.fixture
def telegram_mode() -> str:
    return "polling"


async def count(store: Store, column: object) -> int:
    async with store.reader() as s:
        return int(await s.scalar(select(func.count(column))) or 0)


async def test_sigkill_mid_batch_loses_and_doubles_nothing(
    fake_bot: FakeBot, store: Store, config_path: Path, tmp_path: Path
) -> None:
    ids = [
        fake_bot.api.text_message(
            f"AGAM aduan uji {i}: jalan berlubang di Lubuk Basung", chat_id=700200000 + i
        )["update_id"]
        for i in range(UPDATES)
    ]
    log = tmp_path / "gateway.log"

    async def stored_some() -> bool:
        return await count(store, InboundMessage.id) >= 20

    async with running_gateway(config_path, log) as proc:
        await eventually(stored_some, 60, "20 stored updates")
        await kill(proc)
    stored_at_kill = await count(store, InboundMessage.id)
    assert stored_at_kill < UPDATES, "the kill must land mid-batch"

    async def all_stored() -> bool:
        if await count(store, Complaint.id) < UPDATES:
            return False
        async with store.reader() as s:
            sent = await s.scalar(
                select(func.count(OutboxItem.id)).where(
                    OutboxItem.kind == "reply", OutboxItem.status == "done"
                )
            )
        return (sent or 0) >= UPDATES - IN_FLIGHT

    async with running_gateway(config_path, log):
        await eventually(all_stored, 180, "every update stored and answered")

    async with store.reader() as s:
        complaints = (await s.scalars(select(Complaint.external_id))).all()
        outcomes = (
            await s.execute(
                select(Event.outcome, func.count())
                .where(Event.kind == "inbound")
                .group_by(Event.outcome)
            )
        ).all()
        offset = await s.scalar(select(Cursor.value).where(Cursor.key == OFFSET_KEY))
        replies = (
            await s.execute(
                select(OutboxItem.recipient, OutboxItem.status).where(OutboxItem.kind == "reply")
            )
        ).all()
    assert len(complaints) == len(set(complaints)) == UPDATES
    assert dict(outcomes) == {"accepted": UPDATES}  # not even a redelivery reached intake
    assert offset == str(ids[-1] + 1)
    # One receipt each; those the kill caught while sending wait out their claim.
    assert sorted(int(r) for r, _ in replies) == [700200000 + i for i in range(UPDATES)]
    answered = {int(r) for r, status in replies if status == "done"}
    assert len(answered) >= UPDATES - IN_FLIGHT
    assert answered <= {m["chat"]["id"] for m in fake_bot.api.sent}
