"""The SQLite file's disk fills up under load, and the file is read-only at start.

Disk full: the database lives on a small tmpfs the test fills. Meanwhile every write is
refused quickly (503 + Retry-After, SMTP 451), /readyz says writes fail, and once space
is freed the same process recovers and the resending client ends with each complaint once.
Read-only: `serve` refuses to start with one clear line, and nothing in the file changes.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from gateway.settings import load_settings
from gateway.store.db import Store
from gateway.store.models import Complaint
from tests.faults.load import WEBHOOK_CONFIG, Resender, mixed_items, smtp_config
from tests.support import free_port, run_cli, running_gateway, write_config

pytestmark = pytest.mark.slow

ITEMS = 180


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 24 MiB tmpfs: needs root (mount); skipped with the reason otherwise."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mountpoint = Path(tempfile.mkdtemp(prefix="lapor-disk-", dir="/tmp"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        mountpoint.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)
        mountpoint.rmdir()


def _fill(directory: Path) -> Path:
    """Write until the file system says ENOSPC."""
    filler = directory / "filler"
    chunk = b"\0" * (1 << 20)
    with filler.open("wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return filler


async def test_disk_full_under_load_then_space_returns(
    small_disk: Path, sqlite_template: Path, tmp_path: Path
) -> None:
    db = small_disk / "lapor.db"
    shutil.copy(sqlite_template, db)
    smtp_listen = f"127.0.0.1:{free_port()}"
    url = f"sqlite+aiosqlite:///{db}"
    cfg = write_config(tmp_path, url, WEBHOOK_CONFIG + smtp_config(smtp_listen))
    base = f"http://{load_settings(cfg).http.listen}"
    client = Resender(base, "127.0.0.1", int(smtp_listen.split(":")[1]))
    items = mixed_items("full", ITEMS)

    async with running_gateway(cfg, tmp_path / "gateway.log") as proc:
        async with aiohttp.ClientSession() as http:
            load = asyncio.create_task(client.run(items, concurrency=8))
            for _ in range(600):
                if len(client.done) >= ITEMS // 4:
                    break
                await asyncio.sleep(0.1)
            filler = await asyncio.to_thread(_fill, small_disk)
            full_since = time.monotonic()
            await asyncio.sleep(6)
            async with http.get(f"{base}/readyz") as r:
                ready_full = r.status, await r.json()
            full_until = time.monotonic()
            filler.unlink()
            await asyncio.wait_for(load, 180)
            async with http.get(f"{base}/readyz") as r:
                assert r.status == 200
        assert proc.poll() is None

    during = [a for a in client.answers if full_since + 0.5 < a.sent_at < full_until]
    assert during, "no request landed while the disk was full"
    refused = [a for a in during if a.status not in (200, 201, 250)]
    # Pages SQLite had already allocated may take a few writes; most must be refused.
    assert len(refused) >= len(during) // 2, Counter((a.kind, a.status) for a in during)
    for a in refused:
        assert a.elapsed < 2.0, a
        assert a.status == (451 if a.kind == "mail" else 503), a
        if a.kind != "mail":
            assert a.retry_after
    assert ready_full[0] == 503
    assert "writes failing" in ready_full[1]["components"]["database"]["detail"]

    assert len(client.done) == ITEMS
    store = Store(url)
    try:
        async with store.reader() as s:
            ext_ids = (await s.scalars(select(Complaint.external_id))).all()
    finally:
        await store.close()
    keys = Counter(re.search(r"full-\d{4}", e).group(0) for e in ext_ids)  # type: ignore[union-attr]
    assert set(keys) == {key for _, key in items} and max(keys.values()) == 1


def test_read_only_database_is_refused_at_start(
    sqlite_template: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """As root (who writes mode-0444 files anyway) the file system itself is made
    read-only: a tmpfs remounted ro; otherwise the file is chmod 0440."""
    if os.geteuid() == 0:
        data = request.getfixturevalue("small_disk")
    else:
        data = tmp_path / "ro"
        data.mkdir()
    db = data / "lapor.db"
    shutil.copy(sqlite_template, db)
    if os.geteuid() == 0:
        subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
    else:
        db.chmod(stat.S_IRUSR | stat.S_IRGRP)
    before = db.read_bytes()
    cfg = write_config(tmp_path, f"sqlite+aiosqlite:///{db}")
    result = run_cli(cfg, "serve")
    assert result.returncode == 3, result.stderr
    assert "database unavailable" in result.stderr and "Traceback" not in result.stderr
    why = r"readonly database|Read-only file system|unable to open"
    assert re.search(why, result.stderr), result.stderr
    assert db.read_bytes() == before
    check = run_cli(cfg, "check-config")
    assert check.returncode == 3 and "Traceback" not in check.stderr
