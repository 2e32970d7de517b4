"""Replies per channel per day (the SMS bill): `stats`, `stats --json` and the console's
statistics page, with days in `[gateway] timezone`, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.runtime import Runtime
from gateway.store.models import Event, utcnow
from tests.ops.conftest import login
from tests.support import cli_in_process, make_raw

WIB = ZoneInfo("Asia/Jakarta")


async def seed_replies(rt: Runtime) -> tuple[str, str]:
    """Today: 2 SMS sent (one at 00:30 WIB, i.e. yesterday in UTC), 1 dead, 1 unsendable
    e-mail; yesterday: 1 SMS sent; 8 days ago (outside the week) and a retry: not counted."""
    result = await rt.intake.submit(make_raw("AGAM jalan rusak parah"))
    today = utcnow().astimezone(WIB).date()
    yesterday = today - timedelta(days=1)

    def at(day, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), WIB).astimezone(UTC)

    rows = [
        ("sms", "sent", at(today, 0, 30)),
        ("sms", "sent", at(today, 0, 0)),
        ("sms", "dead", at(today, 0, 1)),
        ("sms", "retry", at(today, 0, 2)),
        ("email", "unsendable", at(today, 0, 3)),
        ("sms", "sent", at(yesterday, 23, 59)),
        ("sms", "sent", at(today - timedelta(days=8), 12)),
    ]
    async with rt.store.transaction() as s:
        for channel, outcome, ts in rows:
            s.add(
                Event(
                    kind="reply",
                    outcome=outcome,
                    channel=channel,
                    ts=ts,
                    complaint_id=result.complaint_id,
                )
            )
        # Not a reply: never counted, whatever its outcome says.
        s.add(Event(kind="forward", outcome="sent", channel="sms", ts=at(today, 1)))
    return today.isoformat(), yesterday.isoformat()


async def test_stats_counts_replies_per_channel_per_local_day(
    runtime: Runtime, config_path: Path
) -> None:
    today, yesterday = await seed_replies(runtime)
    out = await asyncio.to_thread(cli_in_process, config_path, "stats", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["replies"] == [
        {"day": yesterday, "channel": "sms", "sent": 1, "failed": 0, "unsendable": 0},
        {"day": today, "channel": "email", "sent": 0, "failed": 0, "unsendable": 1},
        {"day": today, "channel": "sms", "sent": 2, "failed": 1, "unsendable": 0},
    ]
    text = (await asyncio.to_thread(cli_in_process, config_path, "stats")).stdout
    assert "[replies per day (Asia/Jakarta)]" in text
    assert f"  {today} sms           2      1          0" in text


async def test_console_stats_page_shows_replies(console) -> None:
    client, rt = console
    today, _ = await seed_replies(rt)
    await login(client, "agam")
    page = await (await client.get("/ops/stats")).text()
    table = page.split('id="balasan"')[1].split("</table>")[0]
    assert "Balasan ke pelapor per hari" in page
    assert (
        f'<td data-label="Tanggal">{today}</td><td data-label="Kanal">SMS</td>'
        '<td data-label="Terkirim" class="angka">2</td>'
        '<td data-label="Gagal" class="angka">1</td>' in table
    )
