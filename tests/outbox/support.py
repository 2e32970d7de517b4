"""Helpers for the outbox suite: a runtime pointed at the sandbox, draining, reading back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select

from gateway.events import event_json
from gateway.outbox import OutboxWorker
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.store.models import Complaint, Event, OutboxItem


def with_lapor(settings: Settings, **changes: Any) -> Settings:
    lapor = settings.lapor.model_copy(update=changes)
    return Settings(
        settings.path, settings.file.model_copy(update={"lapor": lapor}), settings.regions
    )


def point_at(rt: Runtime, url: str, **changes: Any) -> None:
    rt.settings = with_lapor(rt.settings, **({"base_url": url, "timeout_s": 1.0} | changes))


async def drain(worker: OutboxWorker, timeout: float = 20.0) -> None:
    """Run the worker until no row is pending or claimed (waiting out backoff delays)."""
    deadline = time.monotonic() + timeout
    while True:
        await worker.run_until_idle()
        async with worker.rt.store.reader() as session:
            open_rows = await session.scalar(
                select(OutboxItem.id).where(OutboxItem.status.in_(("pending", "sending")))
            )
        if open_rows is None:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("outbox did not drain")
        await asyncio.sleep(0.02)


async def complaint(rt: Runtime, complaint_id: str) -> Complaint:
    async with rt.store.reader() as session:
        found = await session.get(Complaint, complaint_id)
    assert found is not None
    return found


async def outbox_rows(rt: Runtime, kind: str | None = None) -> list[OutboxItem]:
    async with rt.store.reader() as session:
        query = select(OutboxItem).order_by(OutboxItem.id)
        if kind:
            query = query.where(OutboxItem.kind == kind)
        return list((await session.scalars(query)).all())


async def events_of(rt: Runtime, kind: str) -> list[dict[str, Any]]:
    async with rt.store.reader() as session:
        rows = await session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id))
        return [event_json(e) for e in rows]
