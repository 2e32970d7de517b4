"""SQLite's batch writer: one thread, one synchronous connection, its own event loop.

aiosqlite moves every statement to its thread and back: a group commit of 256 messages at
~8 statements each would cost ~2,000 thread hops. Here the whole batch coroutine runs on
a dedicated thread whose connection is plain sqlite3, wrapped in the small awaitable
surface SQLAlchemy's aiosqlite dialect drives. Its awaits complete at once, so the batch
(AsyncSession, hooks and callbacks included) is one hop there and one back.

The busy timeout (another process holding the write lock) blocks only this thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class _Cursor:
    """aiosqlite.Cursor's surface over a sqlite3 cursor, run in the calling thread."""

    def __init__(self, cursor: sqlite3.Cursor):
        self._cursor = cursor

    async def __aenter__(self) -> _Cursor:
        return self

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> _Cursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> _Cursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunNow:
    """Stands in for aiosqlite's request queue (the dialect sets isolation_level through it)."""

    def put_nowait(self, item: tuple[asyncio.Future[None], Callable[[], None]]) -> None:
        future, function = item
        try:
            function()
        except Exception as e:
            future.set_exception(e)
        else:
            future.set_result(None)


class _Connection:
    """aiosqlite.Connection's surface over a sqlite3 connection, run in the calling thread."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn
        self._tx = _RunNow()

    def cursor(self) -> _Cursor:
        return _Cursor(self._conn.cursor())

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        self._conn.close()
        self._connection = None


def connector(database: str, timeout_s: float) -> Callable[[], Awaitable[_Connection]]:
    """The `async_creator` for create_async_engine: a synchronous connection in disguise."""

    async def connect() -> _Connection:
        # Created and used on the writer thread only; check_same_thread guards nothing here
        # but would refuse the dispose that Store.close() runs there too.
        return _Connection(sqlite3.connect(database, timeout=timeout_s, check_same_thread=False))

    return connect


class WriterThread:
    """A daemon thread running an event loop; `run` hands it a coroutine and awaits it."""

    def __init__(self, name: str = "sqlite-writer"):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(_call(work), self._loop)
        return await asyncio.wrap_future(future)

    def run_blocking(self, work: Callable[[], Awaitable[T]]) -> T:
        return asyncio.run_coroutine_threadsafe(_call(work), self._loop).result()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


async def _call(work: Callable[[], Awaitable[T]]) -> T:
    return await work()
