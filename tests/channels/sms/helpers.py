"""Small waits and store queries shared by the SMS tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select

from channels.sms.modem import ModemReader
from gateway.runtime import Runtime
from gateway.store.db import Store
from gateway.store.models import Complaint, Event, InboundMessage


async def eventually(check: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll a (sync or async) check until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


async def inbound(store: Store) -> list[InboundMessage]:
    async with store.reader() as s:
        return list((await s.scalars(select(InboundMessage).order_by(InboundMessage.id))).all())


async def complaints(store: Store) -> list[Complaint]:
    async with store.reader() as s:
        return list((await s.scalars(select(Complaint).order_by(Complaint.created_at))).all())


async def events_of(store: Store, kind: str | None = None) -> list[Event]:
    async with store.reader() as s:
        query = select(Event).order_by(Event.id)
        if kind:
            query = query.where(Event.kind == kind)
        return list((await s.scalars(query)).all())


def reader(rt: Runtime) -> ModemReader:
    return next(s for s in rt.services if isinstance(s, ModemReader))


@asynccontextmanager
async def running(rt: Runtime, **sms_overrides: Any) -> AsyncIterator[Runtime]:
    """Register the SMS channel (config tweaks optional) and run its services."""
    import channels.sms

    if sms_overrides:
        sms = rt.settings.channels.sms
        modem = sms.modem.model_copy(update=sms_overrides)
        channels_cfg = rt.settings.channels.model_copy(
            update={"sms": sms.model_copy(update={"modem": modem})}
        )
        rt.settings.file = rt.settings.file.model_copy(update={"channels": channels_cfg})
    channels.sms.register(rt)
    for service in rt.services:
        await service.start()
    try:
        yield rt
    finally:
        for service in reversed(rt.services):
            await service.stop()


def health(rt: Runtime) -> str:
    component = rt.health.components.get("sms-modem")
    return "" if component is None else ("ok" if component.ok else component.detail)
