"""Shared by the workbench's console tests: a console over a real socket, signing in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_http_app, build_runtime
from gateway.ops.auth import hash_password
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.models import Operator

PASSWORD = "kata-sandi-uji"


@asynccontextmanager
async def open_console(
    settings: Settings, store: Store
) -> AsyncIterator[tuple[TestClient, Runtime]]:
    """An admin `admin` and an AGAM operator `agam`, both with PASSWORD."""
    hashed = hash_password(PASSWORD)
    async with store.transaction() as s:
        s.add(Operator(name="admin", role="admin", region_code=None, password_hash=hashed))
        s.add(Operator(name="agam", role="operator", region_code="AGAM", password_hash=hashed))
    rt = build_runtime(settings, store)
    async with TestClient(TestServer(build_http_app(rt))) as client:
        yield client, rt


async def login(client: TestClient, name: str) -> None:
    """Sign in as a browser does: the form first (its CSRF token and cookie), then the post."""
    client.session.cookie_jar.clear()
    form = await (await client.get("/ops/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    resp = await client.post(
        "/ops/login",
        data={"name": name, "password": PASSWORD, "csrf": token},
        allow_redirects=False,
    )
    assert resp.status == 303


async def csrf(client: TestClient) -> str:
    page = await (await client.get("/ops/complaints")).text()
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)
