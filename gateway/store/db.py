"""Engine set-up for both databases and the one way to open a write transaction."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from gateway.logsafe import redact
from gateway.store.checkpointer import WAL_SAFETY_PAGES, Checkpointer
from gateway.store.sqlite_writer import WriterThread, connector

SQLITE_BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")


class StoreUnavailable(Exception):
    """The database could not be reached or refused the work; the caller must not ack."""

    def __init__(self, message: str):
        # Driver errors may quote the URL they tried; its password never goes further.
        super().__init__(redact(message))


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
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        engine = create_async_engine(url, **kwargs)

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
            # Statement journals (a SAVEPOINT per message) in memory, not in temp files.
            cur.execute("PRAGMA temp_store=MEMORY")
            # The Store's checkpointer thread does this work; commits only as a safety net.
            cur.execute(f"PRAGMA wal_autocheckpoint={WAL_SAFETY_PAGES}")
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
        database = make_url(url).database
        self._writer_db = database if self.is_sqlite and database != ":memory:" else None
        self._writer: WriterThread | None = None
        self._writer_engine: AsyncEngine | None = None
        self._checkpointer: Checkpointer | None = None
        # (monotonic time, reason) of the last failed write, None once a write succeeds:
        # reads can work while writes fail (a full disk), and /readyz must say so.
        self.write_failure: tuple[float, str] | None = None

    async def run_write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`work(session)` in one write transaction (intake's group commit).

        SQLite: on the writer thread with a synchronous connection, so the whole batch is
        one thread hop instead of one per statement. PostgreSQL: here, on the loop.
        """
        if self._writer_db is None:
            async with self.transaction() as session:
                return await work(session)
        assert self._write_lock is not None
        async with self._write_lock:
            if self._writer is None:
                self._start_checkpointer()
                self._writer = WriterThread()
                self._writer_engine = make_engine(
                    self.url,
                    async_creator=connector(self._writer_db, SQLITE_BUSY_TIMEOUT_MS / 1000),
                    pool_size=1,
                )
            return await self._writer.run(partial(self._write_on_writer, work))

    def _start_checkpointer(self) -> None:
        """With this store's first write: from then on its thread keeps the WAL short."""
        if self._checkpointer is None and self._writer_db is not None:
            self._checkpointer = Checkpointer(self._writer_db)

    async def _write_on_writer(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        assert self._writer_engine is not None
        with self._write_errors():
            async with AsyncSession(self._writer_engine, expire_on_commit=False) as session:
                async with session.begin():
                    return await work(session)

    @contextmanager
    def _write_errors(self) -> Iterator[None]:
        """_store_errors that also remembers the last failed write for /readyz."""
        try:
            with _store_errors():
                yield
        except StoreUnavailable as e:
            self.write_failure = (time.monotonic(), str(e))
            raise
        self.write_failure = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commits when the block ends, rolls back on any exception.

        Database errors come out as StoreUnavailable so channels can answer
        "try again later" (HTTP 503, SMTP 451) without knowing SQLAlchemy.
        """
        if self._write_lock is not None:
            await self._write_lock.acquire()
            self._start_checkpointer()
        try:
            async with self.sessions() as session:
                with self._write_errors():
                    async with session.begin():
                        yield session
        finally:
            if self._write_lock is not None:
                self._write_lock.release()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A read-only session: on SQLite it does not take the write lock."""
        async with self.read_sessions() as session:
            yield session

    async def check_migrated(self) -> str:
        """The database's revision; NotMigrated unless it is the head of this code."""
        from gateway.store.migrate import head_revision

        rev = await self.revision()
        if rev != head_revision():
            raise NotMigrated(
                f"database is at revision {rev or 'none'}, this code needs {head_revision()}"
            )
        return rev

    async def revision(self) -> str | None:
        """The Alembic revision the schema is at; None for an empty database."""
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
        return rev

    async def close(self) -> None:
        if self._writer is not None:
            assert self._writer_engine is not None
            await self._writer.run(self._writer_engine.dispose)
            self._writer.stop()
            self._writer = self._writer_engine = None
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None
        await self.engine.dispose()


@contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except (OperationalError, DBAPIError, OSError, ConnectionError) as e:
        if isinstance(e, DBAPIError) and not isinstance(e, OperationalError):
            if not _is_connection_problem(e):
                raise
        raise StoreUnavailable(str(e).splitlines()[0]) from e


def _is_connection_problem(e: DBAPIError) -> bool:
    return bool(e.connection_invalidated) or isinstance(e.orig, (OSError, ConnectionError))
