"""Engine set-up for both databases and the one way to open a write transaction."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 30_000


class StoreUnavailable(Exception):
    """The database could not be reached or refused the work; the caller must not ack."""


class NotMigrated(Exception):
    """The database schema is missing or older than this code."""


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # Driver errors reach logs and health details: never let them quote row values
    # (phone numbers, complaint text).
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, decide when transactions begin, so that
            # the "begin" hook below can make every transaction BEGIN IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock up front: a deferred transaction that later upgrades
            # to a writer can fail with SQLITE_BUSY without waiting for busy_timeout.
            # Readers (the log follower, the console) begin deferred and never block writers.
            readonly = conn.get_execution_options().get("readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


class Store:
    """Holds the engine; `transaction()` is the unit of work for everything that writes."""

    def __init__(self, url: str, **engine_kwargs: Any):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(
            self.engine.execution_options(readonly=True), expire_on_commit=False
        )
        # SQLite has one writer at a time anyway; queueing writers here instead of in
        # busy_timeout keeps 200 concurrent submits fair and free of SQLITE_BUSY.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        # (monotonic time, reason) of the last failed write, None once a write succeeds:
        # reads can work while writes fail (a full disk), and /readyz must say so.
        self.write_failure: tuple[float, str] | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commits when the block ends, rolls back on any exception.

        Database errors come out as StoreUnavailable so channels can answer
        "try again later" (HTTP 503, SMTP 451) without knowing SQLAlchemy.
        """
        if self._write_lock is not None:
            await self._write_lock.acquire()
        try:
            async with self.sessions() as session:
                try:
                    async with session.begin():
                        yield session
                except (OperationalError, DBAPIError, OSError, ConnectionError) as e:
                    if isinstance(e, DBAPIError) and not isinstance(e, OperationalError):
                        if not _is_connection_problem(e):
                            raise
                    reason = str(e).splitlines()[0]
                    self.write_failure = (time.monotonic(), reason)
                    raise StoreUnavailable(reason) from e
                self.write_failure = None
        finally:
            if self._write_lock is not None:
                self._write_lock.release()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A read-only session: on SQLite it does not take the write lock."""
        async with self.read_sessions() as session:
            yield session

    async def check_migrated(self) -> None:
        from gateway.store.migrate import head_revision

        try:
            async with self.engine.connect() as conn:
                rev = (
                    await conn.execute(text("SELECT version_num FROM alembic_version"))
                ).scalar_one_or_none()
        except (OSError, ConnectionError) as e:
            raise StoreUnavailable(str(e)) from e
        except (OperationalError, DBAPIError) as e:
            if _is_connection_problem(e):
                raise StoreUnavailable(str(e).splitlines()[0]) from e
            rev = None
        if rev != head_revision():
            raise NotMigrated(
                f"database is at revision {rev or 'none'}, this code needs {head_revision()}"
            )

    async def close(self) -> None:
        await self.engine.dispose()


def _is_connection_problem(e: DBAPIError) -> bool:
    return bool(e.connection_invalidated) or isinstance(e.orig, (OSError, ConnectionError))
