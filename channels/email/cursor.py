"""The IMAP position (UIDVALIDITY, last UID taken), kept in the `cursors` table.

It must move in the same transaction as the message it covers: for messages that reach
intake that is the intake transaction (`intake.submit(..., also=...)`); for mail recorded
only as a rejected event, the transaction of that event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.runtime import Runtime
from gateway.store.models import Cursor


@dataclass(frozen=True, slots=True)
class ImapCursor:
    key: str  # imap:<user>@<host>/<mailbox>
    uidvalidity: int
    uid: int


async def save_cursor(session: AsyncSession, cursor: ImapCursor) -> None:
    value = json.dumps({"uidvalidity": cursor.uidvalidity, "uid": cursor.uid})
    await session.merge(Cursor(key=cursor.key, value=value))


async def load_cursor(rt: Runtime, key: str) -> ImapCursor | None:
    async with rt.store.reader() as session:
        row = await session.get(Cursor, key)
    if row is None:
        return None
    data = json.loads(row.value)
    return ImapCursor(key, int(data["uidvalidity"]), int(data["uid"]))
