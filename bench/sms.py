"""SMS throughput: the modem reader end to end vs the simulated modem's raw read rate.

Both runs drain the same N stored SMS-DELIVER PDUs from the pty modem simulator with the same
AT traffic (AT+CMGL=4, then AT+CMGD=<index> per message). The baseline is a bare pyserial
client that only lists and deletes; ours decodes each PDU, submits it to intake (one
transaction: inbound + complaint + outbox + event) and deletes after the commit. Prints
messages/s for both and the ratio (ours / raw). Usage:
    .venv/bin/python bench/sms.py [--messages N] [--database-url URL]
(--database-url: an EMPTY database; it is migrated and filled. Default: a fresh SQLite file.)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import serial

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import channels.sms
from channels.sms.modem import parse_cmgl
from gateway.intake import Intake
from gateway.runtime import Runtime
from gateway.settings import load_settings
from gateway.store.db import Store
from gateway.store.migrate import upgrade
from gateway.store.regions import sync_regions
from tests.channels.sms.modem_simulator import ModemSimulator, encode_deliver
from tests.support import write_config


def pdus(n: int) -> list[str]:
    base = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    return [
        encode_deliver(
            f"+62812{i:07d}",
            f"AGAM laporan warga nomor {i}: jalan rusak di jorong {i % 7}, mohon diperbaiki",
            base + timedelta(seconds=i),
        )
        for i in range(n)
    ]


def fill(sim: ModemSimulator, items: list[str]) -> None:
    for pdu in items:
        sim.store(pdu, announce=False)


def raw_drain(sim: ModemSimulator) -> float:
    """List and delete everything with a bare serial client; seconds taken."""
    with serial.Serial(str(sim.path), 115200, timeout=5, dsrdtr=True, rtscts=True) as line:

        def command(text: str) -> list[str]:
            line.write(text.encode() + b"\r")
            lines: list[str] = []
            while True:
                got = line.readline().decode().strip()
                if got:
                    lines.append(got)
                if got in ("OK", "ERROR") or got.startswith("+CMS ERROR"):
                    return lines

        started = time.perf_counter()
        entries = parse_cmgl(command("AT+CMGL=4"))
        for entry in entries:
            command(f"AT+CMGD={entry.index}")
        return time.perf_counter() - started


async def gateway_drain(sim: ModemSimulator, config: Path, n: int) -> float:
    settings = load_settings(config)
    store = Store(settings.database_url)
    await sync_regions(store, settings)
    rt = Runtime(settings=settings, store=store, intake=Intake(settings, store))
    channels.sms.register(rt)
    try:
        for service in rt.services:
            await service.start()
        modem = next(s for s in rt.services if s.name == "sms-modem")
        await asyncio.wait_for(modem.connected.wait(), 30)  # type: ignore[attr-defined]
        started = time.perf_counter()
        items = pdus(n)
        fill(sim, items[:-1])
        sim.store(items[-1], announce=True)  # its +CMTI wakes the reader
        while sim.stored():  # noqa: ASYNC110 - the simulator is a thread, not a coroutine
            await asyncio.sleep(0.002)
        return time.perf_counter() - started
    finally:
        for service in reversed(rt.services):
            await service.stop()
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    n = args.messages
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = args.database_url or f"sqlite+aiosqlite:///{work / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        sim = ModemSimulator(work, capacity=n).start()
        try:
            fill(sim, pdus(n))
            raw_s = raw_drain(sim)
            config = write_config(
                work / "cfg",
                url,
                f"""
[channels.sms.modem]
enabled = true
port = "{sim.path}"
sweep_interval_s = 60
""",
            )
            ours_s = await gateway_drain(sim, config, n)
        finally:
            sim.stop()
    raw_rate, ours_rate = n / raw_s, n / ours_s
    print(f"messages:            {n}")
    print(f"raw modem read rate: {raw_rate:8.1f} msg/s  (list + delete, bare pyserial)")
    print(f"gateway end to end:  {ours_rate:8.1f} msg/s  (decode, intake commit, delete)")
    print(f"ratio (ours / raw):  {ours_rate / raw_rate:8.3f}")


if __name__ == "__main__":
    asyncio.run(main())
