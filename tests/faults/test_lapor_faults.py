"""A hostile LAPOR: timeouts, connection resets, 5xx storms with Retry-After, 200 with a
garbage body, answers after 60 s. Every complaint reaches it exactly once, nothing is lost,
and the backoff shows in the outbox rows the console and `outbox status` read.

The hostile server stores a report *before* failing most of the time (the worst case: the
gateway cannot know it got through) and, like LAPOR, files one report per Idempotency-Key.
So a double forward would show as one complaint sent under two keys, or a tracking id the
gateway keeps that differs from the one LAPOR gave for its key.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import Counter, defaultdict
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from gateway.settings import load_settings
from gateway.store.db import Store
from gateway.store.models import Complaint, Event, OutboxItem, utcnow
from tests.support import API_KEY_ALL, free_port, running_gateway, write_config

pytestmark = pytest.mark.slow

COMPLAINTS = 30
TIMEOUT_S = 1.5
# Each report meets these, one per attempt, starting at a different place per report.
FAULTS = ("timeout", "reset", "storm", "garbage", "slow60", "storm", "reset")


class HostileLapor:
    def __init__(self) -> None:
        self.reports: dict[str, str] = {}  # idempotency key -> tracking id
        self.keys_by_text: dict[str, set[str]] = defaultdict(set)
        self.attempts: Counter[str] = Counter()
        self.faults_served: Counter[str] = Counter()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        key = request.headers.get("Idempotency-Key", "")
        body = await request.json()
        self.keys_by_text[body["text"]].add(key)
        n = self.attempts[key]
        self.attempts[key] += 1
        faults = FAULTS[hash(key) % len(FAULTS) :][:3]  # up to three faults, then success
        fault = faults[n] if n < len(faults) else "ok"
        self.faults_served[fault] += 1
        if fault == "storm":  # before storing, as an overloaded server refuses
            return web.json_response({"error": "busy"}, status=503, headers={"Retry-After": "1"})
        tracking = self.reports.setdefault(key, f"{1000000 + len(self.reports)}")
        if fault == "timeout":
            await asyncio.sleep(TIMEOUT_S * 3)
        elif fault == "slow60":
            await asyncio.sleep(60)  # the gateway gave up long ago
        elif fault == "reset":
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        elif fault == "garbage":
            return web.Response(text="<html>Gateway Timeout</html>\x00\xff", status=200)
        return web.json_response({"tracking_id": tracking})


async def test_lapor_faults_no_lost_no_double_forward(
    tmp_path: Path, sqlite_template: Path
) -> None:
    lapor = HostileLapor()
    app = web.Application()
    app.router.add_post("/api/v1/laporan", lapor.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    db = tmp_path / "lapor.db"
    shutil.copy(sqlite_template, db)
    url = f"sqlite+aiosqlite:///{db}"
    cfg = write_config(tmp_path / "cfg", url, lapor_url=f"http://127.0.0.1:{port}")
    text = cfg.read_text()
    text = text.replace(
        'mode = "sandbox"', f'mode = "http"\ntimeout_s = {TIMEOUT_S}\nstatus_path = ""'
    )
    text = text.replace("max_attempts = 3", "max_attempts = 20")
    # Backoff long enough to be seen waiting (the suite's default is 50 ms).
    text = text.replace("backoff_base_s = 0.05", "backoff_base_s = 1.0")
    text = text.replace("backoff_max_s = 0.5", "backoff_max_s = 4.0")
    cfg.write_text(text)
    base = f"http://{load_settings(cfg).http.listen}"
    store = Store(url)
    backoff_seen = []
    try:
        async with running_gateway(cfg, tmp_path / "gateway.log"), aiohttp.ClientSession() as http:
            for i in range(COMPLAINTS):
                async with http.post(
                    f"{base}/api/v1/complaints",
                    json={"region": "AGAM", "text": f"Aduan uji LAPOR nomor {i:03d}"},
                    headers={
                        "Authorization": f"Bearer {API_KEY_ALL}",
                        "Idempotency-Key": f"lf-{i}",
                    },
                ) as r:
                    assert r.status == 201, await r.text()
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                async with store.reader() as s:
                    rows = (
                        await s.execute(
                            select(
                                OutboxItem.status,
                                OutboxItem.attempts,
                                OutboxItem.last_error,
                                OutboxItem.next_attempt_at,
                            ).where(OutboxItem.kind == "forward")
                        )
                    ).all()
                now = utcnow()
                backoff_seen += [
                    r
                    for r in rows
                    if r.status == "pending"
                    and r.attempts
                    and r.last_error
                    and r.next_attempt_at > now
                ]
                if rows and all(r.status == "done" for r in rows):
                    break
                await asyncio.sleep(0.5)
            async with store.reader() as s:
                complaints = (await s.scalars(select(Complaint))).all()
                forwarded = (
                    await s.scalars(select(Event).where(Event.outcome == "forwarded"))
                ).all()
                statuses = Counter(
                    (
                        await s.scalars(
                            select(OutboxItem.status).where(OutboxItem.kind == "forward")
                        )
                    ).all()
                )
    finally:
        await store.close()
        await runner.cleanup()

    assert statuses == {"done": COMPLAINTS}, statuses
    assert len(complaints) == COMPLAINTS
    for c in complaints:
        keys = lapor.keys_by_text[c.text]
        assert len(keys) == 1, (c.tracking_ref, keys)  # every attempt under one key
        assert c.status == "forwarded"
        assert c.lapor_tracking_id == lapor.reports[next(iter(keys))]
    assert len(lapor.reports) == COMPLAINTS  # one report per complaint at LAPOR
    assert {"timeout", "reset", "storm", "garbage", "slow60"} <= set(lapor.faults_served)
    # Backoff was visible: rows waiting for their next attempt, with the reason.
    errors = " ".join(r.last_error for r in backoff_seen)
    assert backoff_seen and "timeout" in errors and "HTTP 503" in errors, errors
    assert "not JSON" in errors or "no 'tracking_id'" in errors
    # One forwarded event per complaint, with the attempts it took.
    assert Counter(e.complaint_id for e in forwarded) == {c.id: 1 for c in complaints}
    attempts = {e.complaint_id: e.detail["attempts"] for e in forwarded}
    for c in complaints:
        key = next(iter(lapor.keys_by_text[c.text]))
        assert attempts[c.id] == lapor.attempts[key], c.tracking_ref
