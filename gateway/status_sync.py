"""Status sync: follow forwarded complaints on LAPOR and tell the citizen once it is resolved.

Every `[lapor] status_sync_interval_s` the leader among the gateway instances (PostgreSQL
advisory lock "status-sync") asks LAPOR for the status of each `forwarded` complaint, in
batches, at most `status_sync_max_per_s` calls a second: the pass's cost stays flat however
many complaints wait on LAPOR, and the next pass starts an interval after this one ends. A
changed status is stored in one transaction with its event; a status in `resolved_statuses`
also closes the complaint and, when `notify_on_resolved`, queues the `resolved` reply. The
change is a compare-and-set UPDATE (still forwarded, status still the one this pass read),
so a repeated poll or a second instance finds nothing to change and queues nothing twice;
the reply's unique idempotency key (one per complaint) backs that up.

LAPOR being unreachable makes the service unhealthy and ends the pass without events; the
next interval simply tries again. Adapters without a status call (xml, http without
`status_path`) leave the service idle, which its health entry says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update

from gateway import events, replies
from gateway.lapor import make_client
from gateway.lapor.client import LaporClient, PermanentError, RetryableError, snippet
from gateway.logsafe import log_failure
from gateway.runtime import Runtime
from gateway.store.db import StoreUnavailable
from gateway.store.models import Complaint

log = logging.getLogger(__name__)

NAME = "status-sync"
# Event.outcome and Complaint.lapor_status hold at most this much.
MAX_STATUS_LEN = 32


@dataclass(slots=True)
class PollResult:
    """What one pass over the forwarded complaints did."""

    checked: int = 0
    changed: int = 0
    closed: int = 0
    # A LAPOR-side failure that ended the pass (nothing after it was asked).
    error: str | None = None
    # Reports LAPOR would not tell us about (e.g. 404), by tracking id; the pass went on.
    refused: dict[str, str] = field(default_factory=dict)


class StatusSync:
    """A Runtime service: one per process, only the leader polls."""

    name = NAME

    def __init__(self, rt: Runtime, client: LaporClient | None = None):
        self.rt = rt
        self.cfg = rt.settings.lapor
        self.client = client or make_client(self.cfg)
        self._resolved = frozenset(s.casefold() for s in self.cfg.resolved_statuses)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._leading = False

    # -- service ---------------------------------------------------------------------------

    async def start(self) -> None:
        if not self.client.supports_status:
            self.rt.health.set(
                self.name, True, f"idle: the {self.cfg.mode} LAPOR adapter has no status call"
            )
            return
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name=NAME)

    async def stop(self) -> None:
        """Let the status call in flight and its transaction finish; ask nothing more."""
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            if self._leading:  # a waiting follower has nothing in flight: cancel it at once
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(task), timeout=self.cfg.timeout_s + 5)
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.close()

    async def _run(self) -> None:
        interval = self.cfg.status_sync_interval_s
        while not self._stop.is_set():
            if self.name not in self.rt.health.components:  # PostgreSQL: another may lead
                self.rt.health.set(self.name, True, "standby: another instance polls LAPOR")
            try:
                async with self.rt.leadership(NAME):
                    self._leading = True
                    while not self._stop.is_set():
                        await self.poll_once()
                        await self._sleep(interval)
            except Exception as e:  # the leadership connection broke: wait, then ask again
                log.warning("status sync leadership lost", extra={"error": type(e).__name__})
                self.rt.health.set(
                    self.name, False, f"database unavailable for the lock: {type(e).__name__}"
                )
                await self._sleep(interval)
            finally:
                self._leading = False

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    # -- one pass --------------------------------------------------------------------------

    async def poll_once(self) -> PollResult:
        """Ask LAPOR about every forwarded complaint once; never raises. Sets health."""
        result = PollResult()
        try:
            await self._pass(result)
        except StoreUnavailable as e:
            result.error = f"database unavailable: {e}"
        except Exception as e:  # a bug must not end the sync; logged and tried next interval
            log_failure(log, "status sync pass failed", e)
            # Only the type: a database error's text can carry row values (phone numbers).
            result.error = f"internal error: {type(e).__name__} (see the log)"
        if result.error is not None:
            self.rt.health.set(self.name, False, result.error)
        elif result.refused:
            tracking_id, why = next(iter(result.refused.items()))
            self.rt.health.set(
                self.name,
                False,
                f"LAPOR refused the status of {len(result.refused)} report(s), "
                f"e.g. {tracking_id}: {why}",
            )
        else:
            self.rt.health.set(
                self.name, True, f"polling every {self.cfg.status_sync_interval_s:g}s"
            )
        return result

    async def _pass(self, result: PollResult) -> None:
        after = ""
        loop = asyncio.get_running_loop()
        gap = 1.0 / self.cfg.status_sync_max_per_s
        next_call = loop.time()
        while not self._stop.is_set():
            batch = await self._forwarded_after(after)
            if not batch:
                return
            for complaint_id, tracking_id, known, sync_error in batch:
                if (wait := next_call - loop.time()) > 0:
                    await self._sleep(wait)
                if self._stop.is_set():
                    return
                next_call = max(next_call, loop.time()) + gap
                try:
                    status = await self.client.status(tracking_id)
                except RetryableError as e:
                    # LAPOR is down or answering garbage: asking the rest now would not help.
                    result.error = f"LAPOR status call failed: {e}"
                    return
                except PermanentError as e:
                    result.refused[tracking_id] = str(e)
                    await self._refused(complaint_id, tracking_id, str(e))
                    continue
                result.checked += 1
                status = status.strip()
                if not status or len(status) > MAX_STATUS_LEN or not status.isprintable():
                    why = f"unreadable status {snippet(status, 40)!r}"
                    result.refused[tracking_id] = why
                    await self._refused(complaint_id, tracking_id, why)
                    continue
                if sync_error is not None:
                    await self._refused(complaint_id, tracking_id, None)
                if status != known and await self._apply(complaint_id, tracking_id, known, status):
                    result.changed += 1
                    result.closed += status.casefold() in self._resolved
            after = batch[-1][0]

    async def _forwarded_after(self, after: str) -> list[tuple[str, str, str | None, str | None]]:
        """The next batch of forwarded complaints with a LAPOR tracking id, by id."""
        async with self.rt.store.reader() as session:
            rows = await session.execute(
                select(
                    Complaint.id,
                    Complaint.lapor_tracking_id,
                    Complaint.lapor_status,
                    Complaint.lapor_sync_error,
                )
                .where(
                    Complaint.status == "forwarded",
                    Complaint.lapor_tracking_id.is_not(None),
                    Complaint.id > after,
                )
                .order_by(Complaint.id)
                .limit(self.cfg.status_sync_batch)
            )
            return [(cid, str(tid), status, error) for cid, tid, status, error in rows]

    async def _refused(self, complaint_id: str, tracking_id: str, why: str | None) -> None:
        """Keep LAPOR's refusal on the complaint, so the console's outbox view can offer
        close / re-send; an event only when it changes, not on every pass."""
        async with self.rt.store.transaction() as session:
            updated = await session.execute(
                update(Complaint)
                .where(
                    Complaint.id == complaint_id,
                    Complaint.lapor_tracking_id == tracking_id,
                    or_(Complaint.lapor_sync_error.is_(None), Complaint.lapor_sync_error != why)
                    if why is not None
                    else Complaint.lapor_sync_error.is_not(None),
                )
                .values(lapor_sync_error=why)
            )
            if updated.rowcount and why is not None:  # type: ignore[attr-defined]
                complaint = await session.get(Complaint, complaint_id)
                assert complaint is not None
                events.record(
                    session,
                    kind="status",
                    outcome="refused",
                    reason=why,
                    channel=complaint.channel,
                    complaint_id=complaint_id,
                    region_code=complaint.region_code,
                    detail={"lapor_tracking_id": tracking_id},
                )

    async def _apply(
        self, complaint_id: str, tracking_id: str, previous: str | None, status: str
    ) -> bool:
        """Store one status change with its event (and the closing reply); False when the
        complaint moved on meanwhile (closed, or the change already stored elsewhere)."""
        resolved = status.casefold() in self._resolved
        values: dict[str, str] = {"lapor_status": status}
        if resolved:
            values["status"] = "closed"
        async with self.rt.store.transaction() as session:
            updated = await session.execute(
                update(Complaint)
                .where(
                    Complaint.id == complaint_id,
                    Complaint.status == "forwarded",
                    Complaint.lapor_tracking_id == tracking_id,
                    # Compare-and-set against what this pass read: exactly one writer wins.
                    Complaint.lapor_status.is_(None)
                    if previous is None
                    else Complaint.lapor_status == previous,
                )
                .values(**values)
            )
            if not updated.rowcount:  # type: ignore[attr-defined]
                return False
            complaint = await session.get(Complaint, complaint_id)
            assert complaint is not None
            events.record(
                session,
                kind="status",
                outcome=status,
                channel=complaint.channel,
                complaint_id=complaint.id,
                region_code=complaint.region_code,
                detail={"lapor_tracking_id": tracking_id, "previous": previous, "closed": resolved},
            )
            if resolved and self.cfg.notify_on_resolved:
                await replies.queue_complaint_reply(
                    session, self.rt.settings, complaint, "resolved"
                )
        return True


def register(rt: Runtime) -> StatusSync:
    """Add the status sync to a runtime (gateway/app.py)."""
    sync = StatusSync(rt)
    rt.add_service(sync)
    return sync
