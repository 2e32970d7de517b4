"""intake.submit(raw): one message, one savepoint in a group commit, one outcome (design §3).

The caller acks its source only after submit returns, which is after the commit of the
batch its message was written in; StoreUnavailable means "not stored, ask the source to
try again".
"""

from __future__ import annotations

import asyncio
import difflib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache, partial
from typing import Any

from sqlalchemy import Connection, Select, bindparam, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.models import (
    Base,
    Complaint,
    Event,
    InboundMessage,
    OutboxItem,
    Region,
    utcnow,
)
from gateway.store.models import Reporter as ReporterRow
from normalizer import Normalized, RawMessage, Rejection, normalize
from normalizer.types import Attachment, Channel, Location, Reporter


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


BATCH_MAX = 256  # messages per group commit; bounds one transaction's lock time


@dataclass(slots=True)
class _Pending:
    """A normalized message waiting for the next group commit."""

    raw: RawMessage
    verdict: Normalized | Rejection
    also: AlsoInTransaction | None
    future: asyncio.Future[IntakeResult]


@dataclass(slots=True)
class _Batch:
    """What one group commit has learnt so far (visible to the messages after it)."""

    # (channel, external_id) -> the duplicate's source, as stored or written in this batch
    known: dict[tuple[str, str], _Known]
    # region -> [next sequence number, prefix]; advanced only by messages that stay written
    counters: dict[str, list[int | str]] = field(default_factory=dict)
    events: list[dict[str, object]] = field(default_factory=list)
    outbox: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Known:
    inbound_id: int
    outcome: str
    complaint_id: str | None
    region_code: str | None
    tracking_ref: str | None


@dataclass
class Intake:
    """Group commit: every message submitted while a batch is being written joins the next
    batch, one write transaction for up to BATCH_MAX messages, each in its own SAVEPOINT
    (a bad message fails alone). Callers return only after their batch's commit."""

    settings: Settings
    store: Store
    hooks: list[IntakeHook] = field(default_factory=list)
    observers: list[IntakeObserver] = field(default_factory=list)
    _queue: list[_Pending] = field(default_factory=list, init=False, repr=False)
    _writer: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def submit(
        self, raw: RawMessage, *, also: AlsoInTransaction | None = None
    ) -> IntakeResult:
        """Store one message; `also` runs in the same transaction, after intake's writes."""
        raw = replace(raw, external_id=storable(raw.external_id))
        verdict = await self._normalize(raw)
        future: asyncio.Future[IntakeResult] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(raw, verdict, also, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        result = await future
        for observe in self.observers:
            observe(raw, result)
        return result

    async def _drain(self) -> None:
        """Write batches until the queue is empty; messages queued meanwhile form the next."""
        try:
            while self._queue:
                # One turn of the loop lets submits that are already running join this batch.
                await asyncio.sleep(0)
                batch, self._queue = self._queue[:BATCH_MAX], self._queue[BATCH_MAX:]
                await self._commit(batch)
        finally:
            self._writer = None
            if self._queue:  # cancelled (loop shutting down): nobody will write these
                for pending in self._queue:
                    pending.future.cancel()
                self._queue = []

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            outcomes = await self.store.run_write(partial(self._write_batch, batch))
        except BaseException as e:
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(e)
            if not isinstance(e, Exception):
                raise
            return
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.future.done():  # the caller went away; its message is stored anyway
                continue
            if isinstance(outcome, Exception):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)

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

    async def _write_batch(
        self, batch: list[_Pending], session: AsyncSession
    ) -> list[IntakeResult | Exception]:
        state = _Batch(known=await _stored_keys(session, [p.raw for p in batch]))
        state.counters = await _lock_counters(
            session, {p.verdict.region_code for p in batch if isinstance(p.verdict, Normalized)}
        )
        outcomes: list[IntakeResult | Exception] = []
        for pending in batch:
            outcomes.append(await self._write_one(session, state, pending))
        # Intake's own events and forward rows go in one multi-row insert each; a message
        # whose savepoint rolled back never added its rows here.
        if state.events:
            await session.execute(insert(Event.__table__), state.events)
        if state.outbox:
            await session.execute(insert(OutboxItem.__table__), state.outbox)
        for code, (seq, _prefix) in state.counters.items():
            await session.execute(update(Region).where(Region.code == code).values(next_seq=seq))
        return outcomes

    async def _write_one(
        self, session: AsyncSession, state: _Batch, pending: _Pending
    ) -> IntakeResult | Exception:
        raw = pending.raw
        # A twin committed by another instance after the batch looked its key up (PostgreSQL)
        # trips the unique index: the savepoint rolls back, and a second look finds it.
        for attempt in range(2):
            counters = {code: list(c) for code, c in state.counters.items()}
            events_at, outbox_at = len(state.events), len(state.outbox)
            try:
                async with session.begin_nested():
                    result = await self._write_in(session, state, raw, pending.verdict)
                    if pending.also is not None:
                        await pending.also(session, result)
            except IntegrityError as e:
                state.counters = counters
                del state.events[events_at:], state.outbox[outbox_at:]
                if attempt:
                    return e
                state.known.update(await _stored_keys(session, [raw]))
                continue
            except Exception as e:
                state.counters = counters
                del state.events[events_at:], state.outbox[outbox_at:]
                return e
            if result.outcome is not Outcome.DUPLICATE:
                assert result.inbound_id is not None
                state.known[(raw.channel.value, raw.external_id)] = _Known(
                    result.inbound_id,
                    result.outcome.value,
                    result.complaint_id,
                    result.region_code,
                    result.tracking_ref,
                )
            return result
        raise AssertionError("unreachable")

    async def _write_in(
        self,
        session: AsyncSession,
        state: _Batch,
        raw: RawMessage,
        verdict: Normalized | Rejection,
    ) -> IntakeResult:
        known = state.known.get((raw.channel.value, raw.external_id))
        if known is not None:
            return self._duplicate(state, raw, known)
        # Intake's own statements in one go (one greenlet switch, not one per statement);
        # the hooks then see the rows and add theirs in the same savepoint.
        result, complaint = await session.run_sync(
            lambda sync: self._write_rows(sync.connection(), state, raw, verdict)
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

    def _write_rows(
        self,
        conn: Connection,
        state: _Batch,
        raw: RawMessage,
        verdict: Normalized | Rejection,
    ) -> tuple[IntakeResult, Complaint | None]:

        now = utcnow()
        inbound = {
            "channel": raw.channel.value,
            "external_id": raw.external_id,
            "sender": storable(raw.sender),
            "sender_name": storable(raw.sender_name) if raw.sender_name else None,
            "recipient": storable(raw.recipient),
            "text": storable(raw.text),
            "received_at": raw.received_at,
            "ingested_at": now,
            "meta": raw.meta,
            "attachments": [_attachment_json(a) for a in raw.attachments],
            "location": location_json(raw.location),
        }
        complaint: Complaint | None = None
        if isinstance(verdict, Rejection):
            outcome = Outcome.UNROUTED if verdict.unrouted else Outcome.REJECTED
            inbound |= {
                "outcome": outcome.value,
                "reason": verdict.reason.value,
                "detail": verdict.detail,
                "region_code": verdict.region_code,
                "complaint_id": None,
            }
            inbound_id = _insert_id(conn, InboundMessage, inbound)
            result = IntakeResult(
                outcome,
                reason=verdict.reason.value,
                region_code=verdict.region_code,
                inbound_id=inbound_id,
                detail=verdict.detail,
            )
        else:
            complaint = self._new_complaint(
                conn, raw, verdict, tracking_ref=_next_ref(state, verdict.region_code)
            )
            inbound |= {
                "outcome": Outcome.ACCEPTED.value,
                "reason": None,
                "detail": None,
                "region_code": complaint.region_code,
                "complaint_id": complaint.id,
            }
            inbound_id = _insert_id(conn, InboundMessage, inbound)
            complaint.inbound_id = inbound_id
            conn.execute(INSERT_COMPLAINT, _row(complaint))
            if complaint.status == STATUS_QUEUED:
                state.outbox.append(_forward_row(complaint.id, now))
            reason = "pending_review" if complaint.status == STATUS_PENDING_REVIEW else None
            result = IntakeResult(
                Outcome.ACCEPTED,
                reason=reason,
                complaint_id=complaint.id,
                tracking_ref=complaint.tracking_ref,
                region_code=complaint.region_code,
                inbound_id=inbound_id,
                detail="; ".join(verdict.notes) or None,
            )

        detail: dict[str, object] = {"inbound_id": inbound_id}
        if result.detail:
            detail["note"] = result.detail
        if complaint is not None:
            detail["tracking_ref"] = complaint.tracking_ref
            detail["status"] = complaint.status
            if complaint.possible_duplicate_of:
                detail["possible_duplicate_of"] = complaint.possible_duplicate_of
        state.events.append(
            _event_row(
                now,
                channel=raw.channel.value,
                outcome=result.outcome.value,
                reason=result.reason,
                external_id=raw.external_id,
                complaint_id=result.complaint_id,
                region_code=result.region_code,
                detail=detail,
            )
        )
        return result, complaint

    def _duplicate(self, state: _Batch, raw: RawMessage, known: _Known) -> IntakeResult:
        state.events.append(
            _event_row(
                utcnow(),
                channel=raw.channel.value,
                outcome=Outcome.DUPLICATE.value,
                reason=f"replay of inbound {known.inbound_id} ({known.outcome})",
                external_id=raw.external_id,
                complaint_id=known.complaint_id,
                region_code=known.region_code,
                detail={"inbound_id": known.inbound_id},
            )
        )
        return IntakeResult(
            Outcome.DUPLICATE,
            reason=known.outcome,
            complaint_id=known.complaint_id,
            tracking_ref=known.tracking_ref,
            region_code=known.region_code,
            inbound_id=known.inbound_id,
        )

    def _new_complaint(
        self,
        conn: Connection,
        raw: RawMessage,
        norm: Normalized,
        *,
        tracking_ref: str,
        region_code: str | None = None,
    ) -> Complaint:
        """The complaint (not yet added to the session) with its reporter row written."""
        region_code = region_code or norm.region_code
        region = self.settings.regions[region_code]
        reporter_id = None
        if not norm.reporter.is_empty:
            reporter_id = _insert_id(
                conn,
                ReporterRow,
                {
                    "name": norm.reporter.name,
                    "phone": norm.reporter.phone,
                    "email": norm.reporter.email,
                    "twitter_handle": norm.reporter.twitter_handle,
                    "twitter_id": norm.reporter.twitter_id,
                    "created_at": utcnow(),
                },
            )
        status = STATUS_PENDING_REVIEW if region.review_required else STATUS_QUEUED
        now = utcnow()
        return Complaint(
            id=str(uuid.uuid4()),
            tracking_ref=tracking_ref,
            region_code=region_code,
            channel=raw.channel.value,
            external_id=raw.external_id,
            category=norm.category.value,
            subject=norm.subject,
            text=norm.text,
            attachments=[_attachment_json(a) for a in raw.attachments],
            location=location_json(raw.location),
            reporter_id=reporter_id,
            anonymous=norm.anonymous,
            confidential=norm.confidential,
            received_at=raw.received_at,
            created_at=now,
            updated_at=now,
            status=status,
            notes=list(norm.notes),
            possible_duplicate_of=self._find_possible_duplicate(conn, norm.reporter, norm.text),
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
        """An operator's assignment turns a stored message into a complaint (gateway.review)."""
        region_code = region_code or norm.region_code
        tracking_ref = await next_tracking_ref(session, region_code)
        complaint = await session.run_sync(
            lambda sync: self._new_complaint(
                sync.connection(), raw, norm, tracking_ref=tracking_ref, region_code=region_code
            )
        )
        complaint.inbound_id = inbound.id
        session.add(complaint)
        await session.flush()
        if complaint.status == STATUS_QUEUED:
            queue_forward(session, complaint.id)
        return complaint

    def _find_possible_duplicate(
        self, conn: Connection, reporter: Reporter, text: str
    ) -> str | None:
        """Same phone / e-mail / twitter id, near-same text, within the window: link it."""
        given = {
            "phone": reporter.phone,
            "email": reporter.email,
            "twitter_id": reporter.twitter_id,
        }
        params: dict[str, object] = {k: v for k, v in given.items() if v}
        if not params:
            return None
        params["since"] = utcnow() - timedelta(hours=self.settings.file.limits.duplicate_window_h)
        rows = conn.execute(_similar_query(tuple(sorted(params.keys() - {"since"}))), params)
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


async def _stored_keys(
    session: AsyncSession, raws: list[RawMessage]
) -> dict[tuple[str, str], _Known]:
    """The batch's idempotency keys already stored, in one query."""
    keys = {(r.channel.value, r.external_id) for r in raws}
    rows = await session.execute(
        select(
            InboundMessage.channel,
            InboundMessage.external_id,
            InboundMessage.id,
            InboundMessage.outcome,
            InboundMessage.complaint_id,
            InboundMessage.region_code,
            Complaint.tracking_ref,
        )
        .outerjoin(Complaint, Complaint.id == InboundMessage.complaint_id)
        .where(tuple_(InboundMessage.channel, InboundMessage.external_id).in_(keys))
    )
    return {(ch, ext): _Known(*rest) for ch, ext, *rest in rows}


async def _lock_counters(session: AsyncSession, codes: set[str]) -> dict[str, list[int | str]]:
    """Read (and on PostgreSQL lock, in one order) the counters of the batch's regions.

    Read before any savepoint: a row lock taken inside one that rolls back would be lost.
    """
    if not codes:
        return {}
    rows = await session.execute(
        select(Region.code, Region.next_seq, Region.prefix)
        .where(Region.code.in_(codes))
        .order_by(Region.code)
        .with_for_update()
    )
    counters: dict[str, list[int | str]] = {code: [seq, prefix] for code, seq, prefix in rows}
    missing = codes - counters.keys()
    if missing:
        raise LookupError(f"region {min(missing)} is not in the database; run db upgrade / serve")
    return counters


def _next_ref(state: _Batch, region_code: str) -> str:
    """The region's next tracking number, from the counter this batch holds locked."""
    seq, prefix = state.counters[region_code]
    state.counters[region_code][0] = int(seq) + 1
    return f"{prefix}-{int(seq):06d}"


def _insert_id(conn: Connection, model: type[Base], values: dict[str, object]) -> int:
    result = conn.execute(_INSERTS[model], values)
    (key,) = result.inserted_primary_key
    return int(key)


# Built once: a statement built per call costs more to construct and key than to run.
INSERT_COMPLAINT = insert(Complaint.__table__)
_INSERTS = {
    InboundMessage: insert(InboundMessage.__table__),
    ReporterRow: insert(ReporterRow.__table__),
}


@cache
def _similar_query(fields: tuple[str, ...]) -> Select[tuple[str, str, str | None]]:
    """The recent complaints of a reporter with any of these identity fields."""
    columns = {"phone": ReporterRow.phone, "email": ReporterRow.email}
    columns["twitter_id"] = ReporterRow.twitter_id
    return (
        select(Complaint.id, Complaint.text, Complaint.possible_duplicate_of)
        .join(ReporterRow, Complaint.reporter_id == ReporterRow.id)
        .where(
            or_(*(columns[f] == bindparam(f) for f in fields)),
            Complaint.created_at >= bindparam("since"),
        )
        .order_by(Complaint.created_at.desc())
        .limit(20)
    )


def _row(obj: Base) -> dict[str, object]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


def _forward_row(complaint_id: str, now: datetime) -> dict[str, object]:
    return {
        "kind": "forward",
        "complaint_id": complaint_id,
        "inbound_id": None,
        "channel": None,
        "recipient": None,
        "payload": {},
        "idempotency_key": forward_key(complaint_id),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "claimed_until": None,
        "last_error": None,
        "result": {},
        "created_at": now,
        "updated_at": now,
    }


def _event_row(now: datetime, **values: object) -> dict[str, object]:
    return {"ts": now, "kind": "inbound", **values}


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


def location_json(location: Location | None) -> dict[str, Any] | None:
    return asdict(location) if location is not None else None


def stored_raw(inbound: InboundMessage, region_hint: str | None) -> RawMessage:
    """A stored message as a channel handed it in, routed to `region_hint` (an operator's
    assignment turns an unrouted message into a complaint; the console checks it can)."""
    where = inbound.location
    return RawMessage(
        channel=Channel(inbound.channel),
        external_id=inbound.external_id,
        sender=inbound.sender,
        recipient=inbound.recipient,
        text=inbound.text,
        received_at=inbound.received_at,
        meta=inbound.meta,
        region_hint=region_hint,
        sender_name=inbound.sender_name,
        location=Location(where.get("lat"), where.get("long"), where.get("address"))
        if where
        else None,
    )


def _attachment_json(a: Attachment) -> dict[str, Any]:
    return asdict(a)
