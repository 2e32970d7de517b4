"""The smaller console points of issue 11: time zone, flash wording, Alihkan, CLI pipes."""

from __future__ import annotations

import asyncio
import re
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from gateway.runtime import Runtime
from gateway.store.models import InboundMessage
from normalizer.types import Channel
from tests.ops.conftest import csrf, login
from tests.support import EVERY_SMS_NOTICE, REPO, gateway_cmd, make_raw, run_cli, write_config

Console = tuple[TestClient, Runtime]


async def test_today_starts_at_midnight_in_the_configured_zone(console: Console) -> None:
    client, rt = console
    zone = ZoneInfo(rt.settings.gateway.timezone)
    result = await rt.intake.submit(make_raw("AGAM jalan rusak pagi-pagi"))
    # 00:01 local time today: yesterday in UTC for any zone east of Greenwich.
    local_midnight = datetime.now(zone).replace(hour=0, minute=1, second=0, microsecond=0)
    async with rt.store.transaction() as session:
        await session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == result.inbound_id)
            .values(ingested_at=local_midnight)
        )
    await login(client, "agam")
    page = await (await client.get("/ops/stats")).text()
    today = page.split("7 hari terakhir")[0].split("Hari ini")[1]
    assert "Asia/Jakarta" in today and "AGAM" in today and "Diterima" in today
    assert ">accepted<" not in page  # words, not codes
    zone_text = rt.settings.gateway.timezone
    assert f"zona {zone_text}" in page


@pytest.fixture
def config_path(tmp_path: Path, db_url: str) -> Path:
    """An SMS channel that tells the citizen of a rejection (the review flash test)."""
    return write_config(tmp_path / "cfg", db_url, EVERY_SMS_NOTICE)


async def test_review_flash_says_the_citizen_was_told_only_when_a_reply_is_queued(
    console: Console,
) -> None:
    client, rt = console
    by_sms = await rt.intake.submit(make_raw("BEBEJA minta pulsa gratis"))
    by_web = await rt.intake.submit(
        make_raw("minta pulsa gratis lewat web", channel=Channel.WEB, region_hint="PDG")
    )
    await login(client, "admin")
    token = await csrf(client)
    resp = await client.post(
        f"/ops/complaints/{by_sms.complaint_id}/reject",
        data={"csrf": token, "reason": "bukan aduan"},
    )
    assert "ditolak; pelapor diberi tahu." in await resp.text()
    resp = await client.post(
        f"/ops/complaints/{by_web.complaint_id}/reject",
        data={"csrf": token, "reason": "bukan aduan"},
    )
    page = await resp.text()
    assert "ditolak; pelapor diberi tahu" not in page
    assert "ditolak; pelapor tidak dapat dibalas" in page


async def test_alihkan_offers_and_accepts_only_another_region(console: Console) -> None:
    client, rt = console
    held = await rt.intake.submit(make_raw("BEBEJA jembatan putus di Cibaliung"))
    await login(client, "admin")
    page = await (await client.get("/ops/review")).text()
    form = page.split(f"/ops/complaints/{held.complaint_id}/assign")[1].split("</form>")[0]
    assert re.search(r'<option value="" selected disabled>Pilih wilayah lain</option>', form)
    assert 'value="PDG"' not in form and 'value="AGAM"' in form
    token = await csrf(client)
    resp = await client.post(
        f"/ops/complaints/{held.complaint_id}/assign", data={"csrf": token, "region": "PDG"}
    )
    assert "sudah berada di wilayah PDG; pilih wilayah lain." in await resp.text()
    resp = await client.post(
        f"/ops/complaints/{held.complaint_id}/assign", data={"csrf": token, "region": ""}
    )
    assert "Pilih wilayah tujuan" in await resp.text()


def list_into_closed_pipe(config: object) -> tuple[int, bytes]:
    # The reader is gone before the first line: what `| head -1` does to a long list.
    proc = subprocess.Popen(
        gateway_cmd(config, "complaints", "list"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


async def test_complaints_list_into_a_closed_pipe_ends_quietly(console: Console) -> None:
    _, rt = console
    for i in range(3):
        await rt.intake.submit(make_raw(f"AGAM jalan rusak nomor {i}"))
    code, err = await asyncio.to_thread(list_into_closed_pipe, rt.settings.path)
    assert code == 0 and b"Broken pipe" not in err and b"Error" not in err, err
    # Read normally, times are in [gateway] timezone, named.
    done = await asyncio.to_thread(run_cli, rt.settings.path, "complaints", "list")
    assert done.returncode == 0 and done.stdout.count(" WIB ") == 3, done.stdout
