"""A WhatsApp complaint's detail page in Chromium at phone width: the shared location, and
the receipt's delivery statuses on the timeline in Indonesian."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from fakes.graph_api import FakeGraphApi, make_app
from tests.browser.harness import PHONE, LiveGateway, screenshot_path
from tests.browser.test_console_session import PASSWORD, sign_in
from tests.channels.whatsapp.conftest import ACCESS_TOKEN, fixture, sign, whatsapp_toml
from tests.support import free_port, running_gateway, write_config

REPLY_ID = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjA5NjNGMTBGQ0I5RjVFNTI5MAA="


async def deliver(http: aiohttp.ClientSession, url: str, payload: dict) -> None:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)}
    async with http.post(url, data=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()


async def test_location_and_delivery_statuses_on_a_phone(
    tmp_path: Path, sqlite_template: Path, browser_page
) -> None:
    api = FakeGraphApi(access_token=ACCESS_TOKEN)
    graph_port = free_port()
    graph = TestServer(make_app(api), host="127.0.0.1", port=graph_port)
    await graph.start_server()
    db = tmp_path / "lapor.db"
    shutil.copy(sqlite_template, db)
    config = write_config(tmp_path / "cfg", f"sqlite+aiosqlite:///{db}", whatsapp_toml(graph_port))
    from gateway.settings import load_settings

    listen = load_settings(config).http.listen
    try:
        async with running_gateway(config, tmp_path / "gateway.log"):
            gw = LiveGateway(f"http://{listen}", config, tmp_path / "gateway.log")
            gw.add_operator("sby", PASSWORD, region="SBY")
            hook = gw.url("/webhooks/whatsapp")
            async with aiohttp.ClientSession() as http:
                await deliver(http, hook, fixture("location.json", now=True))
                for _ in range(200):  # the gateway's outbox sends the receipt
                    if api.sent:
                        break
                    await asyncio.sleep(0.05)
                [receipt] = api.sent
                for name in ("statuses_sent_delivered_read.json", "status_failed.json"):
                    text = json.dumps(fixture(name, now=True)).replace(REPLY_ID, receipt["id"])
                    await deliver(http, hook, json.loads(text))
            page = await browser_page(viewport=PHONE)
            await sign_in(page, gw, "sby")
            await page.goto(gw.url("/ops/complaints/SBY-000001"))
            content = await page.content()
            await page.screenshot(path=screenshot_path("whatsapp-detail-phone"), full_page=True)
    finally:
        await graph.close()
    assert "Pasar Turi, Jl. Semarang, Bubutan, Surabaya" in content
    assert "-7.257500, 112.752100" in content
    for words in ("diterima server WhatsApp", "sampai di ponsel pelapor", "dibaca pelapor"):
        assert f"Balasan WhatsApp (tanda terima) {words}" in content
    assert "gagal sampai ke pelapor (kode 131026: Message undeliverable)" in content
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
