"""intake.submit(raw): one message, one transaction, one outcome (design §3).

The caller acks its source only after submit returns; StoreUnavailable means "not stored,
ask the source to try again".
"""

from __future__ import annotations

import asyncio
import difflib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from functools import partial

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import events
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.models import Complaint, InboundMessage, OutboxItem, Region, utcnow
from gateway.store.models import Reporter as ReporterRow
from normalizer import Normalized, RawMessage, Rejection, normalize
from normalizer.types import Reporter


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    UNROUTED = "unrouted"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class IntakeResult:
    outcome: Outcome
    reason: str | None = None
    complaint_id: str | None = None
    tracking_ref: str | None = None
    region_code: str | None = None
    inbound_id: int | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class IntakeContext:
    """What the in-transaction hooks see: the raw message and what became of it."""

    raw: RawMessage
    result: IntakeResult
    rejection: Rejection | None
    complaint: Complaint | None


# Runs inside the intake transaction (e.g. queue a receipt reply); must not do I/O elsewhere.
IntakeHook = Callable[[AsyncSession, IntakeContext], Awaitable[None]]
# Per call: the caller's own writes that must commit with this message, whatever its
# outcome, duplicates included (a poller cursor, the SIM parts a message was built from).
AlsoInTransaction = Callable[[AsyncSession, "IntakeResult"], Awaitable[None]]
# Runs after the commit (metrics); must not fail.
IntakeObserver = Callable[[RawMessage, "IntakeResult"], None]

SIMILARITY_THRESHOLD = 0.85
SIMILARITY_CHARS = 2_000
BIG_TEXT_CHARS = 20_000
STATUS_QUEUED = "queued"
STATUS_PENDING_REVIEW = "pending_review"


def forward_key(complaint_id: str) -> str:
    return f"forward:{complaint_id}"


@dataclass
class Intake:
    settings: Settings
    store: Store
    hooks: list[IntakeHook] = field(default_factory=list)
    observers: list[IntakeObserver] = field(default_factory=list)

    async def submit(
        self, raw: RawMessage, *, also: AlsoInTransaction | None = None
    ) -> IntakeResult:
        """Store one message; `also` runs in the same transaction, after intake's writes."""
        raw = replace(raw, external_id=storable(raw.external_id))
        verdict = await self._normalize(raw)
        # A concurrent twin may commit between our duplicate check and our insert
        # (PostgreSQL); the unique index catches it and the retry reports a duplicate.
        for attempt in range(2):
            try:
                async with self.store.transaction() as session:
                    result = await self._submit_in(session, raw, verdict)
                    if also is not None:
                        await also(session, result)
            except IntegrityError:
                if attempt:
                    raise
                continue
            for observe in self.observers:
                observe(raw, result)
            return result
        raise AssertionError("unreachable")

    async def _normalize(self, raw: RawMessage) -> Normalized | Rejection:
        run = partial(
            normalize,
            raw,
            self.settings.region_rules(),
            short_code=self.settings.channels.sms.short_code,
            limits=self.settings.limits,
        )
        # Cleanup walks every character: ~0.1 ms for an SMS, seconds for a 25 MB mail body.
        # Big texts go to a thread (normalize is pure) so the loop keeps serving.
        if len(raw.text) > BIG_TEXT_CHARS:
            return await asyncio.to_thread(run)
        return run()

    async def _submit_in(
        self, session: AsyncSession, raw: RawMessage, verdict: Normalized | Rejection
    ) -> IntakeResult:
        existing = await session.scalar(
            select(InboundMessage).where(
                InboundMessage.channel == raw.channel.value,
                InboundMessage.external_id == raw.external_id,
            )
        )
        if existing is not None:
            return await self._duplicate(session, raw, existing)

        inbound = InboundMessage(
            channel=raw.channel.value,
            external_id=raw.external_id,
            sender=storable(raw.sender),
            sender_name=storable(raw.sender_name) if raw.sender_name else None,
            recipient=storable(raw.recipient),
            text=storable(raw.text),
            received_at=raw.received_at,
            outcome="",
            meta=raw.meta,
            attachments=[_attachment_json(a) for a in raw.attachments],
        )
        session.add(inbound)
        await session.flush()

        complaint: Complaint | None = None
        if isinstance(verdict, Rejection):
            outcome = Outcome.UNROUTED if verdict.unrouted else Outcome.REJECTED
            inbound.outcome = outcome.value
            inbound.reason = verdict.reason.value
            inbound.detail = verdict.detail
            inbound.region_code = verdict.region_code
            result = IntakeResult(
                outcome,
                reason=verdict.reason.value,
                region_code=verdict.region_code,
                inbound_id=inbound.id,
                detail=verdict.detail,
            )
        else:
            complaint = await self._create_complaint(session, raw, verdict, inbound)
            inbound.outcome = Outcome.ACCEPTED.value
            inbound.region_code = complaint.region_code
            inbound.complaint_id = complaint.id
            reason = "pending_review" if complaint.status == STATUS_PENDING_REVIEW else None
            result = IntakeResult(
                Outcome.ACCEPTED,
                reason=reason,
                complaint_id=complaint.id,
                tracking_ref=complaint.tracking_ref,
                region_code=complaint.region_code,
                inbound_id=inbound.id,
                detail="; ".join(verdict.notes) or None,
            )

        detail: dict[str, object] = {"inbound_id": inbound.id}
        if result.detail:
            detail["note"] = result.detail
        if complaint is not None:
            detail["tracking_ref"] = complaint.tracking_ref
            detail["status"] = complaint.status
            if complaint.possible_duplicate_of:
                detail["possible_duplicate_of"] = complaint.possible_duplicate_of
        events.record(
            session,
            kind="inbound",
            channel=raw.channel.value,
            outcome=result.outcome.value,
            reason=result.reason,
            external_id=raw.external_id,
            complaint_id=result.complaint_id,
            region_code=result.region_code,
            detail=detail,
        )
        ctx = IntakeContext(
            raw=raw,
            result=result,
            rejection=verdict if isinstance(verdict, Rejection) else None,
            complaint=complaint,
        )
        for hook in self.hooks:
            await hook(session, ctx)
        return result

    async def _duplicate(
        self, session: AsyncSession, raw: RawMessage, existing: InboundMessage
    ) -> IntakeResult:
        tracking_ref = None
        if existing.complaint_id:
            tracking_ref = await session.scalar(
                select(Complaint.tracking_ref).where(Complaint.id == existing.complaint_id)
            )
        events.record(
            session,
            kind="inbound",
            channel=raw.channel.value,
            outcome=Outcome.DUPLICATE.value,
            reason=f"replay of inbound {existing.id} ({existing.outcome})",
            external_id=raw.external_id,
            complaint_id=existing.complaint_id,
            region_code=existing.region_code,
            detail={"inbound_id": existing.id},
        )
        return IntakeResult(
            Outcome.DUPLICATE,
            reason=existing.outcome,
            complaint_id=existing.complaint_id,
            tracking_ref=tracking_ref,
            region_code=existing.region_code,
            inbound_id=existing.id,
        )

    async def _create_complaint(
        self,
        session: AsyncSession,
        raw: RawMessage,
        norm: Normalized,
        inbound: InboundMessage,
        *,
        region_code: str | None = None,
    ) -> Complaint:
        region_code = region_code or norm.region_code
        region = self.settings.regions[region_code]
        tracking_ref = await next_tracking_ref(session, region_code)
        reporter_row = None
        if not norm.reporter.is_empty:
            reporter_row = ReporterRow(
                name=norm.reporter.name,
                phone=norm.reporter.phone,
                email=norm.reporter.email,
                twitter_handle=norm.reporter.twitter_handle,
                twitter_id=norm.reporter.twitter_id,
            )
            session.add(reporter_row)
            await session.flush()
        status = STATUS_PENDING_REVIEW if region.review_required else STATUS_QUEUED
        complaint = Complaint(
            id=str(uuid.uuid4()),
            tracking_ref=tracking_ref,
            region_code=region_code,
            channel=raw.channel.value,
            external_id=raw.external_id,
            inbound_id=inbound.id,
            category=norm.category.value,
            subject=norm.subject,
            text=norm.text,
            attachments=[_attachment_json(a) for a in raw.attachments],
            reporter_id=reporter_row.id if reporter_row else None,
            anonymous=norm.anonymous,
            confidential=norm.confidential,
            received_at=raw.received_at,
            status=status,
            notes=list(norm.notes),
        )
        complaint.possible_duplicate_of = await self._find_possible_duplicate(
            session, norm.reporter, norm.text
        )
        session.add(complaint)
        await session.flush()
        if status == STATUS_QUEUED:
            queue_forward(session, complaint.id)
        return complaint

    async def _find_possible_duplicate(
        self, session: AsyncSession, reporter: Reporter, text: str
    ) -> str | None:
        """Same phone / e-mail / twitter id, near-same text, within the window: link it."""
        conditions = []
        if reporter.phone:
            conditions.append(ReporterRow.phone == reporter.phone)
        if reporter.email:
            conditions.append(ReporterRow.email == reporter.email)
        if reporter.twitter_id:
            conditions.append(ReporterRow.twitter_id == reporter.twitter_id)
        if not conditions:
            return None
        since = utcnow() - timedelta(hours=self.settings.file.limits.duplicate_window_h)
        rows = await session.execute(
            select(Complaint.id, Complaint.text, Complaint.possible_duplicate_of)
            .join(ReporterRow, Complaint.reporter_id == ReporterRow.id)
            .where(or_(*conditions), Complaint.created_at >= since)
            .order_by(Complaint.created_at.desc())
            .limit(20)
        )
        needle = _fold(text)
        for cid, other_text, root in rows:
            # quick_ratio is a cheap upper bound of ratio; ratio itself is quadratic, so
            # long texts are compared by their opening, where a resend is alike too.
            match = difflib.SequenceMatcher(None, needle, _fold(other_text))
            if (
                match.quick_ratio() >= SIMILARITY_THRESHOLD
                and match.ratio() >= SIMILARITY_THRESHOLD
            ):
                return root or cid
        return None


async def next_tracking_ref(session: AsyncSession, region_code: str) -> str:
    """Per-region counter; the row update serialises concurrent writers on both databases."""
    row = (
        await session.execute(
            update(Region)
            .where(Region.code == region_code)
            .values(next_seq=Region.next_seq + 1)
            .returning(Region.next_seq, Region.prefix)
        )
    ).one_or_none()
    if row is None:
        raise LookupError(f"region {region_code} is not in the database; run db upgrade / serve")
    seq, prefix = row
    return f"{prefix}-{seq - 1:06d}"


def queue_forward(session: AsyncSession, complaint_id: str) -> None:
    """Add the forward-to-LAPOR outbox row; the complaint id is the idempotency key."""
    session.add(
        OutboxItem(
            kind="forward",
            complaint_id=complaint_id,
            idempotency_key=forward_key(complaint_id),
            status="pending",
        )
    )


def storable(text: str) -> str:
    """The raw text as both databases can keep it: PostgreSQL refuses NUL, and neither
    takes lone surrogates (UCS-2 SMS decoders produce them); both become U+FFFD."""
    text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())[:SIMILARITY_CHARS]


def _attachment_json(a: object) -> dict[str, object]:
    from dataclasses import asdict

    return asdict(a)  # type: ignore[call-overload]
