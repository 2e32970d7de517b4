"""Status callbacks of our replies (sent, delivered, read, failed) into `reply_statuses`.

Keyed by the wamid the Graph API gave the reply (the outbox row's result `external_id`),
so the complaint's timeline finds them whenever they arrive, even before the outbox has
stored that id. A status Meta repeats is kept once. A failure is also an ingestion-log
event, so operators watching the live log see it.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from channels.whatsapp.payload import WaStatus
from gateway import events
from gateway.store.models import ReplyStatus, utcnow


async def record_statuses(session: AsyncSession, channel: str, statuses: list[WaStatus]) -> None:
    if not statuses:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    rows = [
        {
            "channel": channel,
            "external_id": s.wamid,
            "status": s.status,
            "status_at": s.at,
            "errors": list(s.errors),
            "received_at": now,
        }
        for s in statuses
    ]
    await session.execute(
        dialect.insert(ReplyStatus)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["channel", "external_id", "status"])
    )
    for s in statuses:
        if s.status == "failed":
            codes = ", ".join(str(e.get("code")) for e in s.errors) or "no code"
            events.record(
                session,
                kind="reply",
                channel=channel,
                outcome="failed",
                reason=f"WhatsApp reported the reply failed ({codes})",
                external_id=s.wamid,
                detail={"errors": list(s.errors)},
            )
