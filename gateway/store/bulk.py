"""Multi-row inserts for intake's group commit, without the per-value cost of Core binds.

A batch of 256 messages writes ~1,500 values. SQLAlchemy's executemany runs every value
through its bind processors (a TypeDecorator, then the dialect's datetime formatter) and
builds an execution context around them: on SQLite that was most of the writer thread's
time. Here SQLite gets the statement rendered once per table and the values converted by
plain functions producing exactly what those processors would (timestamps as naive UTC
text, JSON as json.dumps text), then one DB-API executemany. PostgreSQL keeps Core's
executemany, which asyncpg sends as multi-row INSERTs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.models import UTCDateTime

Convert = Callable[[Any], Any]


async def insert_rows(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row in one statement; the rows name the same columns, in one order."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        await conn.execute(insert(table), list(rows))
        return
    sql, columns = _sqlite_insert(table, tuple(rows[0]))
    await conn.exec_driver_sql(
        sql, [tuple(convert(row[name]) for name, convert in columns) for row in rows]
    )


@cache
def _sqlite_insert(
    table: Table, keys: tuple[str, ...]
) -> tuple[str, tuple[tuple[str, Convert], ...]]:
    chosen = [table.columns[key] for key in keys]
    names = ", ".join(f'"{c.name}"' for c in chosen)
    marks = ", ".join("?" for _ in chosen)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
    return sql, tuple((c.key, _converter(c.type)) for c in chosen)


def _converter(column_type: object) -> Convert:
    if isinstance(column_type, UTCDateTime):
        return _sqlite_datetime
    if isinstance(column_type, JSON):
        return _json
    return _same


def _same(value: Any) -> Any:
    return value


def _json(value: Any) -> str:
    return json.dumps(value)  # as SQLAlchemy's JSON type stores it (None too, as 'null')


def _sqlite_datetime(value: datetime | None) -> str | None:
    """UTCDateTime then SQLite's DATETIME: naive UTC, 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use an aware one")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
