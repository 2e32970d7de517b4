"""WhatsApp test set-up: the example regions, the channel on, the fake Graph API on a socket."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from fakes.graph_api import FakeGraphApi, make_app
from gateway.app import build_http_app, build_runtime
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.store.db import Store
from tests.support import free_port, write_config

FIXTURES = Path(__file__).parents[2] / "fixtures" / "whatsapp"
APP_SECRET = "rahasia-aplikasi-meta-uji"
VERIFY_TOKEN = "token-verifikasi-uji"
ACCESS_TOKEN = "EAAG-token-uji"
PHONE_NUMBER_ID = "106540352242922"


def whatsapp_toml(graph_port: int, *, template: str | None = "lapor_balasan") -> str:
    template_line = f'reply_template = "{template}"' if template else ""
    return f"""
[channels.whatsapp]
enabled = true
verify_token = "{VERIFY_TOKEN}"
app_secret = "{APP_SECRET}"
access_token = "{ACCESS_TOKEN}"
phone_number_id = "{PHONE_NUMBER_ID}"
graph_base_url = "http://127.0.0.1:{graph_port}/v21.0"
{template_line}
max_media_bytes = 16777216
request_timeout_s = 10
"""


def fixture(name: str, *, now: bool = False) -> dict[str, Any]:
    """A payload from tests/fixtures/whatsapp; `now` moves its times so the earliest is now
    (a message inside the 24-hour window, statuses after the reply)."""
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    if now:
        items = [
            item
            for entry in data["entry"]
            for change in entry["changes"]
            for key in ("messages", "statuses")
            for item in change["value"].get(key, [])
        ]
        shift = int(time.time()) - min(int(item["timestamp"]) for item in items)
        for item in items:
            item["timestamp"] = str(int(item["timestamp"]) + shift)
    return data


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post(client: TestClient, payload: dict[str, Any] | bytes, **headers: str) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sent = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body), **headers}
    return await client.post("/webhooks/whatsapp", data=body, headers=sent)


@pytest.fixture
def graph_port() -> int:
    return free_port()


@pytest.fixture
def config_path(tmp_path: Path, db_url: str, graph_port: int) -> Path:
    return write_config(tmp_path / "cfg", db_url, whatsapp_toml(graph_port))


@pytest.fixture
async def graph(graph_port: int) -> AsyncIterator[FakeGraphApi]:
    api = FakeGraphApi(access_token=ACCESS_TOKEN)
    server = TestServer(make_app(api), host="127.0.0.1", port=graph_port)
    await server.start_server()
    try:
        yield api
    finally:
        await server.close()


@pytest.fixture
async def gateway(
    settings: Settings, store: Store, graph: FakeGraphApi
) -> AsyncIterator[tuple[TestClient, Runtime]]:
    """The whole gateway's HTTP app (every channel, the outbox) over a real socket."""
    rt = build_runtime(settings, store)
    async with TestClient(TestServer(build_http_app(rt))) as client:
        try:
            yield client, rt
        finally:
            for service in rt.services:
                if service.name == "whatsapp-sender":
                    await service.stop()
