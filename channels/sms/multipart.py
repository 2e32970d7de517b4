"""Concatenated SMS: parts kept durably in sms_parts until their set is complete.

A set is keyed by sender + concat reference (8 or 16 bit) + total; parts come in any order,
a retransmitted part (byte-identical, same digest) is absorbed, and a complete set becomes
one RawMessage. The intake transaction that stores it also marks the parts completed (an
intake hook), so a crash at any point either re-assembles the same message (same
external_id: a duplicate) or finds it done. A sweeper completes sets left incomplete after
`multipart_timeout_s`, marking the missing parts, so nothing waits forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.sms.inbound import modem_raw
from channels.sms.pdu import Concat, ucs2_text
from gateway.intake import Intake, IntakeResult
from gateway.logsafe import log_failure
from gateway.store.db import Store
from gateway.store.models import SmsPart, utcnow
from normalizer.types import RawMessage

log = logging.getLogger(__name__)

MISSING = "[…]"
GROUP_META = "sms_group"


@dataclass(frozen=True, slots=True)
class IncomingPart:
    sender: str
    concat: Concat
    text: str  # printable: no lone surrogates
    smsc_timestamp: datetime
    digest: str  # sha256 of the TPDU
    ucs2: bytes | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PartOutcome:
    repeat: bool  # a retransmission of a part we already hold (or held)
    result: IntakeResult | None  # set when this part completed its set


class Multipart:
    def __init__(self, store: Store, intake: Intake, *, short_code: str, timeout_s: float):
        self.store = store
        self.intake = intake
        self.short_code = short_code
        self.timeout = timedelta(seconds=timeout_s)
        # The modem reader and the sweeper share sets; one at a time keeps them consistent.
        self._lock = asyncio.Lock()

    async def add(self, part: IncomingPart) -> PartOutcome:
        async with self._lock:
            async with self.store.transaction() as session:
                known = await session.scalar(select(SmsPart).where(SmsPart.digest == part.digest))
                if known is not None:
                    group_key, repeat = known.group_key, True
                else:
                    group_key, repeat = await self._group_for(session, part), False
                    session.add(
                        SmsPart(
                            group_key=group_key,
                            digest=part.digest,
                            sender=part.sender,
                            recipient=self.short_code,
                            concat_ref=part.concat.ref,
                            total=part.concat.total,
                            seq=part.concat.seq,
                            text=part.text,
                            smsc_timestamp=part.smsc_timestamp,
                            meta={
                                **part.meta,
                                "bits": part.concat.ref_bits,
                                **({"ucs2": part.ucs2.hex()} if part.ucs2 is not None else {}),
                            },
                        )
                    )
            # Also after a repeat: a crash may have left a complete set unsubmitted.
            return PartOutcome(repeat, await self._complete(group_key, force=False))

    async def sweep(self, now: datetime | None = None) -> int:
        """Complete sets older than the timeout (gaps marked); purge old completed parts."""
        now = now or utcnow()
        cutoff = now - self.timeout
        done = 0
        async with self._lock:
            async with self.store.reader() as session:
                stale = (
                    await session.scalars(
                        select(SmsPart.group_key)
                        .where(SmsPart.completed_at.is_(None))
                        .group_by(SmsPart.group_key)
                        .having(func.min(SmsPart.first_seen_at) < cutoff)
                    )
                ).all()
            for group_key in stale:
                if await self._complete(group_key, force=True) is not None:
                    done += 1
            async with self.store.transaction() as session:
                await session.execute(delete(SmsPart).where(SmsPart.completed_at < cutoff))
        return done

    async def _group_for(self, session: AsyncSession, part: IncomingPart) -> str:
        """The open set this part belongs to; a new one when none lacks this part number."""
        base = f"{part.sender}|{part.concat.ref_bits}:{part.concat.ref}|{part.concat.total}#"
        rows = await session.execute(
            select(SmsPart.group_key, SmsPart.seq)
            .where(
                SmsPart.group_key.startswith(base, autoescape=True),
                SmsPart.completed_at.is_(None),
            )
            .order_by(SmsPart.id)
        )
        groups: dict[str, set[int]] = {}
        for key, seq in rows:
            groups.setdefault(key, set()).add(seq)
        for key, seqs in groups.items():
            if part.concat.seq not in seqs:
                return key
        return base + part.digest[:16]

    async def _complete(self, group_key: str, *, force: bool) -> IntakeResult | None:
        async with self.store.reader() as session:
            parts = (
                await session.scalars(
                    select(SmsPart)
                    .where(SmsPart.group_key == group_key, SmsPart.completed_at.is_(None))
                    .order_by(SmsPart.seq)
                )
            ).all()
        if not parts or (len(parts) < parts[0].total and not force):
            return None
        raw = self._assemble(group_key, parts)

        async def close_set(session: AsyncSession, _: IntakeResult) -> None:
            await _mark(session, group_key)

        # The assembled message and the end of its parts commit together (replays too).
        return await self.intake.submit(raw, also=close_set)

    def _assemble(self, group_key: str, parts: Sequence[SmsPart]) -> RawMessage:
        first = parts[0]
        by_seq = {p.seq: p for p in parts}
        pieces: list[str] = []
        pending = b""  # consecutive UCS-2 parts are joined as bytes: emoji cut at a border
        missing = []
        for seq in range(1, first.total + 1):
            part = by_seq.get(seq)
            if part is not None and "ucs2" in part.meta:
                pending += bytes.fromhex(part.meta["ucs2"])
                continue
            if pending:
                pieces.append(ucs2_text(pending))
                pending = b""
            if part is None:
                missing.append(seq)
                pieces.append(MISSING)
            else:
                pieces.append(part.text)
        if pending:
            pieces.append(ucs2_text(pending))
        text = "".join(pieces)
        meta: dict[str, Any] = {
            GROUP_META: group_key,
            "concat": {"ref": first.concat_ref, "total": first.total, "bits": first.meta["bits"]},
            "parts": len(parts),
        }
        if missing:
            meta["missing_parts"] = missing
        if "smsc" in first.meta:
            meta["smsc"] = first.meta["smsc"]
        return modem_raw(
            sender=first.sender,
            short_code=self.short_code,
            text=text,
            smsc_timestamp=min(p.smsc_timestamp for p in parts),
            concat=(first.concat_ref, first.total),
            meta=meta,
        )


async def _mark(session: AsyncSession, group_key: str) -> None:
    await session.execute(
        update(SmsPart)
        .where(SmsPart.group_key == group_key, SmsPart.completed_at.is_(None))
        .values(completed_at=utcnow())
    )


class MultipartSweeper:
    """Service: completes timed-out sets and purges completed parts, periodically."""

    name = "sms-multipart-sweeper"

    def __init__(self, multipart: Multipart, interval_s: float):
        self.multipart = multipart
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                completed = await self.multipart.sweep()
                if completed:
                    log.info("incomplete multipart sets completed", extra={"count": completed})
            except Exception as e:  # the store may be down: try again next round
                log_failure(log, "multipart sweep failed", e)
            await asyncio.sleep(self.interval_s)
