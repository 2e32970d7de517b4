"""Replies by sendMessage through the outbox to the fake Bot API, errors by kind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

import channels.telegram
from fakes.bot_api import Fault
from gateway import outbox
from gateway.app import build_http_app
from gateway.outbox import OutboxWorker
from gateway.runtime import Reply, Runtime
from gateway.store.models import Complaint, Event, OutboxItem, utcnow
from tests.channels.telegram.conftest import FIXTURES, SECRET, FakeBot


@pytest.fixture
async def worker(runtime: Runtime) -> AsyncIterator[OutboxWorker]:
    channels.telegram.register(runtime)
    worker = outbox.register(runtime)
    yield worker
    for service in runtime.services:
        if service is not worker:
            await service.stop()
    await worker.client.close()


@pytest.fixture
async def client(runtime: Runtime, worker: OutboxWorker) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_http_app(runtime))) as c:
        yield c


async def deliver(client: TestClient, name: str) -> None:
    resp = await client.post(
        "/webhooks/telegram",
        data=(FIXTURES / f"{name}.json").read_bytes(),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    )
    assert resp.status == 200, await resp.text()


async def reply_rows(runtime: Runtime) -> list[OutboxItem]:
    async with runtime.store.reader() as s:
        query = select(OutboxItem).where(OutboxItem.kind == "reply").order_by(OutboxItem.id)
        return list((await s.scalars(query)).all())


async def test_receipt_and_help_reach_the_chat(
    client: TestClient, worker: OutboxWorker, runtime: Runtime, fake_bot: FakeBot
) -> None:
    await deliver(client, "text_keyword")
    await deliver(client, "start")
    await worker.run_until_idle()

    async with runtime.store.reader() as s:
        [complaint] = (await s.scalars(select(Complaint))).all()
    receipt, help_text = fake_bot.api.sent
    assert receipt["chat"]["id"] == 700100200
    assert complaint.tracking_ref in receipt["text"] and "Kabupaten Agam" in receipt["text"]
    assert receipt["reply_parameters"] == {"message_id": 42, "allow_sending_without_reply": True}
    assert help_text["text"].startswith("Kirim aduan dengan format")
    assert "AGAM/PANDEGLANG/SBY" in help_text["text"]
    assert help_text["reply_parameters"]["message_id"] == 43
    assert [r.status for r in await reply_rows(runtime)] == ["done", "done"]


async def test_group_message_is_answered_in_the_group(
    client: TestClient, worker: OutboxWorker, fake_bot: FakeBot
) -> None:
    await deliver(client, "group_message")
    await worker.run_until_idle()
    [receipt] = fake_bot.api.sent
    assert receipt["chat"]["id"] == -1009876543210
    assert receipt["reply_parameters"]["message_id"] == 311


async def test_429_is_retried_after_telegrams_retry_after(
    client: TestClient, worker: OutboxWorker, runtime: Runtime, fake_bot: FakeBot
) -> None:
    fake_bot.api.faults.append(Fault(status=429, method="sendMessage", retry_after=120))
    await deliver(client, "text_keyword")
    await worker.run_until_idle()
    [row] = await reply_rows(runtime)
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at >= utcnow() + timedelta(seconds=110)
    assert "Too Many Requests" in (row.last_error or "")
    assert fake_bot.api.sent == []


async def test_blocked_by_the_user_is_not_retried(
    client: TestClient, worker: OutboxWorker, runtime: Runtime, fake_bot: FakeBot
) -> None:
    fake_bot.api.faults.append(Fault(status=403, method="sendMessage", times=5))
    await deliver(client, "text_keyword")
    await worker.run_until_idle()
    [row] = await reply_rows(runtime)
    assert (row.status, row.attempts) == ("dead", 1)
    assert (
        row.last_error
        == "blocked by the user: telegram 403: Forbidden: bot was blocked by the user"
    )
    async with runtime.store.reader() as s:
        query = select(Event).where(Event.kind == "reply", Event.outcome == "dead")
        dead = (await s.scalars(query)).all()
    assert [e.channel for e in dead] == ["telegram"]


async def test_a_refused_token_marks_the_channel_unhealthy_and_keeps_the_reply(
    runtime: Runtime, worker: OutboxWorker, fake_bot: FakeBot
) -> None:
    fake_bot.api.token = "987654321:another-bot"
    result = await runtime.senders["telegram"](
        Reply(channel="telegram", recipient="700100200", text="Aduan diterima", idempotency_key="k")
    )
    assert not result.ok and result.retry
    health = runtime.health.components["telegram"]
    assert not health.ok and "401" in health.detail and "bot_token" in health.detail


@pytest.mark.parametrize(
    ("recipient", "fault", "retry"),
    [
        ("bukan-chat", None, False),
        (
            "700100200",
            Fault(status=400, method="sendMessage", description="Bad Request: chat not found"),
            False,
        ),
        ("700100200", Fault(status=502, method="sendMessage"), True),
    ],
)
async def test_other_failures_by_kind(
    recipient: str,
    fault: Fault | None,
    retry: bool,
    runtime: Runtime,
    worker: OutboxWorker,
    fake_bot: FakeBot,
) -> None:
    if fault is not None:
        fake_bot.api.faults.append(fault)
    result = await runtime.senders["telegram"](
        Reply(channel="telegram", recipient=recipient, text="Aduan diterima", idempotency_key="k")
    )
    assert (result.ok, result.retry) == (False, retry)


class TestNoticesPolicy:
    @pytest.fixture
    def telegram_extra(self) -> str:
        return "\n[replies.telegram]\nnotices = []\n"

    async def test_notices_none_queues_no_reply(self, client: TestClient, runtime: Runtime) -> None:
        await deliver(client, "text_keyword")
        await deliver(client, "start")
        assert await reply_rows(runtime) == []
