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
from functools import cache, lru_cache
from operator import itemgetter
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
    sql, values_of, converts = _sqlite_insert(table, tuple(rows[0]))
    params: list[tuple[Any, ...]] = []
    for row in rows:
        values = values_of(row)
        if converts:
            changed = list(values)
            for i, convert in converts:
                changed[i] = convert(changed[i])
            values = tuple(changed)
        params.append(values)
    await conn.exec_driver_sql(sql, params)


@cache
def _sqlite_insert(
    table: Table, keys: tuple[str, ...]
) -> tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]], tuple[tuple[int, Convert], ...]]:
    """The statement, a getter of a row's values in its order, the values to convert."""
    chosen = [table.columns[key] for key in keys]
    names = ", ".join(f'"{c.name}"' for c in chosen)
    marks = ", ".join("?" for _ in chosen)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
    get = itemgetter(*keys)
    values_of = get if len(keys) > 1 else lambda row: (get(row),)
    converts = tuple(
        (i, convert) for i, c in enumerate(chosen) if (convert := _converter(c.type)) is not None
    )
    return sql, values_of, converts


def _converter(column_type: object) -> Convert | None:
    if isinstance(column_type, UTCDateTime):
        return _sqlite_datetime
    if isinstance(column_type, JSON):
        return _json
    return None  # sqlite3 takes the value as it is


def _json(value: Any) -> str:
    return json.dumps(value)  # as SQLAlchemy's JSON type stores it (None too, as 'null')


@lru_cache(maxsize=256)  # a batch stamps most of its rows with one `now`
def _sqlite_datetime(value: datetime | None) -> str | None:
    """UTCDateTime then SQLite's DATETIME: naive UTC, 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use an aware one")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
