"""The outbox worker: forwards complaints to LAPOR and sends replies to citizens.

A row is claimed in a short transaction (PostgreSQL: FOR UPDATE SKIP LOCKED, so any number
of gateway instances share the work; SQLite: one instance), sent OUTSIDE any transaction,
and its outcome stored in a second transaction together with the complaint's new status
and an event. A worker that dies between sending and storing leaves the row claimed; when
the claim's lease runs out another worker sends it again with the same idempotency key
(the complaint id), so LAPOR answers the same tracking id instead of filing a second report.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
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
        self._inflight = asyncio.Semaphore(self.cfg.outbox_concurrency)

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
        """Claim a batch of due rows and handle them; the number handled."""
        claims = await self.claim()
        await asyncio.gather(*(self._handle_guarded(c) for c in claims))
        return len(claims)

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
        async with self.rt.store.transaction() as session:
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

    async def _handle_guarded(self, claim: Claim) -> None:
        async with self._inflight:
            try:
                if claim.kind == FORWARD:
                    await self._forward(claim)
                elif claim.kind == REPLY:
                    await self._reply(claim)
                else:
                    await self._failed(claim, Failure(f"unknown outbox kind {claim.kind!r}", False))
            except StoreUnavailable as e:
                # The row stays claimed; when the lease ends it is sent again (same key).
                log.warning("outbox result not stored", extra={"row": claim.id, "error": str(e)})
            except Exception as e:
                # A bug in storing the outcome: count it as a failed attempt, so the row
                # is dead-lettered after max_attempts instead of re-sent every lease forever.
                log_failure(log, "outbox row failed", e, row=claim.id)
                await self._failed_quietly(claim, Failure(_internal(e), True))

    async def _failed_quietly(self, claim: Claim, failure: Failure) -> None:
        try:
            await self._failed(claim, failure)
        except Exception as e:  # the lease still runs out, and the row is taken again
            log_failure(log, "outbox failure not stored", e, row=claim.id)

    async def _forward(self, claim: Claim) -> None:
        async with self.rt.store.reader() as session:
            complaint = await session.get(Complaint, claim.complaint_id)
            reporter = (
                await session.get(Reporter, complaint.reporter_id)
                if complaint is not None and complaint.reporter_id
                else None
            )
        if complaint is None:
            await self._failed(claim, Failure("complaint not found", retry=False))
            return
        if complaint.status != "queued":
            await self._skip(claim, complaint)
            return
        region = self.rt.settings.regions.get(complaint.region_code)
        institution = region.lapor_institution_id if region else ""
        report = build_report(complaint, reporter, institution)
        try:
            tracking_id = await self.client.send(report, complaint.id)
        except RetryableError as e:
            await self._failed(claim, Failure(str(e), True, e.retry_after))
        except PermanentError as e:
            await self._failed(claim, Failure(str(e), False))
        except Exception as e:
            log_failure(log, "LAPOR adapter failed", e, row=claim.id)
            await self._failed(claim, Failure(_internal(e), True))
        else:
            await self._forwarded(claim, tracking_id)

    async def _forwarded(self, claim: Claim, tracking_id: str) -> None:
        async with self.rt.store.transaction() as session:
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
        self.wake()  # the reply just queued

    async def _skip(self, claim: Claim, complaint: Complaint) -> None:
        """An operator changed the complaint while its row waited: nothing to send."""
        async with self.rt.store.transaction() as session:
            if not await self._finish(session, claim, DONE, result={"skipped": complaint.status}):
                return
            events.record(
                session,
                kind="forward",
                outcome="skipped",
                reason=f"complaint is {complaint.status}, not queued",
                channel=complaint.channel,
                complaint_id=complaint.id,
                region_code=complaint.region_code,
            )

    async def _reply(self, claim: Claim) -> None:
        sender = self.rt.senders.get(claim.channel or "")
        if sender is None:
            await self._unsendable(claim)
            return
        reply = Reply(
            channel=claim.channel or "",
            recipient=claim.recipient or "",
            text=str(claim.payload.get("text", "")),
            complaint_id=claim.complaint_id,
            in_reply_to=claim.payload.get("in_reply_to"),
            idempotency_key=claim.idempotency_key,
            meta=dict(claim.payload.get("meta") or {}),
        )
        try:
            result = await sender(reply)
        except Exception as e:
            log_failure(log, "reply sender failed", e, channel=claim.channel)
            result = SendResult(ok=False, error=_internal(e), retry=True)
        if not result.ok:
            await self._failed(
                claim, Failure(result.error or "send failed", result.retry, result.retry_after)
            )
            return
        async with self.rt.store.transaction() as session:
            if not await self._finish(
                session, claim, DONE, result={"external_id": result.external_id}
            ):
                return
            events.record(
                session,
                kind="reply",
                outcome="sent",
                channel=claim.channel,
                complaint_id=claim.complaint_id,
                detail={"purpose": claim.payload.get("purpose"), "outbox_id": claim.id},
            )

    async def _unsendable(self, claim: Claim) -> None:
        async with self.rt.store.transaction() as session:
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

    async def _failed(self, claim: Claim, failure: Failure) -> None:
        dead = not failure.retry or claim.attempts >= self.cfg.max_attempts
        async with self.rt.store.transaction() as session:
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
            complaint = (
                await session.get(Complaint, claim.complaint_id) if claim.complaint_id else None
            )
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
        updated = await session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.id == claim.id,
                OutboxItem.status == SENDING,
                OutboxItem.claimed_until == claim.lease,
            )
            .values(**values)
        )
        return bool(updated.rowcount)  # type: ignore[attr-defined]


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
