"""Regions live in config; their rows (and tracking counters) are kept in step at start."""

from __future__ import annotations

from sqlalchemy import select

from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.models import Region


async def sync_regions(store: Store, settings: Settings) -> None:
    async with store.transaction() as session:
        rows = {r.code: r for r in (await session.scalars(select(Region))).all()}
        for cfg in settings.regions.values():
            row = rows.get(cfg.code)
            if row is None:
                session.add(
                    Region(
                        code=cfg.code,
                        name=cfg.name,
                        province=cfg.province,
                        prefix=cfg.prefix,
                        next_seq=1,
                    )
                )
            else:
                row.name, row.province, row.prefix = cfg.name, cfg.province, cfg.prefix
