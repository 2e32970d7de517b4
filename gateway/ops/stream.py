"""The live ingestion log as Server-Sent Events: /ops/events/stream.

Polls the events table, so it shows what ANY gateway instance committed, on both
databases, in the order of the log. Operators see their own region only.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from gateway import events
from gateway.ops.auth import OperatorSession
from gateway.store.db import Store
from gateway.store.models import Event

POLL_S = 1.0
KEEPALIVE_S = 15.0

KIND_LABELS = {
    "inbound": "Pesan masuk",
    "forward": "Ke LAPOR!",
    "reply": "Balasan",
    "review": "Tinjauan",
    "channel": "Kanal",
    "status": "Status LAPOR!",
}
OUTCOME_LABELS = {
    "accepted": "Diterima",
    "duplicate": "Duplikat",
    "unrouted": "Tak terarah",
    "rejected": "Ditolak",
    "forwarded": "Diteruskan",
    "retry": "Dicoba lagi",
    "dead": "Gagal",
    "sent": "Terkirim",
    "unsendable": "Tak dapat dikirim",
    "no_reply_channel": "Tanpa kanal balasan",
    "skipped": "Dilewati",
    "replayed": "Dikirim ulang",
    "recovered": "Pulih",
    "approved": "Disetujui",
    "reassigned": "Dialihkan",
    "assigned": "Dijadikan aduan",
}


def row(e: Event, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": e.id,
        "time": e.ts.astimezone(zone).strftime("%d-%m %H:%M:%S"),
        "kind": e.kind,
        "kind_label": KIND_LABELS.get(e.kind, e.kind),
        "channel": e.channel,
        "region": e.region_code,
        "outcome": e.outcome,
        "outcome_label": OUTCOME_LABELS.get(e.outcome, e.outcome),
        "reason": e.reason,
        "ref": (e.detail or {}).get("tracking_ref"),
    }


async def stream(
    request: web.Request, store: Store, op: OperatorSession, zone: ZoneInfo, after: int
) -> web.StreamResponse:
    resp = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await resp.prepare(request)
    last, idle = after, 0.0
    try:
        while True:
            async with store.reader() as session:
                # The query keeps an operator to their own region.
                batch = await events.fetch_after(session, last, region=op.scope)
            for e in batch:
                last = e.id
                data = json.dumps(row(e, zone), ensure_ascii=False)
                await resp.write(f"id: {e.id}\ndata: {data}\n\n".encode())
            if batch:
                idle = 0.0
                continue
            idle += POLL_S
            if idle >= KEEPALIVE_S:  # keeps proxies from closing an idle stream
                await resp.write(b": keepalive\n\n")
                idle = 0.0
            await asyncio.sleep(POLL_S)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return resp
