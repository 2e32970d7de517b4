"""Migration 0012 on a store that already holds complaints, SQLite and PostgreSQL: the text
index covers them at once, and the migration goes down and up again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gateway.store.db import Store
from gateway.store.migrate import alembic_config
from tests.support import pg_admin

OLD_COMPLAINT = (
    "INSERT INTO regions (code, name, province, prefix, next_seq) "
    "VALUES ('AGAM', 'Kabupaten Agam', 'Sumatera Barat', 'AGM', 2)",
    "INSERT INTO complaints (id, tracking_ref, region_code, channel, external_id, category, "
    "subject, text, attachments, anonymous, confidential, received_at, created_at, updated_at, "
    "status, notes) VALUES (:id, 'AGM-000001', 'AGAM', 'sms', 'x-1', 'pengaduan', "
    "'Jembatan gantung', 'Jembatan gantung di Nagari Koto putus', '[]', false, false, "
    ":t, :t, :t, 'queued', '[]')",
)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/old.db"
        return
    from tests.conftest import _pg_base_url

    base = _pg_base_url()
    if base is None:
        pytest.skip("PostgreSQL disabled with LAPOR_TEST_DATABASE_URL=none")
    name = f"lapor_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(pg_admin(base, f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    asyncio.run(pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def matches(url: str, phrase: str) -> int | None:
    """Complaints the text index finds for `phrase`; None without the index."""
    store = Store(url)
    try:
        async with store.reader() as s:
            if store.is_postgres:
                index = (
                    "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_complaints_text_trgm'"
                )
                if not await s.scalar(text(index)):
                    return None
                # The planner is told to use the index, so the count comes from it.
                await s.execute(text("SET LOCAL enable_seqscan = off"))
                query = "SELECT count(*) FROM complaints WHERE text ILIKE :p"
                return await s.scalar(text(query), {"p": f"%{phrase}%"})
            fts = "SELECT count(*) FROM sqlite_master WHERE name = 'complaints_fts'"
            if not await s.scalar(text(fts)):
                return None
            query = "SELECT count(*) FROM complaints_fts WHERE complaints_fts MATCH :p"
            return await s.scalar(text(query), {"p": f'"{phrase}"'})
    finally:
        await store.close()


async def test_existing_complaints_are_indexed_and_it_goes_down(empty_url: str) -> None:
    cfg = alembic_config(empty_url)
    before = ScriptDirectory.from_config(cfg).get_revision("0012").down_revision
    assert isinstance(before, str)
    await asyncio.to_thread(command.upgrade, cfg, before)
    store = Store(empty_url)
    async with store.transaction() as s:
        for statement in OLD_COMPLAINT:
            now = datetime(2026, 11, 2, 3, tzinfo=UTC)
            await s.execute(text(statement), {"id": str(uuid.uuid4()), "t": now})
    await store.close()
    assert await matches(empty_url, "nagari koto") is None
    # Up to 0012 only: later migrations may not know this hand-written row.
    await asyncio.to_thread(command.upgrade, cfg, "0012")
    assert await matches(empty_url, "nagari koto") == 1
    await asyncio.to_thread(command.downgrade, cfg, before)
    assert await matches(empty_url, "nagari koto") is None
    await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await matches(empty_url, "gantung di") == 1
