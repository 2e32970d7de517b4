"""The live ingestion log as Server-Sent Events: /ops/events/stream.

Polls the events table, so it shows what ANY gateway instance committed, on both
databases, in the order of the log. Operators see their own region only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from gateway import events
from gateway.labels import KIND_LABELS, OUTCOME_LABELS, REASON_LABELS
from gateway.ops.auth import OperatorSession
from gateway.store.db import Store
from gateway.store.models import Event

POLL_S = 1.0
KEEPALIVE_S = 15.0


_PATTERNS = [
    (re.compile(r"replay of inbound (\d+) \((\w+)\)"), "Kiriman ulang pesan #{0} ({1})"),
    (re.compile(r"complaint is (\w+), not queued"), "Aduan berstatus {0}, tidak dikirim"),
    (re.compile(r"channel (\w+) has no reply sender configured"), "Kanal {0} belum bisa membalas"),
    (re.compile(r"operator replay of a (\w+) row"), "Dikirim ulang oleh petugas"),
    (re.compile(r"unsupported type (\w+).*"), "Jenis pesan {0} tidak didukung, bukan aduan"),
    (
        re.compile(r"WhatsApp reported the reply failed \(([^)]*)\)"),
        "WhatsApp melaporkan balasan gagal sampai (kode {0})",
    ),
]
_HTTP_STATUS = re.compile(r"\b(?:HTTP|status)[ :=]*([1-5]\d\d)\b", re.IGNORECASE)


def reason_text(kind: str, outcome: str, reason: str | None) -> str:
    """A log reason in Indonesian words; the error of a failed send said plainly."""
    if not reason:
        return ""
    if reason in REASON_LABELS:
        return REASON_LABELS[reason]
    for pattern, words in _PATTERNS:
        if m := pattern.fullmatch(reason):
            return words.format(*(REASON_LABELS.get(g, g) for g in m.groups()))
    if outcome in ("retry", "dead"):
        target = "LAPOR!" if kind == "forward" else "pelapor"
        if m := _HTTP_STATUS.search(reason):
            return f"Gagal mengirim ke {target}: dijawab HTTP {m.group(1)}"
        return f"Gagal mengirim ke {target}; rinciannya di halaman Kotak keluar"
    return reason


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
        "reason": reason_text(e.kind, e.outcome, e.reason),
        "ref": (e.detail or {}).get("tracking_ref"),
    }


async def stream(
    request: web.Request,
    store: Store,
    op: OperatorSession,
    zone: ZoneInfo,
    after: int,
    *,
    alive: Callable[[], Awaitable[OperatorSession | None]],
    stopping: asyncio.Event,
) -> web.StreamResponse:
    """Rows after `after`, then new ones as they are committed, until the client goes,
    the session ends (logout, disabled, role or region changed) or the gateway stops.
    Before closing for the last two, an `end` event tells the page why, so it does not
    reconnect blindly."""
    resp = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await resp.prepare(request)
    last, idle = after, 0.0
    try:
        await resp.write(b"retry: 3000\n\n")
        while not stopping.is_set():
            current = await alive()
            if current is None or (current.role, current.region) != (op.role, op.region):
                await resp.write(b"event: end\ndata: session\n\n")
                break
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
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), POLL_S)
        else:
            await resp.write(b"event: end\ndata: shutdown\n\n")
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return resp
