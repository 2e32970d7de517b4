"""PostgreSQL goes away under load (stop -m immediate, 10 s) and comes back.

While it is down: the API and the SMS webhook answer 503 with Retry-After within 2 s,
SMTP answers 451, /readyz says the database is why. After it returns, the same gateway
process recovers by itself, and a client that resends every unanswered request ends with
every complaint stored exactly once.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from gateway.settings import load_settings
from gateway.store.db import Store
from gateway.store.migrate import upgrade
from gateway.store.models import Complaint
from tests.faults.load import WEBHOOK_CONFIG, Resender, mixed_items, smtp_config
from tests.faults.pgcluster import PrivateCluster, unavailable_reason
from tests.support import free_port, running_gateway, write_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
]

OUTAGE_S = 10.0
ITEMS = 240


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    c = PrivateCluster()
    try:
        c.init()
        c.start()
        yield c
    finally:
        c.destroy()


async def _readyz(http: aiohttp.ClientSession, base: str) -> tuple[int, dict]:
    async with http.get(f"{base}/readyz") as r:
        return r.status, await r.json()


async def test_postgres_outage_under_load(cluster: PrivateCluster, tmp_path: Path) -> None:
    await asyncio.to_thread(upgrade, cluster.url)
    smtp_listen = f"127.0.0.1:{free_port()}"
    cfg = write_config(tmp_path, cluster.url, WEBHOOK_CONFIG + smtp_config(smtp_listen))
    base = f"http://{load_settings(cfg).http.listen}"
    client = Resender(base, "127.0.0.1", int(smtp_listen.split(":")[1]))
    items = mixed_items("pg", ITEMS)
    log = tmp_path / "gateway.log"

    async with running_gateway(cfg, log) as proc, aiohttp.ClientSession() as http:
        load = asyncio.create_task(client.run(items))
        for _ in range(600):  # until a good part is in, at most a minute
            if len(client.done) >= ITEMS // 4:
                break
            await asyncio.sleep(0.1)
        assert len(client.done) < ITEMS, "the outage must land mid-load"

        await asyncio.to_thread(cluster.stop, "immediate")
        down_since = time.monotonic()
        readyz_down = []
        while time.monotonic() - down_since < OUTAGE_S:
            readyz_down.append(await _readyz(http, base))
            await asyncio.sleep(1.0)
        up_from = time.monotonic()
        await asyncio.to_thread(cluster.start)

        for _ in range(600):
            status, body = await _readyz(http, base)
            if status == 200:
                break
            await asyncio.sleep(0.1)
        assert status == 200, body
        await asyncio.wait_for(load, 180)
        assert proc.poll() is None  # recovered without a restart

    # What the gateway said while the database was down (requests sent after the stop).
    during = [a for a in client.answers if down_since + 0.5 < a.sent_at < up_from - 0.5]
    kinds = Counter(a.kind for a in during)
    assert kinds["api"] and kinds["sms"] and kinds["mail"], kinds
    for a in during:
        assert a.elapsed < 2.0, a  # no hang: the client learns at once to come back later
        if a.kind == "mail":
            assert a.status == 451, a
        else:
            assert a.status == 503 and a.retry_after, a
    statuses = {s for s, _ in readyz_down}
    assert statuses == {503}, readyz_down
    detail = readyz_down[-1][1]["components"]["database"]
    assert detail["ok"] is False and detail["detail"]

    # Every item exactly once, whatever was resent.
    assert len(client.done) == ITEMS
    store = Store(cluster.url)
    try:
        async with store.reader() as s:
            ext_ids = (await s.scalars(select(Complaint.external_id))).all()
    finally:
        await store.close()
    keys = Counter(re.search(r"pg-\d{4}", e).group(0) for e in ext_ids)  # type: ignore[union-attr]
    assert set(keys) == {key for _, key in items}
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]
    resent = Counter(a.key for a in client.answers)
    assert max(resent.values()) > 1  # the resend path was really taken
