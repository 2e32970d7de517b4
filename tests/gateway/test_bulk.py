"""gateway.store.bulk.insert_rows stores exactly what a Core insert of the same row stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import insert, select, text

from gateway.store.bulk import insert_rows
from gateway.store.db import Store
from gateway.store.models import Event


def event(external_id: str) -> dict[str, object]:
    return {
        "ts": datetime(2026, 11, 23, 8, 5, 7, 12, tzinfo=timezone(timedelta(hours=7))),
        "kind": "inbound",
        "channel": "sms",
        "outcome": "accepted",
        "reason": None,
        "external_id": external_id,
        "complaint_id": None,
        "region_code": "AGAM",
        "detail": {"inbound_id": 3, "note": "ñ 🙂", "empty": None},
    }


async def test_bulk_rows_read_back_as_core_rows(store: Store) -> None:
    async with store.transaction() as session:
        conn = await session.connection()
        await conn.execute(insert(Event.__table__), event("core"))
        await insert_rows(conn, Event.__table__, [event("bulk-1"), event("bulk-2")])
    async with store.reader() as session:
        rows = (await session.scalars(select(Event).order_by(Event.id))).all()
        # The stored form too: SQLite compares timestamps as text, so the formats must agree.
        stored = (await session.execute(text("SELECT ts, detail FROM events ORDER BY id"))).all()
    assert [r.external_id for r in rows] == ["core", "bulk-1", "bulk-2"]
    core, *bulk = rows
    for row in bulk:
        assert row.ts == core.ts == datetime(2026, 11, 23, 1, 5, 7, 12, tzinfo=UTC)
        assert row.detail == core.detail == {"inbound_id": 3, "note": "ñ 🙂", "empty": None}
        assert (row.reason, row.region_code) == (core.reason, core.region_code)
    assert stored[1] == stored[0] == stored[2]
