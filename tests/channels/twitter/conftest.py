"""A fake X API v2 on a real port, and the gateway config pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from fakes.x_api import FakeXApi, make_app
from tests.support import write_config

TOKEN = "test-bearer-token-agam"
OWN_USER_ID = "1790000000000000001"


@dataclass
class FakeX:
    api: FakeXApi
    url: str

    def tweet(self, text: str, username: str = "rini_lbs", **spec: object) -> str:
        """Post a tweet as a citizen; returns its id."""
        return self.api.add_tweet({"text": text, "username": username, **spec})["id"]


def twitter_section(url: str, **overrides: object) -> str:
    values: dict[str, object] = {
        "enabled": True,
        "bearer_token": TOKEN,
        "api_base_url": url,
        "poll_interval_s": 0.2,
        "max_results": 10,
        "request_timeout_s": 1.0,
        "backoff_base_s": 0.05,
        "backoff_max_s": 0.5,
        "own_user_id": OWN_USER_ID,
        **overrides,
    }
    lines = [f"{k} = {_toml(v)}" for k, v in values.items() if v is not None]
    return "\n[channels.twitter]\n" + "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


async def start_fake_x(api: FakeXApi) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(make_app(api))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@pytest.fixture
async def fake_x() -> AsyncIterator[FakeX]:
    api = FakeXApi(bearer_token=TOKEN, account_id=OWN_USER_ID)
    runner, url = await start_fake_x(api)
    yield FakeX(api, url)
    await runner.cleanup()


@pytest.fixture
def config_path(tmp_path: Path, db_url: str, fake_x: FakeX) -> Path:
    """Overrides the suite's config: the example regions plus twitter on the fake API."""
    return write_config(tmp_path / "cfg", db_url, twitter_section(fake_x.url))
