"""Fixtures for browser tests: `live_gateway` (a gateway process) and `browser_page`
(a factory of Chromium pages at desktop or phone width)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS, DESKTOP, LiveGateway
from tests.support import running_gateway, write_config

pytestmark = pytest.mark.browser


@pytest.fixture
async def live_gateway(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[LiveGateway]:
    """A migrated SQLite gateway; tests that need more config write their own."""
    db = tmp_path / "lapor.db"
    shutil.copy(sqlite_template, db)
    config = write_config(tmp_path / "cfg", f"sqlite+aiosqlite:///{db}")
    from gateway.settings import load_settings

    listen = load_settings(config).http.listen
    log = tmp_path / "gateway.log"
    async with running_gateway(config, log):
        yield LiveGateway(base_url=f"http://{listen}", config=config, log=log)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - one stat before a browser start
        pytest.fail(f"Chromium not found at {CHROMIUM}; `make test` installs Debian's chromium")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def browser_page(browser: Any) -> AsyncIterator[Callable[..., Any]]:
    """`page = await browser_page(viewport=PHONE)`: a fresh context (own cookies) per call."""
    async with AsyncExitStack() as stack:

        async def new_page(viewport: dict[str, int] = DESKTOP, **context_args: Any) -> Any:
            context = await browser.new_context(viewport=viewport, locale="id-ID", **context_args)
            stack.push_async_callback(context.close)
            return await context.new_page()

        yield new_page
