"""Polling mode: getUpdates long polling, for offices without a public HTTPS URL.

The offset (the next update_id wanted) lives in the `cursors` table and moves to
update_id + 1 IN THE SAME transaction that stores the update (receive.py), so it never
passes an update that is not stored: a crash costs at most a redelivery of the updates
after it, which Telegram makes when asked with the saved offset. Asking with an offset
is also what tells Telegram to forget the updates before it. On PostgreSQL only the
leader polls (two getUpdates callers on one bot make Telegram answer 409 to one of them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from channels.telegram.client import BotApi, BotApiError
from channels.telegram.config import TelegramConfig
from channels.telegram.receive import CHANNEL, TOKEN_REFUSED, InTransaction, TelegramReceiver
from gateway.logsafe import log_failure
from gateway.poll_faults import PollFaults
from gateway.runtime import Runtime
from gateway.store.db import StoreUnavailable
from gateway.store.models import Cursor

log = logging.getLogger(__name__)

OFFSET_KEY = "telegram:offset"


async def read_offset(session: AsyncSession) -> int | None:
    row = await session.get(Cursor, OFFSET_KEY)
    return int(row.value) if row is not None else None


def offset_writer(offset: int) -> InTransaction:
    """Move the offset forward (never back) in the caller's transaction."""

    async def write(session: AsyncSession) -> None:
        row = await session.get(Cursor, OFFSET_KEY)
        if row is None:
            session.add(Cursor(key=OFFSET_KEY, value=str(offset)))
        elif offset > int(row.value):
            row.value = str(offset)

    return write


class TelegramPoller:
    name = "telegram-poller"

    def __init__(self, rt: Runtime, api: BotApi, cfg: TelegramConfig, receiver: TelegramReceiver):
        self.rt = rt
        self.api = api
        self.cfg = cfg
        self.receiver = receiver
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._leading = False
        self.faults = PollFaults(rt, CHANNEL, self.cfg.backoff_base_s, self.cfg.backoff_max_s)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            if not self._leading:
                self._task.cancel()  # only waiting for leadership: nothing in flight
            try:  # let the update in flight finish (a long poll in flight is dropped)
                await asyncio.wait_for(asyncio.shield(self._task), timeout=10.0)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        await self.api.close()

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                async with self.rt.leadership("telegram"):
                    self._leading = True
                    log.info("telegram poller leads")
                    while not self._stop.is_set():
                        await self._sleep(await self.cycle())
            except Exception as e:  # the leadership connection broke: wait, then ask again
                log_failure(log, "telegram leadership lost", e)
                self.rt.health.set(CHANNEL, False, "koneksi basis data untuk kepemimpinan putus")
                await self._sleep(self.cfg.backoff_base_s)
            finally:
                self._leading = False

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    async def cycle(self) -> float:
        """One getUpdates and its updates into the store. Returns the seconds to wait."""
        try:
            offset = await self._read_offset()
            updates = await self._fetch(offset)
            if updates is None:
                return 0.0
            for update in sorted(updates, key=_update_id):
                if self._stop.is_set():
                    break  # the offset stops at the last stored update
                await self._store(update, offset)
        except BotApiError as e:
            return await self._on_fault(e.kind, e.description, e.status, e.retry_after)
        except StoreUnavailable as e:
            return await self._on_fault("store", str(e)[:200], None, None)
        except Exception as e:  # a bug must not end polling; it is logged and retried
            log_failure(log, "telegram poll failed", e)
            return await self._on_fault("internal", type(e).__name__, None, None)
        await self._on_success()
        return 0.0  # long polling: getUpdates itself waits for news

    async def _read_offset(self) -> int | None:
        try:
            async with self.rt.store.reader() as session:
                return await read_offset(session)
        except (OSError, SQLAlchemyError) as e:  # readers are not wrapped like writes
            raise StoreUnavailable(f"reading the offset: {type(e).__name__}") from None

    async def _fetch(self, offset: int | None) -> list[Any] | None:
        """getUpdates, given up (None) as soon as the gateway stops."""
        fetch = asyncio.create_task(self.api.get_updates(offset, self.cfg.long_poll_timeout_s))
        stopping = asyncio.create_task(self._stop.wait())
        await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not fetch.done():
            fetch.cancel()  # nothing is lost: unconfirmed updates come again
            with contextlib.suppress(asyncio.CancelledError, BotApiError):
                await fetch
            return None
        return fetch.result()

    async def _store(self, update: Any, offset: int | None) -> None:
        update_id = _update_id(update)
        if update_id < 0:  # no id to confirm it by: logged; Telegram never sends one
            await self.receiver.receive(update)
            return
        if offset is not None and update_id < offset:
            return  # confirmed already (an API that ignores offset)
        await self.receiver.receive(update, also=offset_writer(update_id + 1))

    # --- faults, health, events --------------------------------------------------------

    async def _on_fault(
        self, kind: str, detail: str, status: int | None, retry_after: float | None
    ) -> float:
        delay = self.faults.failed()
        ok = False
        if kind == "rate_limited":
            delay = retry_after if retry_after is not None else delay
            message = f"dibatasi Telegram (429); getUpdates dilanjutkan dalam {delay:.0f} detik"
            ok = True  # expected and self-healing: the gateway stays ready
        elif kind == "unauthorized":
            delay = self.cfg.backoff_max_s
            message = TOKEN_REFUSED
        elif kind == "conflict" and "webhook" in detail.lower():
            message = (
                "Telegram menolak getUpdates (409) karena webhook masih terpasang: hapus "
                'dengan deleteWebhook, atau pakai mode = "webhook" di [channels.telegram]'
            )
        elif kind == "conflict":
            message = (
                "Telegram menolak getUpdates (409): bot ini juga dipakai poller lain "
                "(gateway lain dengan token yang sama?)"
            )
        else:
            message = f"gangguan Telegram ({kind}: {detail}); dicoba lagi dalam {delay:.0f} detik"
            ok = not self.faults.outage
        return await self.faults.report(kind, detail, status, delay, message, ok)

    async def _on_success(self) -> None:
        await self.faults.succeeded("getUpdates berjalan")


def _update_id(update: Any) -> int:
    value = update.get("update_id") if isinstance(update, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else -1
