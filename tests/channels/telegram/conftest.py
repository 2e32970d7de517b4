"""A fake Bot API on a real port, and the gateway config pointed at it (webhook mode unless
a test module overrides `telegram_mode`)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from fakes.bot_api import FakeBotApi, make_app
from tests.support import write_config

TOKEN = "123456789:AAE-test-token-for-agam"
SECRET = "rahasia-webhook-uji_01"
FIXTURES = Path(__file__).parents[2] / "fixtures" / "telegram"
# The files the fixtures name, as the fake Bot API serves them.
PHOTO = b"\xff\xd8\xff\xe0" + b"foto jembatan" * 500
PDF = b"%PDF-1.4\n" + b"surat keterangan " * 300
MAX_MEDIA = 100_000


async def eventually(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll a (sync or async) check until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@dataclass
class FakeBot:
    api: FakeBotApi
    url: str


def telegram_section(url: str, mode: str, **overrides: object) -> str:
    values: dict[str, object] = {
        "enabled": True,
        "bot_token": TOKEN,
        "mode": mode,
        "secret_token": SECRET,
        "api_base_url": url,
        "long_poll_timeout_s": 1,
        "max_media_bytes": MAX_MEDIA,
        "request_timeout_s": 5.0,
        "backoff_base_s": 0.05,
        "backoff_max_s": 0.5,
        **overrides,
    }
    lines = [f"{k} = {json.dumps(v)}" for k, v in values.items() if v is not None]
    return "\n[channels.telegram]\n" + "\n".join(lines) + "\n"


async def start_fake_bot(api: FakeBotApi) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(make_app(api))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@pytest.fixture
async def fake_bot() -> AsyncIterator[FakeBot]:
    api = FakeBotApi(token=TOKEN)
    api.add_file(PHOTO, file_id="AgACAgUAAxkBAAIBLWXg4n0AAd1S-large", file_path="photos/file_7.jpg")
    api.add_file(PDF, file_id="BQACAgUAAxkBAAIBMGXg5Aa-surat", file_path="documents/file_8.pdf")
    runner, url = await start_fake_bot(api)
    yield FakeBot(api, url)
    await runner.cleanup()


@pytest.fixture
def telegram_mode() -> str:
    return "webhook"


@pytest.fixture
def telegram_extra() -> str:
    return ""


@pytest.fixture
def config_path(
    tmp_path: Path, db_url: str, fake_bot: FakeBot, telegram_mode: str, telegram_extra: str
) -> Path:
    """Overrides the suite's config: the example regions plus the bot on the fake API."""
    section = telegram_section(fake_bot.url, telegram_mode)
    return write_config(tmp_path / "cfg", db_url, section + telegram_extra)
