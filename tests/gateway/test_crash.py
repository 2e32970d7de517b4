"""A gateway killed with SIGKILL under load loses nothing and doubles nothing.

A client posts 300 complaints, 16 at a time; the gateway is killed mid-way, restarted,
and every request that got no answer is sent again. Then each complaint exists once, and
every answer the client did get names the stored tracking number.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.models import Complaint
from tests.support import API_KEY_ALL, kill, running_gateway

TOTAL = 300
CONCURRENCY = 16
KILL_AFTER = 80

pytestmark = pytest.mark.slow


async def post_all(
    base: str,
    keys: list[str],
    answers: dict[str, str],
    answered_enough: asyncio.Event | None = None,
) -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for key in keys:
        queue.put_nowait(key)

    async def worker(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            key = queue.get_nowait()
            body = {
                "region": "AGAM" if hash(key) % 2 else "SBY",
                "text": f"Aduan uji nomor {key}: jalan berlubang di dekat sekolah",
            }
            try:
                async with http.post(
                    f"{base}/api/v1/complaints",
                    json=body,
                    headers={"Authorization": f"Bearer {API_KEY_ALL}", "Idempotency-Key": key},
                ) as resp:
                    if resp.status in (200, 201):
                        answers[key] = (await resp.json())["tracking_ref"]
            except (TimeoutError, aiohttp.ClientError):
                pass  # no answer: the client will send it again
            if answered_enough and len(answers) >= KILL_AFTER:
                answered_enough.set()

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        await asyncio.gather(*(worker(http) for _ in range(CONCURRENCY)))


async def test_sigkill_under_load_then_resend(
    settings: Settings, store: Store, config_path: Path, tmp_path: Path
) -> None:
    base = f"http://{settings.http.listen}"
    keys = [f"crash-{i:04d}" for i in range(TOTAL)]
    answers: dict[str, str] = {}
    log = tmp_path / "gateway.log"

    async with running_gateway(config_path, log) as proc:
        enough = asyncio.Event()
        load = asyncio.create_task(post_all(base, keys, answers, enough))
        await asyncio.wait_for(enough.wait(), 60)
        await kill(proc)
        await load
        assert KILL_AFTER <= len(answers) < TOTAL, "the kill must land mid-load"

    async with running_gateway(config_path, log):  # stopped with SIGTERM: must exit 0
        unanswered = [k for k in keys if k not in answers]
        first_answers = dict(answers)
        await post_all(base, unanswered, answers)
        # A replay of an answered request gives the same tracking number.
        await post_all(base, keys[:20], replayed := {})
        assert {k: first_answers.get(k, answers[k]) for k in keys[:20]} == replayed

    assert len(answers) == TOTAL
    async with store.reader() as s:
        rows = (await s.execute(select(Complaint.external_id, Complaint.tracking_ref))).all()
    stored = {ext.split(":", 1)[1]: ref for ext, ref in rows}
    assert len(rows) == TOTAL == len(stored)
    assert stored == answers
