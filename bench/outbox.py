"""Outbox drain rate: the worker forwarding N complaints to a local sandbox LAPOR, against a
raw aiohttp client posting the same report bodies (same concurrency) in the same run.

Prints reports/s for both and the ratio (outbox / raw). The gap is what durability costs:
claiming rows, reading each complaint, and one transaction per outcome (status, tracking
id, event). Usage:
    .venv/bin/python bench/outbox.py [--complaints N] [--database-url URL]
(--database-url: an EMPTY database; it is migrated and filled.) Default: a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.store_setup import bench_store
from fakes.lapor_sandbox import SandboxLapor
from gateway.intake import Intake
from gateway.lapor.report import build_report, report_json
from gateway.outbox import OutboxWorker
from gateway.runtime import Runtime
from gateway.store.models import Complaint
from normalizer.types import Channel, RawMessage
from tests.support import make_raw

TOKEN = "sandbox-token"


async def start_sandbox() -> tuple[SandboxLapor, web.AppRunner, str]:
    lapor = SandboxLapor(TOKEN)
    runner = web.AppRunner(lapor.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return lapor, runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def complaint_raw(i: int) -> RawMessage:
    return make_raw(
        f"Jalan rusak di depan pasar, laporan nomor {i}",
        channel=Channel.API,
        sender="portal-provinsi",
        recipient="api",
        region_hint="AGAM",
    )


async def raw_posts(url: str, bodies: list[tuple[str, bytes]], concurrency: int) -> float:
    """The baseline: the same bodies, same headers, no store."""
    queue = list(reversed(bodies))
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    async def post(http: aiohttp.ClientSession) -> None:
        while queue:
            key, body = queue.pop()
            async with http.post(
                f"{url}/api/v1/laporan", data=body, headers=headers | {"Idempotency-Key": key}
            ) as resp:
                assert resp.status == 201, await resp.text()
                await resp.read()

    async with aiohttp.ClientSession() as http:
        start = time.perf_counter()
        await asyncio.gather(*(post(http) for _ in range(concurrency)))
        return time.perf_counter() - start


async def main(n: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        baseline_lapor, baseline_runner, baseline_url = await start_sandbox()
        lapor, runner, lapor_url = await start_sandbox()
        try:
            prepared = bench_store(database_url, Path(tmp) / "cfg", lapor_url=lapor_url)
            async with prepared as (settings, store):
                rt = Runtime(settings=settings, store=store, intake=Intake(settings, store))
                for start in range(0, n, 50):
                    await asyncio.gather(
                        *(
                            rt.intake.submit(complaint_raw(i))
                            for i in range(start, min(n, start + 50))
                        )
                    )
                async with store.reader() as session:
                    complaints = (await session.scalars(select(Complaint))).all()
                    institution = settings.regions["AGAM"].lapor_institution_id
                    bodies = [
                        (c.id, json.dumps(report_json(build_report(c, None, institution))).encode())
                        for c in complaints
                    ]
                concurrency = settings.lapor.outbox_concurrency

                raw_s = await raw_posts(baseline_url, bodies, concurrency)

                worker = OutboxWorker(rt)
                start_t = time.perf_counter()
                await worker.run_until_idle()
                outbox_s = time.perf_counter() - start_t
                await worker.client.close()

                async with store.reader() as session:
                    forwarded = await session.scalar(
                        select(func.count()).where(Complaint.status == "forwarded")
                    )
                assert forwarded == n == lapor.counters["reports"], (forwarded, lapor.counters)
                assert baseline_lapor.counters["reports"] == n
        finally:
            await runner.cleanup()
            await baseline_runner.cleanup()
    backend = "postgresql" if database_url else "sqlite"
    print(f"outbox drain, {n} complaints, {backend}, concurrency {concurrency}")
    print(f"  raw aiohttp client : {n / raw_s:8.1f} reports/s")
    print(f"  outbox worker      : {n / outbox_s:8.1f} reports/s")
    print(f"  ratio outbox/raw   : {raw_s / outbox_s:8.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.complaints, args.database_url))
