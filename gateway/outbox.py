"""The outbox worker: forwards complaints to LAPOR and sends replies to citizens.

Rows are claimed a batch at a time in a short transaction (PostgreSQL: FOR UPDATE SKIP
LOCKED, so any number of gateway instances share the work; SQLite: one instance), sent
OUTSIDE any transaction (at most outbox_concurrency at once per adapter: LAPOR, each reply
channel), and the batch's outcomes stored in one second transaction, each with its
complaint's new status and an event. A worker that dies between sending and storing
leaves the rows claimed; when the claim's lease runs out another worker sends them again
with the same idempotency key (the complaint id), so LAPOR answers the same tracking id
instead of filing a second report.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any

from sqlalchemy import Select, Update, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import events, replies
from gateway.lapor import make_client
from gateway.lapor.client import LaporClient, PermanentError, RetryableError
from gateway.lapor.report import build_report
from gateway.logsafe import log_failure
from gateway.runtime import Reply, Runtime, SendResult
from gateway.store.db import Store, StoreUnavailable
from gateway.store.models import Complaint, OutboxItem, Reporter, utcnow

log = logging.getLogger(__name__)

PENDING, SENDING, DONE, DEAD, UNSENDABLE = "pending", "sending", "done", "dead", "unsendable"
# Which gateway instance sent a row (several may share one PostgreSQL database).
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
FORWARD, REPLY = "forward", "reply"


@dataclass(frozen=True, slots=True)
class Claim:
    """A row this worker holds until `lease` (also the token proving it still holds it)."""

    id: int
    kind: str
    attempts: int
    lease: datetime
    complaint_id: str | None
    channel: str | None
    recipient: str | None
    payload: dict[str, Any]
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Failure:
    error: str
    retry: bool
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Forwarded:
    tracking_id: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """The complaint is no longer queued (an operator acted meanwhile)."""

    status: str


@dataclass(frozen=True, slots=True)
class Sent:
    external_id: str | None


@dataclass(frozen=True, slots=True)
class Unsendable:
    """No sender is configured for the reply's channel."""


# What a send attempt came to; stored afterwards with the rest of its batch.
Outcome = Forwarded | Skipped | Sent | Unsendable | Failure


@dataclass(frozen=True, slots=True)
class _Loaded:
    complaints: dict[str, Complaint]
    reporters: dict[int, Reporter]


class OutboxWorker:
    """A Runtime service: `serve` runs one per process."""

    name = "outbox"

    def __init__(
        self, rt: Runtime, client: LaporClient | None = None, *, rng: random.Random | None = None
    ):
        self.rt = rt
        self.cfg = rt.settings.lapor
        self.client = client or make_client(self.cfg)
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[str, asyncio.Semaphore] = {}

    # -- service ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-worker")

    async def stop(self) -> None:
        """Finish the rows in hand (their outcome is stored), take no new ones."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.client.close()

    def wake(self) -> None:
        """New work was committed (intake observer, review): look now, not at the next tick."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                handled = await self.run_once()
                self.rt.health.set(self.name, True)
            except StoreUnavailable as e:
                self.rt.health.set(self.name, False, f"database unavailable: {e}")
                handled = 0
            except Exception as e:
                log_failure(log, "outbox pass failed", e)
                self.rt.health.set(self.name, False, f"internal error: {type(e).__name__}")
                handled = 0
            if handled or self._stopping:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.cfg.outbox_poll_interval_s)
            except TimeoutError:
                pass

    async def run_once(self) -> int:
        """Claim a batch of due rows, send them (outbox_concurrency at a time per adapter),
        store every outcome in one transaction; the number handled."""
        claims = await self.claim()
        if not claims:
            return 0
        loaded = await self._load([c.complaint_id for c in claims if c.kind == FORWARD])
        outcomes = await asyncio.gather(*(self._attempt(c, loaded) for c in claims))
        await self._record_batch(list(zip(claims, outcomes, strict=True)))
        return len(claims)

    async def _load(self, complaint_ids: list[str | None]) -> _Loaded:
        """The batch's complaints and their reporters, in two queries."""
        wanted = [i for i in complaint_ids if i]
        if not wanted:
            return _Loaded({}, {})
        async with self.rt.store.reader() as session:
            complaints = {
                c.id: c
                for c in await session.scalars(select(Complaint).where(Complaint.id.in_(wanted)))
            }
            reporter_ids = {c.reporter_id for c in complaints.values() if c.reporter_id}
            reporters = (
                {
                    r.id: r
                    for r in await session.scalars(
                        select(Reporter).where(Reporter.id.in_(reporter_ids))
                    )
                }
                if reporter_ids
                else {}
            )
        return _Loaded(complaints, reporters)

    async def run_until_idle(self) -> None:
        """Handle due rows until none is due (tests, bench, `outbox retry`)."""
        while await self.run_once():
            pass

    # -- claiming --------------------------------------------------------------------------

    async def claim(self) -> list[Claim]:
        now = utcnow()
        due = or_(
            and_(OutboxItem.status == PENDING, OutboxItem.next_attempt_at <= now),
            # A worker died holding these (lease over): take them over.
            and_(OutboxItem.status == SENDING, OutboxItem.claimed_until < now),
        )
        query = (
            select(OutboxItem)
            .where(due)
            .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
            .limit(self.cfg.outbox_batch)
        )
        if self.rt.store.is_postgres:
            query = query.with_for_update(skip_locked=True)
        lease = now + timedelta(seconds=self.cfg.claim_lease_s)
        return await self.rt.store.run_write(partial(self._claim, query, lease))

    async def _claim(
        self, query: Select[Any], lease: datetime, session: AsyncSession
    ) -> list[Claim]:
        rows = (await session.scalars(query)).all()
        for row in rows:
            row.status = SENDING
            row.claimed_until = lease
            # Counted at claim time, so a row that kills its worker still runs out.
            row.attempts += 1
        return [
            Claim(
                row.id,
                row.kind,
                row.attempts,
                lease,
                row.complaint_id,
                row.channel,
                row.recipient,
                dict(row.payload),
                row.idempotency_key,
            )
            for row in rows
        ]

    # -- handling --------------------------------------------------------------------------

    async def _attempt(self, claim: Claim, loaded: _Loaded) -> Outcome:
        """Send one claimed row (no transaction open) and say what became of it."""
        try:
            if claim.kind == FORWARD:
                return await self._forward(claim, loaded)
            if claim.kind == REPLY:
                return await self._reply(claim)
            return Failure(f"unknown outbox kind {claim.kind!r}", False)
        except Exception as e:
            log_failure(log, "outbox row failed", e, row=claim.id)
            return Failure(_internal(e), True)

    async def _forward(self, claim: Claim, loaded: _Loaded) -> Outcome:
        complaint = loaded.complaints.get(claim.complaint_id or "")
        if complaint is None:
            return Failure("complaint not found", retry=False)
        if complaint.status != "queued":
            return Skipped(complaint.status)
        region = self.rt.settings.regions.get(complaint.region_code)
        institution = region.lapor_institution_id if region else ""
        reporter = loaded.reporters.get(complaint.reporter_id or 0)
        report = build_report(complaint, reporter, institution)
        async with self._slot(FORWARD):
            try:
                return Forwarded(await self.client.send(report, complaint.id))
            except RetryableError as e:
                return Failure(str(e), True, e.retry_after)
            except PermanentError as e:
                return Failure(str(e), False)
            except Exception as e:
                log_failure(log, "LAPOR adapter failed", e, row=claim.id)
                return Failure(_internal(e), True)

    async def _reply(self, claim: Claim) -> Outcome:
        sender = self.rt.senders.get(claim.channel or "")
        if sender is None:
            return Unsendable()
        reply = Reply(
            channel=claim.channel or "",
            recipient=claim.recipient or "",
            text=str(claim.payload.get("text", "")),
            complaint_id=claim.complaint_id,
            in_reply_to=claim.payload.get("in_reply_to"),
            idempotency_key=claim.idempotency_key,
            meta=dict(claim.payload.get("meta") or {}),
        )
        async with self._slot(f"reply:{claim.channel}"):
            try:
                result = await sender(reply)
            except Exception as e:
                log_failure(log, "reply sender failed", e, channel=claim.channel)
                result = SendResult(ok=False, error=_internal(e), retry=True)
        if not result.ok:
            return Failure(result.error or "send failed", result.retry, result.retry_after)
        return Sent(result.external_id)

    def _slot(self, adapter: str) -> asyncio.Semaphore:
        """At most outbox_concurrency sends in flight per adapter (LAPOR, each channel)."""
        slot = self._inflight.get(adapter)
        if slot is None:
            slot = self._inflight[adapter] = asyncio.Semaphore(self.cfg.outbox_concurrency)
        return slot

    # -- recording -------------------------------------------------------------------------

    async def _record_batch(self, done: list[tuple[Claim, Outcome]]) -> None:
        """Every outcome of a batch in one transaction; should one of them fail to store
        (a bug), each is stored alone instead, so the others keep theirs."""
        try:
            await self.rt.store.run_write(partial(self._record_all, done))
        except StoreUnavailable as e:
            # The rows stay claimed; when the lease ends they are sent again (same key).
            log.warning("outbox results not stored", extra={"rows": len(done), "error": str(e)})
            return
        except Exception as e:
            log_failure(log, "outbox batch not stored; storing row by row", e)
            for claim, outcome in done:
                await self._record_alone(claim, outcome)
            return
        if any(isinstance(o, Forwarded) for _, o in done):
            self.wake()  # the replies just queued

    async def _record_alone(self, claim: Claim, outcome: Outcome) -> None:
        try:
            await self.rt.store.run_write(partial(self._record_all, [(claim, outcome)]))
        except StoreUnavailable as e:
            log.warning("outbox result not stored", extra={"row": claim.id, "error": str(e)})
        except Exception as e:
            # A bug in storing the outcome: count it as a failed attempt, so the row
            # is dead-lettered after max_attempts instead of re-sent every lease forever.
            log_failure(log, "outbox row failed", e, row=claim.id)
            try:
                failure = Failure(_internal(e), True)
                await self.rt.store.run_write(partial(self._record_all, [(claim, failure)]))
            except Exception as e2:  # the lease still runs out, and the row is taken again
                log_failure(log, "outbox failure not stored", e2, row=claim.id)
        else:
            if isinstance(outcome, Forwarded):
                self.wake()

    async def _record_all(self, done: list[tuple[Claim, Outcome]], session: AsyncSession) -> None:
        ids = [c.complaint_id for c, _ in done if c.complaint_id]
        # One query; session.get below finds them in the identity map, which holds them
        # only while something else does (it keeps weak references): `held` does.
        held = (await session.scalars(select(Complaint).where(Complaint.id.in_(ids)))).all()
        # One flush at commit for the whole batch, not one before every statement (rows of
        # one batch never read each other's: one outbox row per complaint and purpose).
        with session.no_autoflush:
            await self._record_each(done, session)
        del held

    async def _record_each(self, done: list[tuple[Claim, Outcome]], session: AsyncSession) -> None:
        for claim, outcome in done:
            match outcome:
                case Forwarded(tracking_id):
                    await self._forwarded(session, claim, tracking_id)
                case Skipped(status):
                    await self._skip(session, claim, status)
                case Sent(external_id):
                    await self._sent(session, claim, external_id)
                case Unsendable():
                    await self._unsendable(session, claim)
                case Failure():
                    await self._failed(session, claim, outcome)

    async def _forwarded(self, session: AsyncSession, claim: Claim, tracking_id: str) -> None:
        if not await self._finish(session, claim, DONE, result={"tracking_id": tracking_id}):
            return
        complaint = await session.get(Complaint, claim.complaint_id)
        assert complaint is not None
        complaint.status = "forwarded"
        complaint.status_reason = None
        complaint.lapor_tracking_id = tracking_id
        complaint.forwarded_at = complaint.forwarded_at or utcnow()
        events.record(
            session,
            kind="forward",
            outcome="forwarded",
            channel=complaint.channel,
            complaint_id=complaint.id,
            region_code=complaint.region_code,
            detail={
                "lapor_tracking_id": tracking_id,
                "attempts": claim.attempts,
                "mode": self.cfg.mode,
                "worker": WORKER_ID,
            },
        )
        await replies.queue_complaint_reply(
            session, self.rt.settings, complaint, "forwarded", lapor_id=tracking_id
        )

    async def _skip(self, session: AsyncSession, claim: Claim, status: str) -> None:
        """An operator changed the complaint while its row waited: nothing to send."""
        if not await self._finish(session, claim, DONE, result={"skipped": status}):
            return
        complaint = await session.get(Complaint, claim.complaint_id)
        events.record(
            session,
            kind="forward",
            outcome="skipped",
            reason=f"complaint is {status}, not queued",
            channel=complaint.channel if complaint is not None else None,
            complaint_id=claim.complaint_id,
            region_code=complaint.region_code if complaint is not None else None,
        )

    async def _sent(self, session: AsyncSession, claim: Claim, external_id: str | None) -> None:
        if not await self._finish(session, claim, DONE, result={"external_id": external_id}):
            return
        events.record(
            session,
            kind="reply",
            outcome="sent",
            channel=claim.channel,
            complaint_id=claim.complaint_id,
            detail={"purpose": claim.payload.get("purpose"), "outbox_id": claim.id},
        )

    async def _unsendable(self, session: AsyncSession, claim: Claim) -> None:
        if not await self._finish(session, claim, UNSENDABLE, error="no sender"):
            return
        events.record(
            session,
            kind="reply",
            outcome="unsendable",
            reason=f"channel {claim.channel} has no reply sender configured",
            channel=claim.channel,
            complaint_id=claim.complaint_id,
            detail={"purpose": claim.payload.get("purpose"), "outbox_id": claim.id},
        )

    async def _failed(self, session: AsyncSession, claim: Claim, failure: Failure) -> None:
        dead = not failure.retry or claim.attempts >= self.cfg.max_attempts
        if dead:
            if not await self._finish(session, claim, DEAD, error=failure.error):
                return
            delay = None
        else:
            delay = self.backoff(claim.attempts, failure.retry_after)
            next_at = utcnow() + timedelta(seconds=delay)
            if not await self._finish(
                session, claim, PENDING, error=failure.error, next_attempt_at=next_at
            ):
                return
        complaint = await session.get(Complaint, claim.complaint_id) if claim.complaint_id else None
        if dead and claim.kind == FORWARD and complaint is not None:
            complaint.status = "failed"
            complaint.status_reason = failure.error
        detail: dict[str, Any] = {"attempts": claim.attempts, "outbox_id": claim.id}
        if delay is not None:
            detail["retry_in_s"] = round(delay, 3)
        if claim.kind == REPLY:
            detail["purpose"] = claim.payload.get("purpose")
        events.record(
            session,
            kind=claim.kind,
            outcome="dead" if dead else "retry",
            reason=failure.error,
            channel=complaint.channel if complaint is not None else claim.channel,
            complaint_id=claim.complaint_id,
            region_code=complaint.region_code if complaint is not None else None,
            detail=detail,
        )

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter; never sooner than LAPOR's Retry-After."""
        ceiling = min(self.cfg.backoff_max_s, self.cfg.backoff_base_s * 2 ** (attempts - 1))
        delay = self._rng.uniform(0, ceiling)
        return max(delay, retry_after) if retry_after is not None else delay

    async def _finish(
        self,
        session: AsyncSession,
        claim: Claim,
        status: str,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> bool:
        """Store a row's outcome if we still hold it (a lease that ran out may have passed
        it to another worker, whose outcome then counts)."""
        values: dict[str, Any] = {"status": status, "claimed_until": None, "updated_at": utcnow()}
        if result is not None:
            values["result"] = result
        if error is not None:
            values["last_error"] = error
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        # Core, not the ORM's bulk update: nothing in the session mirrors outbox rows here.
        conn = await session.connection()
        updated = await conn.execute(
            _finish_statement(tuple(values)),
            {**values, "row_id": claim.id, "lease": claim.lease},
        )
        return bool(updated.rowcount)


@cache
def _finish_statement(columns: tuple[str, ...]) -> Update:
    """Built once per set of columns: building the statement cost more than running it."""
    table = OutboxItem.__table__
    return (
        update(table)
        .where(
            table.c.id == bindparam("row_id"),
            table.c.status == SENDING,
            table.c.claimed_until == bindparam("lease"),
        )
        .values({name: bindparam(name) for name in columns})
    )


def _internal(error: Exception) -> str:
    """An unexpected error as stored in last_error and event reasons: its type, not its
    text (which may quote a phone number or the complaint); the log has the stack."""
    return f"internal error: {type(error).__name__}"


def register(rt: Runtime) -> OutboxWorker:
    """Add the worker and the reply hook to a runtime (gateway/app.py)."""
    worker = OutboxWorker(rt)
    rt.add_service(worker)
    rt.intake.hooks.append(replies.intake_hook(rt.settings))
    rt.intake.observers.append(lambda _raw, _result: worker.wake())
    return worker


async def replies_sent_last_hour(store: Store, channel: str, recipient: str) -> int:
    """Replies a channel delivered to one recipient in the last hour: the per-number cap
    that keeps an auto-responder on the other side from looping with ours."""
    since = utcnow() - timedelta(hours=1)
    async with store.reader() as session:
        sent = await session.scalar(
            select(func.count(OutboxItem.id)).where(
                OutboxItem.kind == "reply",
                OutboxItem.channel == channel,
                OutboxItem.recipient == recipient,
                OutboxItem.status == DONE,
                OutboxItem.updated_at >= since,
            )
        )
    return sent or 0


# -- operator tools (CLI `outbox status`, `outbox retry`; the console later) ----------------


async def status_summary(store: Store) -> dict[str, Any]:
    """Counts by kind and status, the oldest due row, and every dead row with its error."""
    async with store.reader() as session:
        counts = await session.execute(
            select(OutboxItem.kind, OutboxItem.status, func.count()).group_by(
                OutboxItem.kind, OutboxItem.status
            )
        )
        oldest = await session.scalar(
            select(func.min(OutboxItem.next_attempt_at)).where(OutboxItem.status == PENDING)
        )
        dead = await session.execute(
            select(OutboxItem, Complaint.tracking_ref)
            .outerjoin(Complaint, Complaint.id == OutboxItem.complaint_id)
            .where(OutboxItem.status.in_((DEAD, UNSENDABLE)))
            .order_by(OutboxItem.id)
        )
        by_kind: dict[str, dict[str, int]] = {}
        for kind, status, n in counts:
            by_kind.setdefault(kind, {})[status] = n
        return {
            "counts": by_kind,
            "oldest_pending_due": oldest,
            "dead": [
                {
                    "id": row.id,
                    "kind": row.kind,
                    "status": row.status,
                    "channel": row.channel,
                    "tracking_ref": ref,
                    "attempts": row.attempts,
                    "last_error": row.last_error,
                    "updated_at": row.updated_at,
                }
                for row, ref in dead
            ],
        }


def make_due(row: OutboxItem) -> None:
    """Due now, with a fresh attempt budget (the idempotency key stays)."""
    row.status = PENDING
    row.attempts = 0
    row.next_attempt_at = utcnow()
    row.claimed_until = None


class NothingToRetry(Exception):
    """`outbox retry` named a row that does not exist or is already done."""


async def replay(store: Store, *, row_id: int | None = None, dead: bool = False) -> int:
    """Make dead (or one given) rows due again with a fresh attempt budget; a forward row's
    complaint goes back to `queued`. The idempotency key is unchanged, so a report LAPOR
    did receive is not filed twice. Returns how many rows were replayed."""
    if (row_id is None) == (not dead):
        raise ValueError("give a row id or dead=True")
    async with store.transaction() as session:
        query = select(OutboxItem)
        if row_id is not None:
            query = query.where(OutboxItem.id == row_id)
        else:
            query = query.where(OutboxItem.status == DEAD)
        rows = (await session.scalars(query)).all()
        if row_id is not None:
            if not rows:
                raise NothingToRetry(f"no outbox row {row_id}")
            if rows[0].status in (DONE, SENDING):
                raise NothingToRetry(f"outbox row {row_id} is {rows[0].status}; nothing to retry")
        for row in rows:
            previous = row.status
            make_due(row)
            complaint = await session.get(Complaint, row.complaint_id) if row.complaint_id else None
            if row.kind == FORWARD and complaint is not None and complaint.status == "failed":
                complaint.status = "queued"
                complaint.status_reason = None
            events.record(
                session,
                kind=row.kind,
                outcome="replayed",
                reason=f"operator replay of a {previous} row",
                channel=complaint.channel if complaint is not None else row.channel,
                complaint_id=row.complaint_id,
                region_code=complaint.region_code if complaint is not None else None,
                detail={"outbox_id": row.id},
            )
        return len(rows)
