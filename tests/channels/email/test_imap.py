"""The IMAP poller against a real IMAP server (Dovecot, else pymap), on both stores.

The test side talks to the server with the standard library's imaplib, not with the
library under test.
"""

from __future__ import annotations

import asyncio
import imaplib
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from channels.email.imap_poller import ImapPoller
from gateway.intake import Intake
from gateway.runtime import Runtime
from gateway.store.db import Store
from gateway.store.models import Complaint, Cursor, Event
from tests.channels.email.conftest import fixture_bytes
from tests.channels.email.imap_server import Dovecot, ImapAccount

TIMEOUT = 15.0


@pytest.fixture
def imap_options() -> dict[str, Any]:
    return {}


@pytest.fixture
def email_sections(imap: ImapAccount, imap_options: dict[str, Any]) -> str:
    return imap.toml(**imap_options)


class Mailbox:
    """The test's own view of the account, through imaplib."""

    def __init__(self, account: ImapAccount):
        self.account = account

    def _call(self, fn: Callable[[imaplib.IMAP4], Any]) -> Any:
        conn = imaplib.IMAP4(self.account.host, self.account.port, timeout=10)
        try:
            conn.login(self.account.user, self.account.password)
            return fn(conn)
        finally:
            conn.logout()

    async def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        def run(conn: imaplib.IMAP4) -> None:
            for message in messages:
                typ, _ = conn.append(folder, None, None, message.replace(b"\r\n", b"\n"))
                assert typ == "OK"

        await asyncio.to_thread(self._call, run)

    async def flags(self, folder: str = "INBOX") -> list[str]:
        def run(conn: imaplib.IMAP4) -> list[str]:
            conn.select(folder)
            typ, data = conn.uid("FETCH", "1:*", "(FLAGS)")
            assert typ == "OK"
            return [
                m.group(1).decode()
                for item in data
                if item and (m := re.search(rb"FLAGS \(([^)]*)\)", item))
            ]

        return await asyncio.to_thread(self._call, run)

    async def count(self, folder: str) -> int:
        def run(conn: imaplib.IMAP4) -> int:
            typ, data = conn.select(folder)
            return int(data[0]) if typ == "OK" else -1

        return await asyncio.to_thread(self._call, run)


@pytest.fixture
def mailbox(imap: ImapAccount) -> Mailbox:
    return Mailbox(imap)


@pytest.fixture
async def poller(runtime: Runtime) -> AsyncIterator[ImapPoller]:
    service = ImapPoller(runtime)
    yield service
    await service.stop()


async def wait_for(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def count(rt: Runtime, model: type, *where: Any) -> int:
    async with rt.store.reader() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def test_mail_is_taken_in_order_and_marked_seen_after_commit(
    runtime: Runtime, poller: ImapPoller, mailbox: Mailbox
) -> None:
    await mailbox.append(
        fixture_bytes("gmail_reply_qp.eml"),
        fixture_bytes("postfix_bounce.eml"),
        fixture_bytes("two_regions.eml"),
    )
    await poller.start()
    await wait_for(lambda: count(runtime, Event), "three mails in the log")
    await wait_for(lambda: _all_seen(mailbox, 3), "every message flagged \\Seen after its commit")
    async with runtime.store.reader() as s:
        regions = sorted((await s.scalars(select(Complaint.region_code))).all())
        reasons = (await s.scalars(select(Event.reason).where(Event.outcome == "rejected"))).all()
        cursor = await s.scalar(select(Cursor))
    assert regions == ["AGAM", "AGAM", "SBY"]  # the two-region mail is one per region
    assert reasons == ["bounce"]
    assert json.loads(cursor.value)["uid"] >= 3
    assert cursor.key.endswith("/INBOX")
    assert runtime.health.components["email.imap"].ok


async def _all_seen(mailbox: Mailbox, n: int) -> bool:
    flags = await mailbox.flags()
    return len(flags) == n and all("\\Seen" in f for f in flags)


async def test_new_mail_arrives_through_idle(
    runtime: Runtime, poller: ImapPoller, mailbox: Mailbox, imap: ImapAccount
) -> None:
    if imap.backend != "dovecot":
        pytest.skip("pymap's IDLE needs a second connection's change notification")
    await poller.start()
    await wait_for(lambda: _polled(poller), "the first scan")
    polls_before = poller.polls
    await mailbox.append(fixture_bytes("yahoo_latin1.eml"))
    await wait_for(lambda: count(runtime, Complaint), "the complaint pushed by IDLE")
    # The complaint is visible once its batch commits; the scan ends after its \Seen.
    await wait_for(lambda: _polled(poller, polls_before), "the end of that scan")
    assert poller.polls == polls_before + 1  # woken once by the push, not by a timer


async def _polled(poller: ImapPoller, since: int = 0) -> bool:
    return poller.polls > since


@pytest.mark.parametrize("imap_options", [{"move_to": "Diproses"}])
async def test_move_to_folder_after_commit(
    runtime: Runtime, poller: ImapPoller, mailbox: Mailbox
) -> None:
    await mailbox.append(fixture_bytes("gmail_reply_qp.eml"), fixture_bytes("yahoo_latin1.eml"))
    await poller.start()
    await wait_for(lambda: _moved(mailbox, 2), "both messages moved to Diproses")
    assert await count(runtime, Complaint) == 2


async def _moved(mailbox: Mailbox, n: int) -> bool:
    return await mailbox.count("INBOX") == 0 and await mailbox.count("Diproses") == n


async def test_new_uidvalidity_rereads_the_mailbox_and_dedup_absorbs_it(
    runtime: Runtime, poller: ImapPoller, mailbox: Mailbox
) -> None:
    await mailbox.append(fixture_bytes("gmail_reply_qp.eml"))
    # A cursor from before the mailbox was rebuilt (another UIDVALIDITY, high UIDs).
    async with runtime.store.transaction() as s:
        s.add(Cursor(key=poller.key, value=json.dumps({"uidvalidity": 1, "uid": 9999})))
    await poller.start()
    await wait_for(lambda: count(runtime, Complaint), "the mail under the old cursor")
    async with runtime.store.reader() as s:
        reasons = (await s.scalars(select(Event.outcome).where(Event.kind == "channel"))).all()
    assert reasons == ["uidvalidity_changed"]


async def test_crash_between_commit_and_seen_is_acked_on_reconnect(
    runtime: Runtime, poller: ImapPoller, mailbox: Mailbox, imap: ImapAccount
) -> None:
    """The cursor covers a message that never got its \\Seen: the next session sets it
    without taking the message a second time."""
    await mailbox.append(fixture_bytes("gmail_reply_qp.eml"))
    uidvalidity = await asyncio.to_thread(_uidvalidity, imap)
    async with runtime.store.transaction() as s:
        s.add(Cursor(key=poller.key, value=json.dumps({"uidvalidity": uidvalidity, "uid": 1})))
    await poller.start()
    await wait_for(lambda: _all_seen(mailbox, 1), "the leftover acked")
    assert await count(runtime, Complaint) == 0


def _uidvalidity(imap: ImapAccount) -> int:
    conn = imaplib.IMAP4(imap.host, imap.port)
    try:
        conn.login(imap.user, imap.password)
        conn.select("INBOX")
        return int(conn.response("UIDVALIDITY")[1][0])
    finally:
        conn.logout()


async def test_server_drops_us_and_the_poller_reconnects(
    runtime: Runtime,
    poller: ImapPoller,
    mailbox: Mailbox,
    imap: ImapAccount,
    dovecot: Dovecot | None,
) -> None:
    if dovecot is None:
        pytest.skip("needs doveadm kick (Dovecot)")
    await poller.start()
    await wait_for(lambda: _polled(poller), "the first scan")
    await asyncio.to_thread(dovecot.kick, imap.user)
    await wait_for(
        lambda: _event(runtime, "error"), "the dropped connection recorded as a channel event"
    )
    await mailbox.append(fixture_bytes("english_reply_sig.eml"))
    await wait_for(lambda: count(runtime, Complaint), "the mail after reconnecting")
    assert runtime.health.components["email.imap"].ok


async def _event(rt: Runtime, outcome: str) -> int:
    return await count(rt, Event, Event.kind == "channel", Event.outcome == outcome)


@pytest.mark.parametrize("imap_options", [{"password": "salah"}])
async def test_wrong_password_marks_the_channel_unhealthy_and_keeps_trying(
    runtime: Runtime, poller: ImapPoller
) -> None:
    await poller.start()
    await wait_for(lambda: _event(runtime, "error"), "the login failure event")
    assert runtime.health.components["email.imap"].ok is False
    assert "LOGIN" in runtime.health.components["email.imap"].detail
    await asyncio.sleep(1.0)
    assert await _event(runtime, "error") == 1  # one event per outage, not per retry


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the store used is a dead one
async def test_database_down_at_start_keeps_the_poller_asking(
    runtime: Runtime, mailbox: Mailbox
) -> None:
    """No database for the PostgreSQL lock: the poller says so and retries, nothing acked."""
    dead = Store("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    rt = Runtime(settings=runtime.settings, store=dead, intake=Intake(runtime.settings, dead))
    service = ImapPoller(rt)
    await mailbox.append(fixture_bytes("gmail_reply_qp.eml"))
    await service.start()
    try:
        await wait_for(lambda: _lock_down(rt), "the missing database reported")
        await asyncio.sleep(0.5)
        assert service._task is not None and not service._task.done()
        assert not any("\\Seen" in f for f in await mailbox.flags())
    finally:
        await service.stop()
        await dead.close()


async def _lock_down(rt: Runtime) -> bool:
    component = rt.health.components.get("email.imap")
    return component is not None and "database unavailable" in component.detail


async def test_a_message_gone_before_its_fetch_is_logged_not_skipped_silently(
    runtime: Runtime, poller: ImapPoller, mailbox: Mailbox, imap: ImapAccount
) -> None:
    await mailbox.append(fixture_bytes("gmail_reply_qp.eml"))
    uidvalidity = await asyncio.to_thread(_uidvalidity, imap)
    client = await poller._connect(asyncio.Event())
    try:
        await client.select("INBOX")
        await poller._take(client, 999, uidvalidity)  # a UID the server does not hold
    finally:
        await client.logout()
    async with runtime.store.reader() as s:
        [event] = (await s.scalars(select(Event))).all()
        cursor = await s.scalar(select(Cursor))
    assert (event.outcome, event.reason, event.detail) == (
        "rejected",
        "expunged",
        {"via": "imap", "uid": 999},
    )
    assert json.loads(cursor.value) == {"uidvalidity": uidvalidity, "uid": 999}
    assert await count(runtime, Complaint) == 0
