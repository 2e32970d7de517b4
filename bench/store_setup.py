"""What the benchmarks start from: a migrated store holding the example regions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from gateway.settings import Settings, load_settings
from gateway.store.db import Store
from gateway.store.migrate import upgrade
from gateway.store.regions import sync_regions
from tests.support import write_config


@asynccontextmanager
async def bench_store(
    database_url: str | None, directory: Path, extra: str = "", **config: Any
) -> AsyncIterator[tuple[Settings, Store]]:
    """`database_url` must name an EMPTY database; by default a fresh SQLite file."""
    url = database_url or f"sqlite+aiosqlite:///{directory}/bench.db"
    await asyncio.to_thread(upgrade, url)
    settings = load_settings(write_config(directory, url, extra, **config))
    store = Store(settings.database_url)
    try:
        await sync_regions(store, settings)
        yield settings, store
    finally:
        await store.close()
