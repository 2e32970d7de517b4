"""A gateway killed with SIGKILL during 200 SMTP deliveries loses nothing, doubles nothing.

The client behaves like a sending mail server: whatever got no 250 stays in its queue and
is sent again, to the restarted gateway. Then there are exactly 200 complaints.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import func, select

from gateway.store.db import Store
from gateway.store.models import Complaint
from tests.support import kill, running_gateway

TOTAL = 200
CONCURRENCY = 8
KILL_AFTER = 60

pytestmark = pytest.mark.slow


def message(i: int) -> bytes:
    return (
        f"From: Warga {i} <warga{i}@mail.id>\r\n"
        f"To: aduan@agamkab.go.id\r\n"
        f"Subject: Aduan uji {i}\r\n"
        f"Message-ID: <crash-{i:04d}@mail.id>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Aduan uji nomor {i}: saluran air tersumbat di depan rumah nomor {i}.\r\n"
    ).encode()


async def deliver_all(
    port: int, pending: set[int], acked: set[int], enough: asyncio.Event | None = None
) -> None:
    """Send every pending message once; those acked with 250 leave the queue."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in sorted(pending):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            try:
                await aiosmtplib.send(
                    message(i),
                    sender=f"warga{i}@mail.id",
                    recipients=["aduan@agamkab.go.id"],
                    hostname="127.0.0.1",
                    port=port,
                    timeout=10,
                )
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                continue  # no 250: stays pending, like a sending server's queue
            pending.discard(i)
            acked.add(i)
            if enough is not None and len(acked) >= KILL_AFTER:
                enough.set()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def test_sigkill_during_smtp_deliveries_then_resend(
    store: Store, config_path: Path, tmp_path: Path, smtp_port: int
) -> None:
    log = tmp_path / "gateway.log"
    pending, acked = set(range(TOTAL)), set()

    async with running_gateway(config_path, log) as proc:
        enough = asyncio.Event()
        load = asyncio.create_task(deliver_all(smtp_port, pending, acked, enough))
        await asyncio.wait_for(enough.wait(), 60)
        await kill(proc)
        await load
        assert KILL_AFTER <= len(acked) < TOTAL, "the kill must land mid-load"

    async with running_gateway(config_path, log):  # stopped with SIGTERM: must exit 0
        for _ in range(5):
            if not pending:
                break
            await deliver_all(smtp_port, pending, acked)

    assert not pending and len(acked) == TOTAL
    async with store.reader() as s:
        count = await s.scalar(select(func.count()).select_from(Complaint))
        ids = set((await s.scalars(select(Complaint.external_id))).all())
    assert count == TOTAL
    assert ids == {f"<crash-{i:04d}@mail.id>#AGAM" for i in range(TOTAL)}
    written = log.read_text()
    assert "warga" not in written.lower() and "saluran air" not in written  # no personal data
