"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL comes from LAPOR_TEST_DATABASE_URL (default: the local server, database `test`).
Each test run creates its own database on that server and drops it at the end, so parallel
runs and leftovers never collide. Set LAPOR_TEST_DATABASE_URL=none to run SQLite only.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gateway.intake import Intake
from gateway.runtime import Runtime
from gateway.settings import Settings, load_settings
from gateway.store.db import Store
from gateway.store.migrate import upgrade
from gateway.store.models import Base
from gateway.store.regions import sync_regions
from tests.support import make_raw, pg_admin, write_config

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _pg_base_url() -> str | None:
    url = os.environ.get("LAPOR_TEST_DATABASE_URL", DEFAULT_PG)
    return None if url.lower() in ("", "none") else url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run."""
    base = _pg_base_url()
    if base is None:
        pytest.skip("PostgreSQL disabled with LAPOR_TEST_DATABASE_URL=none")
    name = f"lapor_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(pg_admin(base, f'CREATE DATABASE "{name}"'))
    except OSError as e:
        pytest.fail(
            f"PostgreSQL at {base} is not reachable ({e}); start it or set "
            "LAPOR_TEST_DATABASE_URL=none to run SQLite only"
        )
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    asyncio.run(pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test gets a copy of the file (fast and isolated)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "lapor.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "lapor.db"
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def config_path(tmp_path: Path, db_url: str) -> Path:
    return write_config(tmp_path / "cfg", db_url)


@pytest.fixture
def settings(config_path: Path) -> Settings:
    return load_settings(config_path)


async def _truncate_postgres(store: Store) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with store.transaction() as session:
        await session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    """A migrated, empty store with the example regions, on SQLite or PostgreSQL."""
    store = Store(settings.database_url)
    if store.is_postgres:
        await _truncate_postgres(store)
    await sync_regions(store, settings)
    yield store
    await store.close()


@pytest.fixture
def runtime(settings: Settings, store: Store) -> Runtime:
    return Runtime(settings=settings, store=store, intake=Intake(settings, store))


@pytest.fixture
def raw_factory():
    return make_raw
