"""Free text in the complaints list over a real socket, SQLite and PostgreSQL: the trigram
index of migration 0012 answers like a substring search, follows updates and deletes, takes
any input, and a common text (the scan path on SQLite) finds the same complaints."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, text, update

from gateway.ops import text_search
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.models import Complaint
from tests.ops.workbench_support import login, open_console
from tests.support import make_raw


@pytest.fixture
async def console(settings: Settings, store: Store) -> AsyncIterator[tuple[TestClient, Runtime]]:
    async with open_console(settings, store) as opened:
        await opened[1].intake.submit(make_raw("AGAM Jalan berlubang dekat Gorong-gorong"))
        await opened[1].intake.submit(make_raw("AGAM lampu jalan mati di simpang"))
        await opened[1].intake.submit(make_raw('AGAM papan "awas" roboh'))
        await opened[1].intake.submit(make_raw("AGAM sampah menumpuk di pasar"))
        await login(opened[0], "agam")
        yield opened


async def found(client: TestClient, q: str) -> list[str]:
    resp = await client.get(f"/ops/complaints?q={quote(q)}&sort=terlama")
    assert resp.status == 200, q
    return re.findall(r'href="/ops/complaints/(AGM-\d+)"', await resp.text())


async def test_substrings_any_case_any_input(console: tuple[TestClient, Runtime]) -> None:
    client, _ = console
    assert await found(client, "JALAN") == ["AGM-000001", "AGM-000002"]
    assert await found(client, "gorong-GORONG") == ["AGM-000001"]
    assert await found(client, "rlubang dek") == ["AGM-000001"]  # inside words, across them
    assert await found(client, '"awas"') == ["AGM-000003"]
    # FTS5 syntax is plain text here: operators, quotes, stars, brackets match literally.
    for q in ("jalan OR sampah", 'a"b', "sampah*", "NEAR(jalan)", "()", "-jalan"):
        assert await found(client, q) == [], q
    assert await found(client, 'n "aw') == ["AGM-000003"]
    assert await found(client, "di") == ["AGM-000002", "AGM-000004"]  # two letters: no trigram


async def test_the_index_follows_updates_and_deletes(console: tuple[TestClient, Runtime]) -> None:
    client, rt = console
    async with rt.store.transaction() as s:
        await s.execute(
            update(Complaint)
            .where(Complaint.tracking_ref == "AGM-000004")
            .values(text="Sampah sudah diangkut truk", subject="Truk sampah datang")
        )
        await s.execute(delete(Complaint).where(Complaint.tracking_ref == "AGM-000003"))
    assert await found(client, "menumpuk") == []
    assert await found(client, "truk sampah") == ["AGM-000004"]  # the new subject
    assert await found(client, "awas") == []
    await rt.intake.submit(make_raw("AGAM truk sampah terguling"))
    assert await found(client, "truk sampah") == ["AGM-000004", "AGM-000005"]


async def test_a_common_text_finds_the_same(
    console: tuple[TestClient, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = console
    indexed = await found(client, "jalan")
    # More matches than the index is asked for: SQLite scans newest-first instead.
    monkeypatch.setattr(text_search, "CANDIDATES", 1)
    assert await found(client, "jalan") == indexed == ["AGM-000001", "AGM-000002"]


async def test_the_trigram_index_exists(console: tuple[TestClient, Runtime]) -> None:
    _, rt = console
    async with rt.store.reader() as s:
        if rt.store.is_postgres:
            names = set(
                (
                    await s.execute(
                        text("SELECT indexname FROM pg_indexes WHERE tablename = 'complaints'")
                    )
                ).scalars()
            )
            assert {"ix_complaints_text_trgm", "ix_complaints_subject_trgm"} <= names
        else:
            rows = await s.execute(
                text("SELECT rowid FROM complaints_fts WHERE complaints_fts MATCH '\"pasar\"'")
            )
            assert len(rows.all()) == 1
