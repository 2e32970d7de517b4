"""What every part of a running gateway shares: settings, store, intake, health, senders.

Channels register themselves through `Runtime` (see gateway/app.py): they add background
services, HTTP routes and a reply sender. Nothing else about a channel is known here.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web
from sqlalchemy import text

from gateway.logsafe import redact
from gateway.store.models import utcnow

if TYPE_CHECKING:  # channels import this module while settings imports their config
    from gateway.intake import Intake
    from gateway.settings import Settings
    from gateway.store.db import Store

log = logging.getLogger(__name__)


class Service(Protocol):
    """A long-running part (poller, listener, worker). stop() must let in-flight work finish."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Reply:
    """A message to a citizen, produced by the outbox for a channel's send side."""

    channel: str
    recipient: str
    text: str
    complaint_id: str | None = None
    in_reply_to: str | None = None  # the source's id (tweet id, Message-ID, ...)
    idempotency_key: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    external_id: str | None = None
    error: str | None = None
    retry: bool = True  # False: permanent failure, do not try again
    retry_after: float | None = None  # seconds the provider asked us to wait (429)


ReplySender = Callable[[Reply], Awaitable[SendResult]]


@dataclass
class ComponentHealth:
    ok: bool
    detail: str = ""
    since: datetime = field(default_factory=utcnow)


class Health:
    """Per-component status for /readyz, /metrics and the console."""

    def __init__(self) -> None:
        self.components: dict[str, ComponentHealth] = {}

    def set(self, name: str, ok: bool, detail: str = "") -> None:
        detail = redact(detail)  # details are public on /readyz
        current = self.components.get(name)
        if current is None or current.ok != ok or current.detail != detail:
            self.components[name] = ComponentHealth(ok, detail)
            if not ok:
                log.warning("component unhealthy", extra={"component": name, "detail": detail})

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.components.values())

    def as_json(self) -> dict[str, Any]:
        return {
            name: {"ok": c.ok, "detail": c.detail, "since": c.since.isoformat()}
            for name, c in sorted(self.components.items())
        }


@dataclass
class Runtime:
    settings: Settings
    store: Store
    intake: Intake
    health: Health = field(default_factory=Health)
    services: list[Service] = field(default_factory=list)
    senders: dict[str, ReplySender] = field(default_factory=dict)
    routes: list[web.RouteDef] = field(default_factory=list)
    # Called with the aiohttp app before it starts (sub-apps, middlewares, templates).
    app_setups: list[Callable[[web.Application], None]] = field(default_factory=list)
    # Called after a reload replaced settings.regions (for what is derived from regions).
    reload_hooks: list[Callable[[], None]] = field(default_factory=list)

    def add_service(self, service: Service) -> None:
        self.services.append(service)

    def add_sender(self, channel: str, sender: ReplySender) -> None:
        self.senders[channel] = sender

    @asynccontextmanager
    async def leadership(self, name: str) -> AsyncIterator[None]:
        """Hold leadership for a poller (twitter, IMAP, a modem port) while the block runs.

        PostgreSQL: a session advisory lock, so among many gateway instances on one database
        only one polls; others wait here until the leader goes away. SQLite: one instance
        per database, so always the leader.
        """
        if not self.store.is_postgres:
            yield
            return
        key = zlib.crc32(name.encode()) & 0x7FFFFFFF
        async with self.store.engine.connect() as conn:
            while not (
                await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            ).scalar_one():
                await conn.rollback()
                await asyncio.sleep(2.0)
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
