"""IMAP poller: takes the mail of one mailbox, in UID order, exactly once.

Position: a cursor row `imap:<user>@<host>/<mailbox>` holds {"uidvalidity", "uid"} of the
last message taken. It is written in the same transaction as that message (through an
intake hook, or beside the rejected event of a bounce), so a crash never skips a message.
When the server reports a new UIDVALIDITY, UIDs mean nothing any more: the mailbox is read
again from the start (unseen mail only when acking with \\Seen) and dedup on the Message-ID
absorbs what was already taken.

Ack: `\\Seen` (or a move to `move_to`) only after the commit. A crash between the commit and
the ack leaves a taken message unacked; every (re)connect first acks such leftovers (UIDs at
or below the cursor that are still unseen, or still in the mailbox when moving).

Runs under `rt.leadership("imap")`, so among several gateway instances only one polls.
Waits with IDLE where the server offers it, else every `poll_interval_s`; reconnects with
exponential backoff and full jitter after any failure, with the health status set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aioimaplib

from channels.email.cursor import ImapCursor, load_cursor
from channels.email.inbound import MailIntake
from gateway import events
from gateway.logsafe import log_failure
from gateway.runtime import Runtime
from gateway.store.db import StoreUnavailable

log = logging.getLogger(__name__)

HEALTH = "email.imap"


class ImapError(Exception):
    """The server refused a command; the poller reconnects."""


_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.IGNORECASE)
_UID = re.compile(rb"\bUID (\d+)", re.IGNORECASE)
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"', re.IGNORECASE)


def _fetched(lines: list[Any], uid: int) -> tuple[bytes | None, datetime]:
    """The message literal of `uid` in a FETCH answer, and its INTERNALDATE.

    Servers order the items freely (UID and INTERNALDATE may follow the literal) and may
    add unsolicited FETCH lines for other messages, so match around each literal.
    """
    for i, line in enumerate(lines):
        if not isinstance(line, bytearray) or i == 0:
            continue
        around = bytes(lines[i - 1]) + b" " + (bytes(lines[i + 1]) if i + 1 < len(lines) else b"")
        found = _UID.search(around)
        if found and int(found.group(1)) == uid:
            date = _INTERNALDATE.search(around)
            return bytes(line), _imap_date(date.group(1)) if date else datetime.now(UTC)
    return None, datetime.now(UTC)


def _imap_date(value: bytes) -> datetime:
    """INTERNALDATE '23-Nov-2026 09:44:00 +0000' -> aware datetime (now if unreadable)."""
    try:
        day, month, rest = value.decode().split("-", 2)
        year, clock, zone = rest.split(" ")
        return parsedate_to_datetime(f"{day} {month} {year} {clock} {zone}")
    except (ValueError, TypeError, IndexError):
        return datetime.now(UTC)


class ImapPoller:
    name = "email-imap"

    def __init__(self, rt: Runtime, mail: MailIntake | None = None):
        self.rt = rt
        self.cfg = rt.settings.channels.email.imap
        self.mail = mail or MailIntake(rt)
        self.key = f"imap:{self.cfg.username}@{self.cfg.host}/{self.cfg.mailbox}"
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._taking = False  # between fetching a message and acking it
        self.polls = 0  # completed mailbox scans, for tests and metrics

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._lead(), name="email-imap")

    async def stop(self) -> None:
        """Let the message in hand finish (commit and ack); cancel any other waiting."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        # Waiting in IDLE or a sleep ends at once on the stop event; a login or a
        # reconnect backoff may not, and holds nothing worth waiting for.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), timeout=30 if self._taking else 2)
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    # --- the loop -----------------------------------------------------------------------

    async def _lead(self) -> None:
        # On PostgreSQL the lock needs the database: while it is down, report and ask again
        # (_poll_forever handles every other failure itself).
        backoff = self.cfg.backoff_min_s
        while not self._stopping.is_set():
            try:
                async with self.rt.leadership("imap"):
                    await self._poll_forever()
                return
            except Exception as e:
                log_failure(log, "imap leadership unavailable", e)
                self.rt.health.set(HEALTH, False, "database unavailable for the IMAP lock")
                await self._sleep(random.uniform(0, backoff))
                backoff = min(backoff * 2, self.cfg.backoff_max_s)

    async def _poll_forever(self) -> None:
        backoff = self.cfg.backoff_min_s
        while not self._stopping.is_set():
            polls = self.polls
            try:
                await self._session()
                return
            except (
                StoreUnavailable,
                OSError,
                TimeoutError,
                aioimaplib.AioImapException,
                ImapError,
            ) as e:
                detail = f"{type(e).__name__}: {str(e)[:200]}"
            except Exception as e:  # a bug must not end polling for good
                log_failure(log, "imap poller failed", e)
                detail = f"{type(e).__name__}"
            if self.polls > polls:
                backoff = self.cfg.backoff_min_s  # it worked for a while: a new outage
            current = self.rt.health.components.get(HEALTH)
            if current is None or current.ok:
                await self._record_channel_event("error", detail)  # once per outage
            self.rt.health.set(HEALTH, False, detail)
            delay = random.uniform(0, backoff)
            backoff = min(backoff * 2, self.cfg.backoff_max_s)
            await self._sleep(delay)

    async def _record_channel_event(self, outcome: str, reason: str) -> None:
        try:
            async with self.rt.store.transaction() as session:
                events.record(
                    session,
                    kind="channel",
                    channel="email",
                    outcome=outcome,
                    reason=reason,
                    detail={"component": "imap"},
                )
        except StoreUnavailable:
            log.warning("imap channel event not recorded: store unavailable")

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _connect(self, lost: asyncio.Event) -> aioimaplib.IMAP4:
        cfg = self.cfg

        def on_lost(_exc: Exception | None) -> None:
            lost.set()

        client: aioimaplib.IMAP4
        if cfg.ssl:
            client = aioimaplib.IMAP4_SSL(
                host=cfg.host,
                port=cfg.port,
                timeout=30,
                ssl_context=ssl.create_default_context(),
                conn_lost_cb=on_lost,
            )
        else:
            client = aioimaplib.IMAP4(
                host=cfg.host, port=cfg.port, timeout=30, conn_lost_cb=on_lost
            )
        await client.wait_hello_from_server()
        _ok(await client.login(cfg.username, cfg.password), "LOGIN")
        return client

    async def _session(self) -> None:
        """One connection: catch up, then wait for new mail until stopped or broken."""
        lost = asyncio.Event()
        client = await self._connect(lost)
        try:
            uidvalidity = self._uidvalidity(
                _ok(await client.select(aioimaplib.quoted(self.cfg.mailbox)), "SELECT")
            )
            if self.cfg.move_to:
                # Make sure the folder exists; NO (it already does) is fine.
                await client.create(aioimaplib.quoted(self.cfg.move_to))
            await self._ack_leftovers(client, uidvalidity)
            healthy_once = False
            while not self._stopping.is_set():
                await self._scan(client, uidvalidity)
                self.polls += 1
                if not healthy_once:
                    self.rt.health.set(HEALTH, True, "")
                    healthy_once = True
                if client.has_capability("IDLE"):
                    await self._idle(client, lost)
                else:
                    await self._wait(lost, self.cfg.poll_interval_s)
                    _ok(await client.noop(), "NOOP")
        finally:
            if not lost.is_set():
                with contextlib.suppress(Exception):
                    if client.has_pending_idle():
                        client.idle_done()
                    await asyncio.wait_for(client.logout(), timeout=5)

    async def _wait(self, lost: asyncio.Event, seconds: float) -> None:
        """Sleep until the timeout, a stop, or the server hanging up (raised)."""
        waiters = {
            asyncio.ensure_future(self._stopping.wait()),
            asyncio.ensure_future(lost.wait()),
        }
        _, pending = await asyncio.wait(waiters, timeout=seconds, return_when="FIRST_COMPLETED")
        for w in pending:
            w.cancel()
        if lost.is_set():
            raise ImapError("the server closed the connection")

    def _uidvalidity(self, response: Any) -> int:
        for line in response.lines:
            if isinstance(line, bytes | bytearray):
                match = _UIDVALIDITY.search(bytes(line))
                if match:
                    return int(match.group(1))
        raise ImapError("server sent no UIDVALIDITY")

    async def _idle(self, client: aioimaplib.IMAP4, lost: asyncio.Event) -> None:
        idle = await client.idle_start(timeout=self.cfg.idle_timeout_s)
        push = asyncio.ensure_future(client.wait_server_push(timeout=self.cfg.idle_timeout_s + 5))
        try:
            waiters = {
                push,
                asyncio.ensure_future(self._stopping.wait()),
                asyncio.ensure_future(lost.wait()),
            }
            _, pending = await asyncio.wait(waiters, return_when="FIRST_COMPLETED")
            for w in pending:
                w.cancel()
            await asyncio.sleep(0)  # let a BYE's connection loss land before deciding
            if lost.is_set():
                raise ImapError("the server closed the connection")
        finally:
            push.cancel()
        client.idle_done()
        lost_waiter = asyncio.ensure_future(lost.wait())
        done, _ = await asyncio.wait({idle, lost_waiter}, timeout=10, return_when="FIRST_COMPLETED")
        lost_waiter.cancel()
        if idle not in done:
            raise ImapError("the server closed the connection during IDLE")

    # --- taking messages ----------------------------------------------------------------

    async def _scan(self, client: aioimaplib.IMAP4, uidvalidity: int) -> None:
        position = await load_cursor(self.rt, self.key)
        if position is None or position.uidvalidity != uidvalidity:
            if position is not None:
                await self._record_channel_event(
                    "uidvalidity_changed", f"{position.uidvalidity} -> {uidvalidity}"
                )
            criteria = ["ALL"] if self.cfg.move_to else ["UNSEEN"]
            last = 0
        else:
            last = position.uid
            criteria = ["UID", f"{last + 1}:*"]
        uids = [u for u in await self._search(client, *criteria) if u > last]
        for uid in sorted(uids):
            if self._stopping.is_set():
                return
            self._taking = True
            try:
                await self._take(client, uid, uidvalidity)
            finally:
                self._taking = False

    async def _search(self, client: aioimaplib.IMAP4, *criteria: str) -> list[int]:
        response = _ok(await client.uid_search(*criteria, charset=None), "UID SEARCH")
        uids: list[int] = []
        for line in response.lines:
            text = bytes(line).decode("ascii", "replace")
            if text.startswith("SEARCH") or (text and text.split()[0].isdigit()):
                uids.extend(int(t) for t in text.split() if t.isdigit())
        return uids

    async def _take(self, client: aioimaplib.IMAP4, uid: int, uidvalidity: int) -> None:
        response = _ok(
            await client.uid("fetch", str(uid), "(UID INTERNALDATE BODY.PEEK[])"), "UID FETCH"
        )
        raw, received_at = _fetched(response.lines, uid)
        cursor = ImapCursor(self.key, uidvalidity, uid)
        if raw is None:
            # Expunged since the search (or an answer we could not read): never silently.
            await self.mail.record_rejected(
                "expunged", detail={"via": "imap", "uid": uid}, cursor=cursor
            )
            return
        await self.mail.ingest(raw, received_at=received_at, via="imap", cursor=cursor)
        await self._ack(client, str(uid))

    async def _ack(self, client: aioimaplib.IMAP4, uid_set: str) -> None:
        if self.cfg.move_to:
            target = aioimaplib.quoted(self.cfg.move_to)
            if client.has_capability("MOVE"):
                _ok(await client.uid("move", uid_set, target), "UID MOVE")
                return
            _ok(await client.uid("copy", uid_set, target), "UID COPY")
            _ok(await client.uid("store", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), "UID STORE")
            if client.has_capability("UIDPLUS"):
                _ok(await client.uid("expunge", uid_set), "UID EXPUNGE")
            else:
                _ok(await client.expunge(), "EXPUNGE")
        else:
            _ok(await client.uid("store", uid_set, "+FLAGS.SILENT", r"(\Seen)"), "UID STORE")

    async def _ack_leftovers(self, client: aioimaplib.IMAP4, uidvalidity: int) -> None:
        """Ack what a crash left committed but unacked."""
        position = await load_cursor(self.rt, self.key)
        if position is None or position.uidvalidity != uidvalidity or not position.uid:
            return
        criteria = ["UID", f"1:{position.uid}"]
        if not self.cfg.move_to:
            criteria.append("UNSEEN")
        uids = [u for u in await self._search(client, *criteria) if u <= position.uid]
        if uids:
            await self._ack(client, ",".join(str(u) for u in sorted(uids)))


def _ok(response: Any, command: str) -> Any:
    if response.result != "OK":
        text = b" ".join(bytes(x) for x in response.lines[-1:]).decode("ascii", "replace")
        raise ImapError(f"{command} failed: {response.result} {text[:200]}")
    return response
