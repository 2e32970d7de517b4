"""getUpdates long polling against the fake Bot API on a real port, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

import channels.telegram
from channels.telegram.poller import OFFSET_KEY, TelegramPoller
from fakes.bot_api import Fault
from gateway.app import build_http_app
from gateway.intake import Intake
from gateway.runtime import Runtime
from gateway.store.db import Store
from gateway.store.models import Complaint, Cursor, Event, InboundMessage
from tests.channels.telegram.conftest import FakeBot, eventually, fixture


@pytest.fixture
def telegram_mode() -> str:
    return "polling"


@pytest.fixture
async def poller(runtime: Runtime) -> AsyncIterator[TelegramPoller]:
    channels.telegram.register(runtime)
    (service,) = [s for s in runtime.services if isinstance(s, TelegramPoller)]
    yield service
    for s in runtime.services:
        await s.stop()


async def rows(store: Store, model: Any) -> list[Any]:
    async with store.reader() as s:
        return list((await s.scalars(select(model))).all())


async def offset(store: Store) -> int | None:
    async with store.reader() as s:
        row = await s.get(Cursor, OFFSET_KEY)
    return int(row.value) if row else None


def get_updates(fake_bot: FakeBot) -> list[dict[str, Any]]:
    return [r for r in fake_bot.api.requests if r["method"] == "getUpdates"]


async def test_updates_are_stored_and_the_offset_confirms_them(
    fake_bot: FakeBot, poller: TelegramPoller, runtime: Runtime
) -> None:
    for name in ("text_keyword", "start", "edited_message", "sticker", "photo_sizes"):
        fake_bot.api.add_update(fixture(name))

    assert await poller.cycle() == 0.0

    complaints = await rows(runtime.store, Complaint)
    assert sorted(c.region_code for c in complaints) == ["AGAM", "PDG"]
    assert await offset(runtime.store) == 815204011 + 1  # the highest update_id + 1
    seen = sorted((e.outcome, e.reason or "") for e in await rows(runtime.store, Event))
    assert seen == [
        ("accepted", ""),
        ("accepted", "pending_review"),  # PDG reviews before forwarding
        ("skipped", "edited_message"),
        ("skipped", "help_command"),
        ("skipped", "sticker"),
    ]
    [first] = get_updates(fake_bot)
    assert first["params"] == {"timeout": 1}  # long polling, no offset yet

    # The next call sends the offset, which makes Telegram forget what it confirms.
    fake_bot.api.add_update(fixture("no_keyword"))
    await poller.cycle()
    assert get_updates(fake_bot)[1]["params"] == {"timeout": 1, "offset": 815204012}
    assert [u["update_id"] for u in fake_bot.api.updates] == [815204013]
    assert await offset(runtime.store) == 815204014
    assert len(await rows(runtime.store, InboundMessage)) == 3


async def test_long_poll_returns_when_an_update_arrives(
    fake_bot: FakeBot, poller: TelegramPoller, runtime: Runtime
) -> None:
    cycle = asyncio.create_task(poller.cycle())
    await asyncio.sleep(0.2)  # getUpdates is now waiting at the fake
    assert not cycle.done()
    fake_bot.api.add_update(fixture("text_keyword"))
    await cycle
    [complaint] = await rows(runtime.store, Complaint)
    assert complaint.external_id == "700100200:42"


async def test_a_store_failure_keeps_the_offset_so_nothing_is_lost(
    fake_bot: FakeBot, runtime: Runtime, poller: TelegramPoller
) -> None:
    fake_bot.api.add_update(fixture("text_keyword"))
    dead = Store("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    poller.rt = Runtime(
        settings=runtime.settings, store=dead, intake=Intake(runtime.settings, dead)
    )
    poller.receiver.rt = poller.rt
    try:
        delay = await poller.cycle()
    finally:
        await dead.close()
    assert delay > 0
    poller.rt = poller.receiver.rt = runtime
    assert len(fake_bot.api.updates) == 1  # not confirmed: Telegram keeps it
    await poller.cycle()
    assert len(await rows(runtime.store, Complaint)) == 1
    assert await offset(runtime.store) == 815204002


async def test_429_waits_retry_after_and_stays_healthy(
    fake_bot: FakeBot, poller: TelegramPoller, runtime: Runtime
) -> None:
    fake_bot.api.faults.append(Fault(status=429, method="getUpdates", retry_after=7))
    assert await poller.cycle() == 7.0
    health = runtime.health.components["telegram"]
    assert health.ok and "429" in health.detail
    [event] = [e for e in await rows(runtime.store, Event) if e.kind == "channel"]
    assert (event.outcome, event.reason) == ("rate_limited", "Too Many Requests: retry after 7")


async def test_409_while_a_webhook_is_set_says_what_to_do(
    fake_bot: FakeBot, poller: TelegramPoller, runtime: Runtime
) -> None:
    fake_bot.api.webhook_url = "https://lapor.agamkab.go.id/webhooks/telegram"
    assert await poller.cycle() > 0
    health = runtime.health.components["telegram"]
    assert not health.ok
    assert "409" in health.detail and "deleteWebhook" in health.detail
    fake_bot.api.webhook_url = ""
    fake_bot.api.add_update(fixture("text_keyword"))
    await poller.cycle()
    assert runtime.health.components["telegram"].ok
    outcomes = [e.outcome for e in await rows(runtime.store, Event) if e.kind == "channel"]
    assert outcomes == ["conflict", "recovered"]


async def test_a_refused_token_marks_the_channel_unhealthy(
    fake_bot: FakeBot, poller: TelegramPoller, runtime: Runtime
) -> None:
    fake_bot.api.token = "987654321:another-bot"
    assert await poller.cycle() == poller.cfg.backoff_max_s
    health = runtime.health.components["telegram"]
    assert not health.ok and "401" in health.detail and "bot_token" in health.detail
    assert "AAE-test-token" not in health.detail


async def test_5xx_backs_off_and_becomes_unhealthy_when_it_lasts(
    fake_bot: FakeBot, poller: TelegramPoller, runtime: Runtime
) -> None:
    fake_bot.api.faults.append(Fault(status=502, method="getUpdates", times=3))
    delays = [await poller.cycle() for _ in range(3)]
    assert all(0 < d <= poller.cfg.backoff_max_s for d in delays)
    assert not runtime.health.components["telegram"].ok
    await poller.cycle()
    assert runtime.health.components["telegram"].ok


async def test_stop_during_a_long_poll_is_prompt_and_loses_nothing(
    fake_bot: FakeBot, runtime: Runtime
) -> None:
    channels.telegram.register(runtime)
    [poller] = [s for s in runtime.services if isinstance(s, TelegramPoller)]
    await poller.start()
    await eventually(lambda: get_updates(fake_bot), what="a long poll")
    await poller.stop()
    assert poller._task is not None and poller._task.done()
    assert await offset(runtime.store) is None


async def test_only_the_leader_polls_on_postgres(
    fake_bot: FakeBot, runtime: Runtime, store: Store
) -> None:
    if not store.is_postgres:
        pytest.skip("SQLite: one instance per database, always the leader")
    second = Runtime(settings=runtime.settings, store=store, intake=Intake(runtime.settings, store))
    pollers = []
    for rt in (runtime, second):
        channels.telegram.register(rt)
        pollers += [s for s in rt.services if isinstance(s, TelegramPoller)]
    for p in pollers:
        await p.start()
    try:
        fake_bot.api.add_update(fixture("text_keyword"))
        await eventually(lambda: rows(store, Complaint), what="the complaint")
        assert sorted(p._leading for p in pollers) == [False, True]
    finally:
        for p in pollers:
            await p.stop()


async def test_readyz_lists_the_channel_as_degraded_but_stays_ready(
    fake_bot: FakeBot, poller: TelegramPoller, runtime: Runtime
) -> None:
    fake_bot.api.token = "987654321:another-bot"
    await poller.cycle()
    async with TestClient(TestServer(build_http_app(runtime))) as client:
        resp = await client.get("/readyz")
        body = await resp.json()
        metrics = await (await client.get("/metrics")).text()
    assert resp.status == 200 and body["ready"] is True
    assert body["degraded"] == ["telegram"]
    assert "401" in body["components"]["telegram"]["detail"]
    assert 'lapor_component_up{component="telegram"} 0.0' in metrics
