"""GET|POST /webhooks/whatsapp: Meta's verification handshake and its signed deliveries.

A POST is checked first (X-Hub-Signature-256, HMAC-SHA256 of the raw body with the app
secret, compared in constant time; 403 otherwise), then taken apart (channels/whatsapp/
payload.py). Every message goes into intake, all at once so they share a group commit;
statuses, skipped and malformed parts are written to the ingestion log. The 200 comes only
after all of it is committed: StoreUnavailable becomes 503 with Retry-After (error
middleware), Meta redelivers, and the wamid makes the redelivery a duplicate.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from channels.whatsapp.config import WhatsAppConfig
from channels.whatsapp.graph import (
    BAD_TOKEN_DETAIL,
    HEALTH,
    GraphApi,
    GraphError,
    MediaTooLarge,
)
from channels.whatsapp.payload import Parsed, PayloadError, WaMessage, parse
from channels.whatsapp.statuses import record_statuses
from gateway import events
from gateway.http_common import json_error, secret_matches
from gateway.intake import IntakeResult, Outcome
from gateway.runtime import Runtime
from gateway.store.db import StoreUnavailable
from gateway.store.models import Complaint, InboundMessage
from normalizer.types import Attachment, Channel, Location, RawMessage

log = logging.getLogger(__name__)

SIGNATURE = "X-Hub-Signature-256"
CHANNEL = Channel.WHATSAPP.value


def signature(app_secret: str, body: bytes) -> str:
    """The header value Meta sends: "sha256=" + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _location(m: WaMessage) -> Location | None:
    """The shared location as the complaint's (the same record Open311's lat/long fill)."""
    if m.location is None:
        return None
    place = ", ".join(p for p in (m.location.name, m.location.address) if p)
    return Location(lat=m.location.lat, long=m.location.long, address=place or None)


class WhatsAppWebhook:
    def __init__(self, rt: Runtime, config: WhatsAppConfig, graph: GraphApi):
        self.rt = rt
        self.config = config
        self.graph = graph

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/webhooks/whatsapp", self.verify),
            web.post("/webhooks/whatsapp", self.receive),
        ]

    async def verify(self, request: web.Request) -> web.Response:
        """Meta's subscription check: echo hub.challenge when hub.verify_token is ours."""
        q = request.query
        token = q.get("hub.verify_token", "")
        expected = self.config.verify_token or ""
        if (
            q.get("hub.mode") == "subscribe"
            and q.get("hub.challenge")
            and expected
            and secret_matches(token, expected)
        ):
            return web.Response(text=q["hub.challenge"], content_type="text/plain")
        log.warning("WhatsApp verification refused", extra={"mode": q.get("hub.mode")})
        return web.Response(status=403, text="verification failed", content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        given = request.headers.get(SIGNATURE, "").strip()
        if not given:
            return await self._refuse(f"missing {SIGNATURE}")
        if not secret_matches(given.lower(), signature(self.config.app_secret or "", body)):
            return await self._refuse(f"wrong {SIGNATURE}")
        try:
            parsed = parse(json.loads(body.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return await self._bad_body("the body is not JSON (truncated?)")
        except PayloadError as e:
            return await self._bad_body(str(e))
        results = await self._submit_all(parsed.messages)
        if parsed.statuses or parsed.skipped or parsed.malformed:
            async with self.rt.store.transaction() as session:
                await self._log_rest(session, parsed)
        log.info(
            "WhatsApp webhook",
            extra={
                "messages": len(results),
                "statuses": len(parsed.statuses),
                "skipped": len(parsed.skipped),
                "malformed": len(parsed.malformed),
            },
        )
        return web.json_response({"status": "ok"})

    async def _submit_all(self, messages: list[WaMessage]) -> list[IntakeResult]:
        """Submit every message at once (one group commit); raise the first failure, so
        the answer is not 200 unless every one of them is stored."""
        stored = await self._already_stored([m.wamid for m in messages])
        outcomes = await asyncio.gather(
            *(self._submit(m, m.wamid in stored) for m in messages), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return [o for o in outcomes if isinstance(o, IntakeResult)]

    async def _already_stored(self, wamids: list[str]) -> set[str]:
        """Redeliveries: their media is not fetched again (intake records the duplicate)."""
        if not wamids:
            return set()
        try:
            async with self.rt.store.reader() as session:
                rows = await session.scalars(
                    select(InboundMessage.external_id).where(
                        InboundMessage.channel == CHANNEL, InboundMessage.external_id.in_(wamids)
                    )
                )
                return set(rows)
        except (OSError, DBAPIError) as e:
            raise StoreUnavailable(str(e).splitlines()[0]) from e

    async def _submit(self, m: WaMessage, known: bool) -> IntakeResult:
        attachments: tuple[Attachment, ...] = ()
        problems: list[str] = []
        if m.media is not None and not known:
            got = await self._fetch_media(m)
            if isinstance(got, Attachment):
                attachments = (got,)
            else:
                problems.append(got)
        meta: dict[str, Any] = {"type": m.kind, "phone_number_id": m.to_phone_number_id}
        if m.context_id:
            meta["context_id"] = m.context_id
        if m.reply_id:
            meta["reply_id"] = m.reply_id
        if problems:
            meta["media_problems"] = problems
        raw = RawMessage(
            channel=Channel.WHATSAPP,
            external_id=m.wamid,
            sender=m.sender,
            sender_name=m.sender_name,
            recipient=m.to_number or m.to_phone_number_id,
            text=m.text,
            received_at=m.sent_at,
            attachments=attachments,
            meta=meta,
            region_hint=self._region_of(m),
            location=_location(m),
        )

        async def note_problems(session: AsyncSession, result: IntakeResult) -> None:
            # The complaint keeps its text; the operator sees why the medium is missing.
            if problems and result.outcome is Outcome.ACCEPTED and result.complaint_id:
                complaint = await session.get(Complaint, result.complaint_id)
                if complaint is not None:
                    complaint.notes = [*complaint.notes, *problems]

        return await self.rt.intake.submit(raw, also=note_problems)

    async def _fetch_media(self, m: WaMessage) -> Attachment | str:
        """The stored medium, or the note saying why there is none."""
        assert m.media is not None
        try:
            path, content_type, size = await self.graph.download(
                m.media.media_id, self.rt.settings.data_dir
            )
        except MediaTooLarge as e:
            return f"{m.kind} not downloaded: too large ({e})"
        except GraphError as e:
            if e.bad_token:
                self.rt.health.set(HEALTH, False, BAD_TOKEN_DETAIL)
            log.warning("WhatsApp media failed", extra={"error": str(e), "type": m.kind})
            return f"{m.kind} not downloaded: {e}"
        self.rt.health.set(HEALTH, True, "media diunduh")
        name = m.media.filename or f"whatsapp-{m.kind}"
        return Attachment(filename=name, content_type=content_type, size=size, path=path)

    def _region_of(self, m: WaMessage) -> str | None:
        """The region whose own number the message was sent to, if any."""
        for region in self.rt.settings.regions.values():
            numbers = region.whatsapp_numbers
            if (m.to_number and m.to_number in numbers) or m.to_phone_number_id in numbers:
                return region.code
        return None

    async def _log_rest(self, session: AsyncSession, parsed: Parsed) -> None:
        await record_statuses(session, CHANNEL, parsed.statuses)
        for s in parsed.skipped:
            events.record(
                session,
                kind="inbound",
                channel=CHANNEL,
                outcome="ignored",
                reason=s.why,
                external_id=s.wamid,
                detail={"type": s.kind},
            )
        for bad in parsed.malformed:
            log.warning("WhatsApp message malformed", extra={"where": bad.where, "why": bad.why})
            events.record(
                session,
                kind="inbound",
                channel=CHANNEL,
                outcome="rejected",
                reason="malformed",
                external_id=bad.wamid,
                detail={"where": bad.where, "why": bad.why},
            )

    async def _refuse(self, why: str) -> web.Response:
        log.warning("WhatsApp webhook refused", extra={"why": why})
        async with self.rt.store.transaction() as session:
            events.record(
                session,
                kind="inbound",
                channel=CHANNEL,
                outcome="rejected",
                reason="bad_signature",
                detail={"why": why},
            )
        return json_error(403, "bad_signature", "Tanda tangan tidak sah.", f"Forbidden: {why}.")

    async def _bad_body(self, why: str) -> web.Response:
        log.warning("WhatsApp webhook body refused", extra={"why": why})
        async with self.rt.store.transaction() as session:
            events.record(
                session,
                kind="inbound",
                channel=CHANNEL,
                outcome="rejected",
                reason="malformed",
                detail={"why": why},
            )
        return json_error(400, "malformed_payload", "Isi kiriman tidak dapat dibaca.", why)
