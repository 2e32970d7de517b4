"""SIGHUP / `lapor-gateway reload` re-reads regions while connections stay open; a broken
region file is refused and the running regions stay."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.sms.webhooks import generic_signature
from gateway.settings import load_settings
from gateway.store.db import Store
from gateway.store.models import Complaint, Region
from tests.support import REGIONS_DIR, run_cli, running_gateway, write_config

pytestmark = pytest.mark.slow

SECRET = "hmac-rahasia-uji-reload"
NEW_REGION = """
code = "BKT"
name = "Kota Bukittinggi"
province = "Sumatera Barat"
sms_keywords = ["BKT"]
email_addresses = ["aduan@bukittinggikota.go.id"]
"""


class KeepAlive:
    """One HTTP/1.1 connection used for every request: proof that a reload drops none."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port

    async def __aenter__(self) -> KeepAlive:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.writer.close()

    async def post_sms(self, sms_id: str, text: str) -> dict:
        body = json.dumps({"id": sms_id, "from": "+6281234567890", "text": text}).encode()
        head = (
            f"POST /webhooks/sms/generic HTTP/1.1\r\nHost: {self.host}\r\n"
            "Content-Type: application/json\r\n"
            f"X-Lapor-Signature: {generic_signature(SECRET, body)}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status = await asyncio.wait_for(self.reader.readline(), 30)
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            assert not (name.lower() == "connection" and "close" in value.lower())
        payload = await self.reader.readexactly(length)
        assert status.split()[1] == b"200", status + payload
        return json.loads(payload)


async def _region_of(url: str, sms_id: str) -> str | None:
    store = Store(url)
    try:
        async with store.reader() as s:
            return await s.scalar(
                select(Complaint.region_code).where(Complaint.external_id == f"generic:{sms_id}")
            )
    finally:
        await store.close()


async def test_sighup_and_reload_command_reread_regions(
    tmp_path: Path, db_url: str, store: Store
) -> None:
    regions = tmp_path / "regions"
    shutil.copytree(REGIONS_DIR, regions)
    extra = f'[channels.sms.webhook]\nenabled = true\nsecret = "{SECRET}"\n'
    cfg = write_config(tmp_path / "cfg", db_url, extra, regions_dir=regions)
    settings = load_settings(cfg)
    host, port = settings.http.listen.split(":")
    log = tmp_path / "gateway.log"
    async with running_gateway(cfg, log) as proc, KeepAlive(host, int(port)) as conn:
        await conn.post_sms("before", "BKT lampu jalan mati di Jalan Sudirman")
        assert await _region_of(db_url, "before") is None  # unrouted: no such region yet

        (regions / "bukittinggi.toml").write_text(NEW_REGION)
        proc.send_signal(signal.SIGHUP)
        for _ in range(300):
            if "regions reloaded" in log.read_text():
                break
            await asyncio.sleep(0.05)
        await conn.post_sms("after", "BKT lampu jalan mati di Jalan Sudirman")
        assert await _region_of(db_url, "after") == "BKT"
        async with store.reader() as s:
            assert await s.scalar(select(Region.name).where(Region.code == "BKT"))

        # A broken region file: the CLI refuses before signalling, a raw SIGHUP is
        # refused by the gateway, and BKT keeps routing.
        (regions / "bukittinggi.toml").write_text(NEW_REGION.replace('"BKT"]', '"B K T"]'))
        result = await asyncio.to_thread(run_cli, cfg, "reload")
        assert result.returncode == 2 and "bukittinggi.toml" in result.stderr
        proc.send_signal(signal.SIGHUP)
        for _ in range(300):
            if "reload refused" in log.read_text():
                break
            await asyncio.sleep(0.05)
        assert "reload refused, regions unchanged" in log.read_text()
        await conn.post_sms("broken", "BKT trotoar rusak")
        assert await _region_of(db_url, "broken") == "BKT"

        # The CLI path: remove the region again; the keep-alive connection still serves.
        (regions / "bukittinggi.toml").unlink()
        result = await asyncio.to_thread(run_cli, cfg, "reload")
        assert result.returncode == 0, result.stderr
        assert f"pid {proc.pid}" in result.stdout
        for _ in range(300):
            if log.read_text().count("regions reloaded") >= 2:
                break
            await asyncio.sleep(0.05)
        await conn.post_sms("removed", "BKT selokan mampet")
        assert await _region_of(db_url, "removed") is None
    assert proc.returncode == 0
    # Stopped: no pid file left, and `reload` says there is no gateway.
    result = await asyncio.to_thread(run_cli, cfg, "reload")
    assert result.returncode == 1 and "no running gateway" in result.stderr
