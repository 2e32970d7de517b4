"""One Update into the store, whichever way it came (webhook or getUpdates).

A message goes into intake (its files fetched first); a help command queues the help text;
anything else is logged as `skipped`. Each case is one transaction, and the caller's own
write (the polling offset) goes into that same transaction: an update is stored and its
position moves together, or neither. StoreUnavailable comes out for the caller to answer
"try again" (503 to the webhook, the same offset again for polling).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from channels.telegram.client import BotApi
from channels.telegram.config import TelegramConfig
from channels.telegram.media import Fetched, fetch_files
from channels.telegram.updates import HelpRequest, Ignored, Incoming, Malformed, parse_update
from gateway import events
from gateway.intake import IntakeResult
from gateway.replies import queue_reply, render
from gateway.runtime import Runtime
from gateway.store.db import StoreUnavailable
from gateway.store.models import InboundMessage, OutboxItem
from normalizer.types import Channel, RawMessage

log = logging.getLogger(__name__)

CHANNEL = Channel.TELEGRAM.value
# The caller's write that must commit with the update (e.g. the getUpdates offset).
InTransaction = Callable[[AsyncSession], Awaitable[None]]
MALFORMED = "malformed"
TOKEN_REFUSED = (
    "Telegram menolak bot_token (401): periksa [channels.telegram] bot_token (dari "
    "BotFather); foto, dokumen dan balasan tertahan"
)


class TelegramReceiver:
    def __init__(self, rt: Runtime, api: BotApi, cfg: TelegramConfig):
        self.rt = rt
        self.api = api
        self.cfg = cfg
        # The bot's own user id is the token's first part: the messages' recipient.
        self.bot_id = (cfg.bot_token or "").partition(":")[0]

    async def receive(self, update: Any, *, also: InTransaction | None = None) -> str:
        """Store one update; returns what became of it: an intake outcome, `skipped`, or
        MALFORMED (not an Update; logged as rejected)."""
        try:
            parsed = parse_update(update)
        except Malformed as e:
            await self.record(
                "rejected", "malformed_update", None, also, detail={"problem": str(e)}
            )
            return MALFORMED
        match parsed:
            case Incoming():
                result = await self._submit(parsed, also)
                return result.outcome.value
            case HelpRequest():
                return await self._help(parsed, also)
            case Ignored():
                await self.record(
                    "skipped", parsed.reason, parsed.external_id, also,
                    detail={"update_id": parsed.update_id},
                )  # fmt: skip
                return "skipped"

    async def _submit(self, msg: Incoming, also: InTransaction | None) -> IntakeResult:
        fetched = Fetched((), ())
        # A redelivered update is a duplicate: its files were fetched the first time.
        if msg.files and not await self._known(msg.external_id):
            fetched = await fetch_files(
                self.api, self.rt.settings.data_dir, msg.files, self.cfg.max_media_bytes
            )
            if fetched.token_refused:
                self.rt.health.set(CHANNEL, False, TOKEN_REFUSED)
        meta: dict[str, Any] = {
            "update_id": msg.update_id,
            "chat_type": msg.sender.chat_type,
            "from_id": msg.sender.from_id,
            "username": msg.sender.username,
        }
        if msg.command:
            meta["command"] = msg.command
        if fetched.notes:
            meta["notes"] = list(fetched.notes)
        raw = RawMessage(
            channel=Channel.TELEGRAM,
            external_id=msg.external_id,
            sender=msg.sender.chat_id,
            recipient=self.bot_id,
            text=msg.text,
            received_at=msg.date,
            attachments=fetched.attachments,
            meta=meta,
            sender_name=msg.sender.name,
            location=msg.location,
        )

        async def with_update(session: AsyncSession, _: IntakeResult) -> None:
            if also is not None:
                await also(session)

        result = await self.rt.intake.submit(raw, also=with_update)
        log.info(
            "telegram message",
            extra={"outcome": result.outcome.value, "files": len(fetched.attachments)},
        )
        return result

    async def _known(self, external_id: str) -> bool:
        try:
            async with self.rt.store.reader() as session:
                found = await session.scalar(
                    select(InboundMessage.id).where(
                        InboundMessage.channel == CHANNEL,
                        InboundMessage.external_id == external_id,
                    )
                )
        except (OSError, SQLAlchemyError) as e:  # readers are not wrapped like writes
            raise StoreUnavailable(f"looking up a redelivery: {type(e).__name__}") from None
        return found is not None

    async def _help(self, req: HelpRequest, also: InTransaction | None) -> str:
        """The help text through the outbox, once per message (a redelivery is a duplicate)."""
        key = f"reply:help:{CHANNEL}:{req.external_id}"
        async with self.rt.store.transaction() as session:
            queued = await session.scalar(
                select(OutboxItem.id).where(OutboxItem.idempotency_key == key)
            )
            outcome = "duplicate" if queued is not None else "skipped"
            events.record(
                session,
                kind="inbound",
                channel=CHANNEL,
                outcome=outcome,
                reason="help_command",
                external_id=req.external_id,
                detail={"command": req.command, "update_id": req.update_id},
            )
            if queued is None:
                await queue_reply(
                    session,
                    self.rt.settings,
                    kind="help",
                    channel=CHANNEL,
                    recipient=req.sender.chat_id,
                    text=render(self.rt.settings, CHANNEL, "help", None),
                    in_reply_to=req.external_id,
                    key=key,
                )
            if also is not None:
                await also(session)
        return outcome

    async def record(
        self,
        outcome: str,
        reason: str,
        external_id: str | None,
        also: InTransaction | None,
        *,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """An event in the ingestion log, with the caller's write, in one transaction."""
        async with self.rt.store.transaction() as session:
            events.record(
                session,
                kind="inbound",
                channel=CHANNEL,
                outcome=outcome,
                reason=reason,
                external_id=external_id,
                detail=detail,
            )
            if also is not None:
                await also(session)
