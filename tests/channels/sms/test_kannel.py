"""Debian's Kannel (bearerbox + smsbox) driven by its fakesmsc, calling our webhook.

Skipped where the kannel package is not installed (apt-get install kannel kannel-extras).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

import channels.sms
from gateway.app import build_http_app
from gateway.runtime import Runtime
from gateway.store.models import InboundMessage
from tests.channels.sms.conftest import KANNEL_SECRET
from tests.channels.sms.helpers import complaints, eventually, inbound
from tests.support import free_port

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")

pytestmark = [
    pytest.mark.skipif(
        not (BEARERBOX.exists() and FAKESMSC.exists()), reason="Debian's kannel is not installed"
    ),
    # Kannel and our endpoint are what is tested here; the store runs on both elsewhere.
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


def kannel_conf(directory: Path, webhook: str, smsc_port: int, admin: int) -> Path:
    box, sendsms = free_port(), free_port()
    url = f"{webhook}?secret={KANNEL_SECRET}&from=%p&to=%P&text=%a&id=%I&time=%t&smsc=%i"
    conf = directory / "kannel.conf"
    conf.write_text(
        f"""
group = core
admin-port = {admin}
admin-password = rahasia
smsbox-port = {box}
box-allow-ip = 127.0.0.1
log-file = "{directory}/bearerbox.log"
log-level = 1

group = smsc
smsc = fake
smsc-id = FAKE
port = {smsc_port}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
log-file = "{directory}/smsbox.log"
log-level = 1

group = sms-service
keyword = default
catch-all = true
get-url = "{url}"
omit-empty = true
max-messages = 0
"""
    )
    return conf


@pytest.fixture
async def boxes() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    started: list[asyncio.subprocess.Process] = []
    yield started
    for proc in started:
        if proc.returncode is None:
            proc.terminate()
    for proc in started:
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()


async def run(*argv: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )


async def smsbox_online(admin: int) -> bool:
    """bearerbox's admin status lists the smsbox once it has connected."""
    url = f"http://127.0.0.1:{admin}/status.txt?password=rahasia"
    try:
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            return "smsbox:" in await resp.text()
    except aiohttp.ClientError:
        return False


async def test_fakesmsc_through_kannel_to_our_webhook(
    runtime: Runtime, tmp_path: Path, boxes: list[asyncio.subprocess.Process]
) -> None:
    channels.sms.register(runtime)
    app = build_http_app(runtime)
    async with TestServer(app, host="127.0.0.1") as server:
        smsc_port, admin = free_port(), free_port()
        webhook = str(server.make_url("/webhooks/sms/kannel"))
        conf = kannel_conf(tmp_path, webhook, smsc_port, admin)
        boxes.append(await run(str(BEARERBOX), str(conf)))
        await eventually(lambda: _listening(admin), what="bearerbox")
        boxes.append(await run(str(SMSBOX), str(conf)))
        await eventually(lambda: smsbox_online(admin), what="smsbox")
        messages = [
            "+6281234567890 1708 text AGAM jalan rusak di Simpang Empat",
            "+6285266001122 1708 text agam: air PDAM tidak mengalir tiga hari",
            "+6281311112222 9999 text AGAM salah nomor tujuan",
        ]
        for n, message in enumerate(messages, start=1):
            # One run each (given several, fakesmsc picks at random); it stays connected.
            fake = await run(
                str(FAKESMSC), "-H", "127.0.0.1", "-r", str(smsc_port), "-m", "1", message
            )
            boxes.append(fake)
            rows = await eventually(
                lambda n=n: _when(inbound(runtime.store), n), timeout=20, what=f"SMS {n}"
            )
            fake.terminate()
        found = sorted(c.text for c in await complaints(runtime.store))
        assert found == ["air PDAM tidak mengalir tiga hari", "jalan rusak di Simpang Empat"]
        assert sorted(r.outcome for r in rows) == ["accepted", "accepted", "rejected"]
        assert {r.external_id.split(":")[0] for r in rows} == {"kannel"}
        assert {r.meta["smsc"] for r in rows} == {"FAKE"}


async def _when(rows: Awaitable[list[InboundMessage]], n: int) -> list[InboundMessage] | None:
    found = await rows
    return found if len(found) >= n else None


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
