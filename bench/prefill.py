"""Fill an EMPTY migrated store with N complaints fast (multi-row inserts, no intake), each
with its inbound message, reporter, ingestion event and forward outbox row, as intake
would have written them. The region's tracking counter continues after them.

    python bench/prefill.py CONFIG N [--outbox pending|done]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.settings import Settings, load_settings
from gateway.store.bulk import insert_rows
from gateway.store.db import Store
from gateway.store.models import (
    Complaint,
    Event,
    InboundMessage,
    OutboxItem,
    Region,
    Reporter,
    utcnow,
)
from gateway.store.regions import sync_regions

CHUNK = 10_000
REGION, PREFIX = "AGAM", "AGM"


async def prefill(store: Store, settings: Settings, n: int, *, outbox: str = "pending") -> None:
    """Rows 1..n of every table (the store must be empty); `outbox` is the forward rows'
    status: `pending` for the outbox to drain (complaints queued), `done` for a store whose
    complaints were forwarded and have since been closed (status sync leaves them be)."""
    await sync_regions(store, settings)
    now = utcnow()
    for start in range(1, n + 1, CHUNK):
        ids = range(start, min(n, start + CHUNK - 1) + 1)
        rows = [_rows(i, now - timedelta(seconds=n - i), outbox) for i in ids]
        async with store.transaction() as session:
            conn = await session.connection()
            for table, index in _TABLES:
                await insert_rows(conn, table, [r[index] for r in rows])
    async with store.transaction() as session:
        await session.execute(update(Region).where(Region.code == REGION).values(next_seq=n + 1))
        if store.is_postgres:  # the ids were given, so the sequences must move past them
            for table, _ in _TABLES:
                await session.execute(
                    text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :n)"),
                    {"t": table.name, "n": n},
                )


_TABLES = [
    (Reporter.__table__, 0),
    (InboundMessage.__table__, 1),
    (Complaint.__table__, 2),
    (Event.__table__, 3),
    (OutboxItem.__table__, 4),
]


def _rows(i: int, at: object, outbox: str) -> tuple[dict[str, object], ...]:
    cid = str(uuid.UUID(int=i))
    ref = f"{PREFIX}-{i:06d}"
    text = f"Jalan rusak di depan pasar, laporan isian awal nomor {i}"
    phone = f"+62813{i:08d}"
    reporter = {"id": i, "name": "Warga", "phone": phone, "email": None}
    reporter |= {"twitter_handle": None, "twitter_id": None, "created_at": at}
    inbound = {
        "id": i,
        "channel": "api",
        "external_id": f"portal-provinsi:prefill-{i}",
        "sender": "api:portal-provinsi",
        "sender_name": None,
        "recipient": REGION,
        "text": text,
        "received_at": at,
        "ingested_at": at,
        "outcome": "accepted",
        "reason": None,
        "detail": None,
        "region_code": REGION,
        "complaint_id": cid,
        "meta": {"client": "portal-provinsi"},
        "attachments": [],
        "location": None,
        "handled_at": None,
        "handled_by": None,
        "dismiss_reason": None,
    }
    forwarded = outbox == "done"
    complaint = {
        "id": cid,
        "tracking_ref": ref,
        "region_code": REGION,
        "channel": "api",
        "external_id": inbound["external_id"],
        "inbound_id": i,
        "category": "pengaduan",
        "subject": text[:60],
        "text": text,
        "attachments": [],
        "location": None,
        "reporter_id": i,
        "anonymous": False,
        "confidential": False,
        "received_at": at,
        "created_at": at,
        "updated_at": at,
        "status": "closed" if forwarded else "queued",
        "status_reason": None,
        "lapor_tracking_id": f"SBX-{i}" if forwarded else None,
        "lapor_status": "selesai" if forwarded else None,
        "possible_duplicate_of": None,
        "notes": [],
        "forwarded_at": at if forwarded else None,
        "lapor_sync_error": None,
    }
    event = {
        "id": i,
        "ts": at,
        "kind": "inbound",
        "channel": "api",
        "outcome": "accepted",
        "reason": None,
        "external_id": inbound["external_id"],
        "complaint_id": cid,
        "region_code": REGION,
        "detail": {"inbound_id": i, "tracking_ref": ref, "status": complaint["status"]},
    }
    forward = {
        "id": i,
        "kind": "forward",
        "complaint_id": cid,
        "inbound_id": None,
        "channel": None,
        "recipient": None,
        "payload": {},
        "idempotency_key": f"forward:{cid}",
        "status": outbox,
        "attempts": 1 if forwarded else 0,
        "next_attempt_at": at,
        "claimed_until": None,
        "last_error": None,
        "result": {"tracking_id": f"SBX-{i}"} if forwarded else {},
        "created_at": at,
        "updated_at": at,
    }
    return reporter, inbound, complaint, event, forward


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("n", type=int)
    parser.add_argument("--outbox", choices=["pending", "done"], default="pending")
    args = parser.parse_args()
    settings = load_settings(args.config)
    store = Store(settings.database_url)
    started = time.perf_counter()
    try:
        await prefill(store, settings, args.n, outbox=args.outbox)
    finally:
        await store.close()
    print(f"{args.n} complaints in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
