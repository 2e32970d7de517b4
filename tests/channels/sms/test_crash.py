"""kill -9 a gateway draining the SIM; the restart finishes: each SMS once, the SIM empty."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.settings import Settings
from gateway.store.db import Store
from tests.channels.sms.helpers import complaints, eventually, inbound
from tests.channels.sms.modem_simulator import ModemSimulator, encode_deliver
from tests.support import kill, running_gateway

pytestmark = pytest.mark.slow
MESSAGES = 50


async def test_kill_9_while_draining_50_messages(
    sim: ModemSimulator, settings: Settings, store: Store, tmp_path: Path
) -> None:
    sim.capacity = MESSAGES
    sim.latency_s = 0.01
    base = datetime(2026, 11, 23, 8, 0, 0, tzinfo=UTC)
    for i in range(MESSAGES):
        sender = f"+62812{i:07d}"
        text = f"AGAM laporan warga nomor {i}: jalan rusak di jorong {i % 7}"
        sim.store(encode_deliver(sender, text, base + timedelta(seconds=i)), announce=False)
    sim.start()
    log = tmp_path / "gateway.log"

    async with running_gateway(settings.path, log) as first:
        deadline = time.monotonic() + 30
        while len(sim.stored()) > MESSAGES - 10:  # kill in the middle of the drain
            assert first.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the gateway did not start draining"
            await asyncio.sleep(0.005)
        await kill(first)
    left = len(sim.stored())
    assert 0 < left < MESSAGES, "the kill did not land mid-drain"

    async with running_gateway(settings.path, log):  # stopped with SIGTERM: must exit 0
        await eventually(lambda: not sim.stored(), timeout=30, what="an empty SIM")
        found = await complaints(store)
        assert len(found) == MESSAGES
        assert len({c.external_id for c in found}) == MESSAGES
        rows = await inbound(store)
        assert len(rows) == MESSAGES and {r.outcome for r in rows} == {"accepted"}
    written = log.read_text()
    assert "62812" not in written and "jalan rusak" not in written  # no personal data
