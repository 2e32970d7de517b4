"""SQLite's WAL is checkpointed by the store's own thread, not inside intake's commits."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.intake import Intake
from gateway.settings import load_settings
from gateway.store.checkpointer import WAL_SAFETY_PAGES, Checkpointer
from gateway.store.db import Store
from gateway.store.regions import sync_regions
from tests.support import make_raw, write_config


@pytest.fixture
async def sqlite_intake(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Intake]:
    db = tmp_path / "lapor.db"
    shutil.copy(sqlite_template, db)
    settings = load_settings(write_config(tmp_path / "cfg", f"sqlite+aiosqlite:///{db}"))
    store = Store(settings.database_url)
    await sync_regions(store, settings)
    yield Intake(settings, store)
    await store.close()


def _complaints_in_file_alone(db: Path, tmp: Path) -> int:
    """The complaints a copy of the database file holds without its WAL."""
    alone = tmp / "alone.db"
    shutil.copy(db, alone)
    conn = sqlite3.connect(alone)
    try:
        return int(conn.execute("SELECT count(*) FROM complaints").fetchone()[0])
    finally:
        conn.close()


async def test_commits_reach_the_database_file_long_before_the_safety_net(
    sqlite_intake: Intake, tmp_path: Path
) -> None:
    results = await asyncio.gather(*(sqlite_intake.submit(make_raw()) for _ in range(20)))
    assert all(r.complaint_id for r in results)
    # A few dozen WAL pages, far below WAL_SAFETY_PAGES: only the checkpointer copies them.
    db = tmp_path / "lapor.db"
    for _ in range(50):
        if _complaints_in_file_alone(db, tmp_path) == 20:
            break
        await asyncio.sleep(0.1)
    assert _complaints_in_file_alone(db, tmp_path) == 20
    async with sqlite_intake.store.reader() as session:
        pages = (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
    assert pages == WAL_SAFETY_PAGES


async def test_close_empties_the_wal_while_another_process_keeps_the_database_open(
    sqlite_intake: Intake, tmp_path: Path
) -> None:
    db = tmp_path / "lapor.db"
    other = sqlite3.connect(db)  # as a CLI command or a backup would
    try:
        other.execute("SELECT count(*) FROM complaints").fetchone()
        await asyncio.gather(*(sqlite_intake.submit(make_raw()) for _ in range(5)))
        await sqlite_intake.store.close()
        wal = db.with_name(db.name + "-wal")
        assert wal.exists() and wal.stat().st_size == 0
        assert _complaints_in_file_alone(db, tmp_path) == 5
    finally:
        other.close()


def test_a_database_it_cannot_open_is_logged_and_stop_still_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.store.checkpointer"):
        checkpointer = Checkpointer(str(tmp_path / "missing" / "lapor.db"), interval_s=0.01)
        checkpointer.stop()
    assert "wal checkpointer not started" in caplog.text
