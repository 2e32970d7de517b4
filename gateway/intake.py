"""intake.submit(raw): one message, atomic within a group commit, one outcome (design §3).

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

from sqlalchemy import Select, String, bindparam, func, insert, select, text, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from gateway.settings import Settings
from gateway.store.bulk import insert_rows
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
from normalizer.types import Channel, Limits, Location, RegionRules, Reporter


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
    complaint_row: dict[str, Any] | None  # the complaint's columns as written

    @property
    def complaint(self) -> Complaint | None:
        """The complaint as a detached object (built on demand: most hooks never ask)."""
        return Complaint(**self.complaint_row) if self.complaint_row is not None else None


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
SIMILAR_CANDIDATES = 20  # the newest complaints of a reporter compared per message


@dataclass(slots=True)
class _Pending:
    """A normalized message waiting for the next group commit."""

    raw: RawMessage
    verdict: Normalized | Rejection
    also: AlsoInTransaction | None
    future: asyncio.Future[IntakeResult]


@dataclass(frozen=True, slots=True)
class _Known:
    inbound_id: int
    outcome: str
    complaint_id: str | None
    region_code: str | None
    tracking_ref: str | None


@dataclass(slots=True)
class _Batch:
    """What one group commit has learnt so far (visible to the messages after it)."""

    # (channel, external_id) -> the duplicate's source, as stored or written in this batch
    known: dict[tuple[str, str], _Known]
    # region -> [next sequence number, prefix]; advanced only by messages that stay written
    counters: dict[str, list[int | str]] = field(default_factory=dict)

    def copy(self) -> _Batch:
        return _Batch(dict(self.known), {code: list(c) for code, c in self.counters.items()})


@dataclass(slots=True)
class _Draft:
    """One message of a group: the rows it will write, or the twin it repeats."""

    pending: _Pending
    inbound: dict[str, Any] | None = None  # None: a duplicate
    complaint: dict[str, Any] | None = None
    reporter: dict[str, Any] | None = None
    twin: _Draft | _Known | None = None  # a duplicate's source
    result: IntakeResult | None = None


@dataclass
class Intake:
    """Group commit: every message submitted while a batch is being written joins the next
    batch, one write transaction for up to BATCH_MAX messages (a bad message fails alone).
    Callers return only after their batch's commit.

    A batch is written with one multi-row statement per table, all messages in one
    SAVEPOINT. Should any of them fail (a hook or `also` raising, a twin committed by
    another instance tripping the unique index), that savepoint rolls back and the batch is
    written again one message per SAVEPOINT, so the failure stays with its message."""

    settings: Settings
    store: Store
    hooks: list[IntakeHook] = field(default_factory=list)
    observers: list[IntakeObserver] = field(default_factory=list)
    _queue: list[_Pending] = field(default_factory=list, init=False, repr=False)
    _writer: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _rules_of: tuple[object, tuple[RegionRules, ...], Limits] | None = field(
        default=None, init=False, repr=False
    )

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
        rules, limits = self._rules()
        run = partial(
            normalize,
            raw,
            rules,
            short_code=self.settings.channels.sms.short_code,
            limits=limits,
        )
        # Cleanup walks every character: ~0.1 ms for an SMS, seconds for a 25 MB mail body.
        # Big texts go to a thread (normalize is pure) so the loop keeps serving.
        if len(raw.text) > BIG_TEXT_CHARS:
            return await asyncio.to_thread(run)
        return run()

    def _rules(self) -> tuple[tuple[RegionRules, ...], Limits]:
        """The normalizer's region rules and limits, built again only when a reload has
        replaced the regions (not once per message)."""
        regions = self.settings.regions
        if self._rules_of is None or self._rules_of[0] is not regions:
            self._rules_of = (regions, self.settings.region_rules(), self.settings.limits)
        return self._rules_of[1], self._rules_of[2]

    async def _write_batch(
        self, batch: list[_Pending], session: AsyncSession
    ) -> list[IntakeResult | Exception]:
        state = _Batch(known=await _stored_keys(session, [p.raw for p in batch]))
        state.counters = await _lock_counters(
            session, {p.verdict.region_code for p in batch if isinstance(p.verdict, Normalized)}
        )
        # A lone message goes straight to the one-message path (no second try of the same).
        together = await self._write_group(session, state, batch) if len(batch) > 1 else None
        if isinstance(together, list):
            outcomes: list[IntakeResult | Exception] = list(together)
        else:
            outcomes = [await self._write_one(session, state, pending) for pending in batch]
        if state.counters:
            conn = await session.connection()
            await conn.execute(
                _SET_COUNTER, [{"region": c, "seq": seq} for c, (seq, _) in state.counters.items()]
            )
        return outcomes

    async def _write_one(
        self, session: AsyncSession, state: _Batch, pending: _Pending
    ) -> IntakeResult | Exception:
        # A twin committed by another instance after the batch looked its key up (PostgreSQL)
        # trips the unique index: the savepoint rolls back, and a second look finds it.
        outcome = await self._write_group(session, state, [pending])
        if isinstance(outcome, IntegrityError):
            state.known.update(await _stored_keys(session, [pending.raw]))
            outcome = await self._write_group(session, state, [pending])
        return outcome[0] if isinstance(outcome, list) else outcome

    async def _write_group(
        self, session: AsyncSession, state: _Batch, group: list[_Pending]
    ) -> list[IntakeResult] | Exception:
        """The group's messages in one SAVEPOINT; on any failure it rolls back and `state`
        is as before, and the error is returned."""
        before = state.copy()
        try:
            async with session.begin_nested():
                return await self._write_rows(session, state, group)
        except Exception as e:
            state.known, state.counters = before.known, before.counters
            return e

    async def _write_rows(
        self, session: AsyncSession, state: _Batch, group: list[_Pending]
    ) -> list[IntakeResult]:
        conn = await session.connection()
        now = utcnow()
        drafts: list[_Draft] = []
        firsts: dict[tuple[str, str], _Draft] = {}
        for pending in group:
            raw, verdict = pending.raw, pending.verdict
            key = (raw.channel.value, raw.external_id)
            twin = state.known.get(key) or firsts.get(key)
            if twin is not None:
                drafts.append(_Draft(pending, twin=twin))
                continue
            draft = _Draft(pending, inbound=_inbound_row(raw, verdict, now))
            if isinstance(verdict, Normalized):
                draft.complaint = self._complaint_row(
                    raw, verdict, _next_ref(state, verdict.region_code), now
                )
                draft.inbound["complaint_id"] = draft.complaint["id"]  # type: ignore[index]
                if not verdict.reporter.is_empty:
                    draft.reporter = _reporter_row(verdict.reporter, now)
            firsts[key] = draft
            drafts.append(draft)
        new = list(firsts.values())
        complaints = [d for d in new if d.complaint is not None]
        links = await self._possible_duplicates(
            conn,
            [(d.pending.verdict.reporter, d.pending.verdict.text) for d in complaints],  # type: ignore[union-attr]
            [d.complaint["id"] for d in complaints],  # type: ignore[index]
        )
        reporters = [d for d in new if d.reporter is not None]
        for d, reporter_id in zip(
            reporters, await _new_ids(conn, ReporterRow, len(reporters)), strict=True
        ):
            d.reporter["id"] = d.complaint["reporter_id"] = reporter_id  # type: ignore[index]
        for d, inbound_id in zip(new, await _new_ids(conn, InboundMessage, len(new)), strict=True):
            d.inbound["id"] = inbound_id  # type: ignore[index]
            if d.complaint is not None:
                d.complaint["inbound_id"] = inbound_id
        for d, link in zip(complaints, links, strict=True):
            d.complaint["possible_duplicate_of"] = link  # type: ignore[index]
        await insert_rows(conn, ReporterRow.__table__, [d.reporter for d in reporters])  # type: ignore[misc]
        await insert_rows(conn, InboundMessage.__table__, [d.inbound for d in new])  # type: ignore[misc]
        await insert_rows(conn, Complaint.__table__, [d.complaint for d in complaints])  # type: ignore[misc]

        events: list[dict[str, Any]] = []
        outbox: list[dict[str, Any]] = []
        for d in drafts:
            events.append(_result_of(d, now))
            if d.complaint is not None and d.complaint["status"] == STATUS_QUEUED:
                outbox.append(_forward_row(d.complaint["id"], now))
        await insert_rows(conn, Event.__table__, events)
        await insert_rows(conn, OutboxItem.__table__, outbox)

        # The hooks and callbacks see the rows and add theirs in the same transaction.
        results: list[IntakeResult] = []
        for d in drafts:
            assert d.result is not None
            if d.inbound is not None and self.hooks:
                verdict = d.pending.verdict
                ctx = IntakeContext(
                    raw=d.pending.raw,
                    result=d.result,
                    rejection=verdict if isinstance(verdict, Rejection) else None,
                    complaint_row=d.complaint,
                )
                for hook in self.hooks:
                    await hook(session, ctx)
            if d.pending.also is not None:
                await d.pending.also(session, d.result)
            results.append(d.result)
        for key, d in firsts.items():
            assert d.result is not None and d.result.inbound_id is not None
            state.known[key] = _Known(
                d.result.inbound_id,
                d.result.outcome.value,
                d.result.complaint_id,
                d.result.region_code,
                d.result.tracking_ref,
            )
        return results

    def _complaint_row(
        self, raw: RawMessage, norm: Normalized, tracking_ref: str, now: datetime
    ) -> dict[str, Any]:
        """The complaint's columns; inbound, reporter and possible duplicate come later."""
        region = self.settings.regions[norm.region_code]
        return {
            "id": str(uuid.uuid4()),
            "tracking_ref": tracking_ref,
            "region_code": norm.region_code,
            "channel": raw.channel.value,
            "external_id": raw.external_id,
            "inbound_id": None,
            "category": norm.category.value,
            "subject": norm.subject,
            "text": norm.text,
            "attachments": [asdict(a) for a in raw.attachments],
            "location": location_json(raw.location),
            "reporter_id": None,
            "anonymous": norm.anonymous,
            "confidential": norm.confidential,
            "received_at": raw.received_at,
            "created_at": now,
            "updated_at": now,
            "status": STATUS_PENDING_REVIEW if region.review_required else STATUS_QUEUED,
            "status_reason": None,
            "lapor_tracking_id": None,
            "lapor_status": None,
            "possible_duplicate_of": None,
            "notes": list(norm.notes),
            "forwarded_at": None,
            "lapor_sync_error": None,
        }

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
        norm = replace(norm, region_code=region_code or norm.region_code)
        tracking_ref = await next_tracking_ref(session, norm.region_code)
        complaint = Complaint(**self._complaint_row(raw, norm, tracking_ref, utcnow()))
        conn = await session.connection()
        if not norm.reporter.is_empty:
            row = _reporter_row(norm.reporter, utcnow())
            inserted = await conn.execute(_INSERT_REPORTER, row)
            complaint.reporter_id = inserted.inserted_primary_key[0]
        [complaint.possible_duplicate_of] = await self._possible_duplicates(
            conn, [(norm.reporter, norm.text)], [complaint.id]
        )
        complaint.inbound_id = inbound.id
        session.add(complaint)
        await session.flush()
        if complaint.status == STATUS_QUEUED:
            queue_forward(session, complaint.id)
        return complaint

    async def _possible_duplicates(
        self,
        conn: AsyncConnection,
        items: list[tuple[Reporter, str]],
        ids: list[str],
    ) -> list[str | None]:
        """For each (reporter, text) in order, a complaint of the same phone / e-mail /
        twitter id with a near-same text within the window (stored, or an earlier item):
        linked to its root, or None. One query per identity field for all items."""
        since = utcnow() - timedelta(hours=self.settings.file.limits.duplicate_window_h)
        # (field, value) -> [(created_at, order, id, folded text, root)], newest first
        recent: dict[tuple[str, str], list[tuple[datetime, int, str, str, str | None]]] = {}
        for name in _IDENTITY_FIELDS:
            values = {v for reporter, _ in items if (v := getattr(reporter, name))}
            if not values:
                continue
            for value, cid, other, root, created in await _newest_of(conn, name, values):
                if created >= since:
                    recent.setdefault((name, value), []).append(
                        (created, 0, cid, _fold(other), root)
                    )
        links: list[str | None] = []
        for order, ((reporter, said), cid) in enumerate(zip(items, ids, strict=True), 1):
            keys = [(n, v) for n in _IDENTITY_FIELDS if (v := getattr(reporter, n))]
            seen: dict[str, tuple[datetime, int, str, str, str | None]] = {}
            for key in keys:
                for candidate in recent.get(key, ()):
                    seen[candidate[2]] = candidate
            candidates = sorted(seen.values(), reverse=True)[:SIMILAR_CANDIDATES]
            needle = _fold(said)
            link = next(
                (
                    root or other
                    for _, _, other, folded, root in candidates
                    if _similar(needle, folded)
                ),
                None,
            )
            links.append(link)
            mine = (utcnow(), order, cid, needle, link)
            for key in keys:
                recent.setdefault(key, []).insert(0, mine)
        return links


def _similar(a: str, b: str) -> bool:
    # quick_ratio is a cheap upper bound of ratio; ratio itself is quadratic, so long
    # texts are compared by their opening (_fold), where a resend is alike too.
    match = difflib.SequenceMatcher(None, a, b)
    return match.quick_ratio() >= SIMILARITY_THRESHOLD and match.ratio() >= SIMILARITY_THRESHOLD


def _result_of(d: _Draft, now: datetime) -> dict[str, Any]:
    """Set the draft's result (its ids are known now) and return its ingestion event."""
    raw = d.pending.raw
    if d.inbound is None:  # a duplicate of a stored message or of an earlier one here
        twin = d.twin if isinstance(d.twin, _Known) else _known_of(d.twin)
        assert twin is not None
        d.result = IntakeResult(
            Outcome.DUPLICATE,
            reason=twin.outcome,
            complaint_id=twin.complaint_id,
            tracking_ref=twin.tracking_ref,
            region_code=twin.region_code,
            inbound_id=twin.inbound_id,
        )
        return _event_row(
            now,
            channel=raw.channel.value,
            outcome=Outcome.DUPLICATE.value,
            reason=f"replay of inbound {twin.inbound_id} ({twin.outcome})",
            external_id=raw.external_id,
            complaint_id=twin.complaint_id,
            region_code=twin.region_code,
            detail={"inbound_id": twin.inbound_id},
        )
    verdict, inbound, complaint = d.pending.verdict, d.inbound, d.complaint
    inbound_id = int(inbound["id"])
    if complaint is None:
        d.result = IntakeResult(
            Outcome(inbound["outcome"]),
            reason=inbound["reason"],
            region_code=inbound["region_code"],
            inbound_id=inbound_id,
            detail=inbound["detail"],
        )
    else:
        assert isinstance(verdict, Normalized)
        d.result = IntakeResult(
            Outcome.ACCEPTED,
            reason="pending_review" if complaint["status"] == STATUS_PENDING_REVIEW else None,
            complaint_id=complaint["id"],
            tracking_ref=complaint["tracking_ref"],
            region_code=complaint["region_code"],
            inbound_id=inbound_id,
            detail="; ".join(verdict.notes) or None,
        )
    detail: dict[str, object] = {"inbound_id": inbound_id}
    if d.result.detail:
        detail["note"] = d.result.detail
    if complaint is not None:
        detail["tracking_ref"] = complaint["tracking_ref"]
        detail["status"] = complaint["status"]
        if complaint["possible_duplicate_of"]:
            detail["possible_duplicate_of"] = complaint["possible_duplicate_of"]
    return _event_row(
        now,
        channel=raw.channel.value,
        outcome=d.result.outcome.value,
        reason=d.result.reason,
        external_id=raw.external_id,
        complaint_id=d.result.complaint_id,
        region_code=d.result.region_code,
        detail=detail,
    )


def _known_of(d: _Draft | None) -> _Known | None:
    if d is None or d.result is None or d.result.inbound_id is None:
        return None
    r = d.result
    return _Known(r.inbound_id, r.outcome.value, r.complaint_id, r.region_code, r.tracking_ref)


def _inbound_row(raw: RawMessage, verdict: Normalized | Rejection, now: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {
        "channel": raw.channel.value,
        "external_id": raw.external_id,
        "sender": storable(raw.sender),
        "sender_name": storable(raw.sender_name) if raw.sender_name else None,
        "recipient": storable(raw.recipient),
        "text": storable(raw.text),
        "received_at": raw.received_at,
        "ingested_at": now,
        "meta": raw.meta,
        "attachments": [asdict(a) for a in raw.attachments],
        "location": location_json(raw.location),
        "handled_at": None,
        "handled_by": None,
        "dismiss_reason": None,
        "complaint_id": None,
    }
    if isinstance(verdict, Rejection):
        outcome = Outcome.UNROUTED if verdict.unrouted else Outcome.REJECTED
        return row | {
            "outcome": outcome.value,
            "reason": verdict.reason.value,
            "detail": verdict.detail,
            "region_code": verdict.region_code,
        }
    return row | {
        "outcome": Outcome.ACCEPTED.value,
        "reason": None,
        "detail": None,
        "region_code": verdict.region_code,
    }


def _reporter_row(reporter: Reporter, now: datetime) -> dict[str, Any]:
    return {
        "name": reporter.name,
        "phone": reporter.phone,
        "email": reporter.email,
        "twitter_handle": reporter.twitter_handle,
        "twitter_id": reporter.twitter_id,
        "created_at": now,
    }


async def _new_ids(conn: AsyncConnection, model: type[Base], n: int) -> list[int]:
    """`n` primary keys for rows inserted with one multi-row statement (no per-row
    RETURNING). SQLite: after the largest, as SQLite itself would pick them (the write lock
    is ours, BEGIN IMMEDIATE). PostgreSQL: from the table's sequence."""
    if not n:
        return []
    table = model.__table__
    if conn.dialect.name == "sqlite":
        top = await conn.scalar(select(func.coalesce(func.max(table.c.id), 0)))
        return list(range(int(top) + 1, int(top) + 1 + n))
    rows = await conn.execute(
        text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
        {"t": table.name, "n": n},
    )
    return [int(i) for (i,) in rows]


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
    conn = await session.connection()
    # Two plain INs, not a tuple IN: SQLite scans the whole table for `(a, b) IN (VALUES
    # ...)` (1.7 s a batch at a million messages), but seeks the unique index for these.
    # The cross product may find a key of one channel under another: dropped below.
    rows = await conn.execute(
        _STORED_KEYS,
        {"channels": sorted({c for c, _ in keys}), "ids": sorted({e for _, e in keys})},
    )
    return {(ch, ext): _Known(*rest) for ch, ext, *rest in rows if (ch, ext) in keys}


async def _lock_counters(session: AsyncSession, codes: set[str]) -> dict[str, list[int | str]]:
    """Read (and on PostgreSQL lock, in one order) the counters of the batch's regions.

    Read before any savepoint: a row lock taken inside one that rolls back would be lost.
    """
    if not codes:
        return {}
    conn = await session.connection()
    rows = await conn.execute(_LOCK_COUNTERS, {"codes": sorted(codes)})
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


# Built once: building a statement and its cache key costs more than running it.
_INSERT_REPORTER = insert(ReporterRow.__table__)
_STORED_KEYS = (
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
    .where(InboundMessage.channel.in_(bindparam("channels", expanding=True)))
    .where(InboundMessage.external_id.in_(bindparam("ids", expanding=True)))
)
_LOCK_COUNTERS = (
    select(Region.code, Region.next_seq, Region.prefix)
    .where(Region.code.in_(bindparam("codes", expanding=True)))
    .order_by(Region.code)
    .with_for_update()
)
_SET_COUNTER = (
    update(Region.__table__)
    .where(Region.__table__.c.code == bindparam("region"))
    .values(next_seq=bindparam("seq"))
)
_IDENTITY_FIELDS = ("phone", "email", "twitter_id")


async def _newest_of(
    conn: AsyncConnection, name: str, values: set[str]
) -> list[tuple[str, str, str, str | None, datetime]]:
    """Per value of one reporter identity field, its SIMILAR_CANDIDATES newest complaints
    (value, id, text, root, created_at), whatever their age: the caller applies the window.

    Bounded per value, so one number that sent thousands of messages (a provider's test
    line, a flood) costs what any other does: the (field, id) index is walked backwards
    from the newest, and reporter rows are written with their complaint, so id order is
    creation order. Filtering by age inside the query would walk a long history to the
    end whenever fewer than SIMILAR_CANDIDATES fall in the window."""
    if conn.dialect.name == "postgresql":
        rows = await conn.execute(_newest_lateral(name), {"values": sorted(values)})
        return [tuple(row) for row in rows]  # type: ignore[misc]
    # SQLite has no LATERAL; its statements run on the writer thread, so one per value
    # costs no round trip.
    newest: list[tuple[str, str, str, str | None, datetime]] = []
    for value in sorted(values):
        rows = await conn.execute(_newest_one(name), {"value": value})
        newest.extend((value, *row) for row in rows)  # type: ignore[misc]
    return newest


def _newest_select(name: str, value: Any) -> Select[tuple[str, str, str | None, datetime]]:
    return (
        select(Complaint.id, Complaint.text, Complaint.possible_duplicate_of, Complaint.created_at)
        .join(ReporterRow, Complaint.reporter_id == ReporterRow.id)
        .where(getattr(ReporterRow, name) == value)
        .order_by(ReporterRow.id.desc())
        .limit(SIMILAR_CANDIDATES)
    )


@cache
def _newest_one(name: str) -> Select[tuple[str, str, str | None, datetime]]:
    return _newest_select(name, bindparam("value"))


@cache
def _newest_lateral(name: str) -> Select[tuple[str, str, str, str | None, datetime]]:
    values = (
        func.unnest(bindparam("values", type_=ARRAY(String)))
        .table_valued("value")
        .render_derived(name="v")
    )
    newest = _newest_select(name, values.c.value).lateral("newest")
    return select(
        values.c.value,
        newest.c.id,
        newest.c.text,
        newest.c.possible_duplicate_of,
        newest.c.created_at,
    ).select_from(values.join(newest, true()))


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
