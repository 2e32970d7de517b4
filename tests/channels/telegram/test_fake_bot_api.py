"""The fake Bot API keeps the Bot API's semantics the tests rely on, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from fakes.bot_api import FakeBotApi
from tests.channels.telegram.conftest import PHOTO, TOKEN, start_fake_bot


@pytest.fixture
async def bot() -> AsyncIterator[tuple[FakeBotApi, str, aiohttp.ClientSession]]:
    api = FakeBotApi(token=TOKEN)
    runner, url = await start_fake_bot(api)
    async with aiohttp.ClientSession() as http:
        yield api, url, http
    await runner.cleanup()


async def call(
    http: aiohttp.ClientSession, base: str, method: str, **params: object
) -> tuple[int, dict]:
    async with http.post(f"{base}/bot{TOKEN}/{method}", json=params) as resp:
        return resp.status, await resp.json()


async def test_offset_confirms_and_timeout_waits(
    bot: tuple[FakeBotApi, str, aiohttp.ClientSession],
) -> None:
    api, url, http = bot
    first, second = api.text_message("AGAM satu"), api.text_message("AGAM dua")
    _, body = await call(http, url, "getUpdates")
    assert [u["update_id"] for u in body["result"]] == [first["update_id"], second["update_id"]]
    _, body = await call(http, url, "getUpdates", offset=second["update_id"])
    assert [u["update_id"] for u in body["result"]] == [second["update_id"]]
    assert [u["update_id"] for u in api.updates] == [second["update_id"]]  # first forgotten

    waiting = asyncio.create_task(
        call(http, url, "getUpdates", offset=second["update_id"] + 1, timeout=30)
    )
    await asyncio.sleep(0.1)
    assert not waiting.done()
    third = api.text_message("AGAM tiga")
    _, body = await waiting
    assert [u["update_id"] for u in body["result"]] == [third["update_id"]]


async def test_wrong_token_webhook_conflict_and_faults(
    bot: tuple[FakeBotApi, str, aiohttp.ClientSession],
) -> None:
    _, url, http = bot
    async with http.post(f"{url}/bot123:salah/getMe") as resp:
        assert (resp.status, (await resp.json())["description"]) == (401, "Unauthorized")
    await call(http, url, "setWebhook", url="https://contoh.go.id/webhooks/telegram")
    status, body = await call(http, url, "getUpdates")
    assert status == 409 and "deleteWebhook" in body["description"]
    await call(http, url, "deleteWebhook")
    async with http.post(
        f"{url}/fake/faults", json={"method": "sendMessage", "status": 429, "retry_after": 3}
    ):
        pass
    status, body = await call(http, url, "sendMessage", chat_id=5, text="halo")
    assert (status, body["parameters"]) == (429, {"retry_after": 3})
    status, body = await call(http, url, "sendMessage", chat_id=5, text="halo")
    assert status == 200 and body["result"]["text"] == "halo"


async def test_get_file_and_download(bot: tuple[FakeBotApi, str, aiohttp.ClientSession]) -> None:
    api, url, http = bot
    stored = api.add_file(PHOTO, file_path="photos/file_1.jpg")
    _, body = await call(http, url, "getFile", file_id=stored.file_id)
    assert body["result"]["file_path"] == "photos/file_1.jpg"
    assert body["result"]["file_size"] == len(PHOTO)
    async with http.get(f"{url}/file/bot{TOKEN}/photos/file_1.jpg") as resp:
        assert await resp.read() == PHOTO
    big = api.add_file(b"x" * (20 * 1024 * 1024 + 1))
    status, body = await call(http, url, "getFile", file_id=big.file_id)
    assert (status, body["description"]) == (400, "Bad Request: file is too big")
