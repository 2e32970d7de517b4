"""complaints / log / stats / operator against a real store, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gateway.runtime import Runtime
from gateway.store.models import Operator
from normalizer.types import Channel, Reporter
from tests.support import REPO, cli_in_process, gateway_cmd, make_raw


async def seed(rt: Runtime) -> None:
    await rt.intake.submit(make_raw("AGAM jalan rusak di depan pasar", external_id="s-1"))
    await rt.intake.submit(make_raw("SBY banjir di jalan ahmad yani", external_id="s-2"))
    await rt.intake.submit(make_raw("XYZ ini kata kunci salah", external_id="s-3"))
    await rt.intake.submit(
        make_raw(
            "Sampah menumpuk di pasar",
            channel=Channel.API,
            external_id="bebeja:1",
            sender="api:bebeja",
            recipient="PDG",
            region_hint="PDG",
            anonymous=True,
            reporter=Reporter(name="Siti", phone="081312345678"),
        )
    )


async def test_complaints_list_and_show_json(runtime: Runtime, config_path: Path) -> None:
    await seed(runtime)
    result = await asyncio.to_thread(cli_in_process, config_path, "complaints", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["tracking_ref"] for r in rows] == ["AGM-000001", "SBY-000001", "PDG-000001"]
    first = rows[0]
    for key in (
        "id",
        "tracking_ref",
        "region",
        "channel",
        "status",
        "category",
        "text",
        "reporter",
        "anonymous",
        "confidential",
        "received_at",
        "lapor_tracking_id",
        "external_id",
    ):
        assert key in first
    assert first["reporter"]["phone"] == "+6281234567890"
    assert first["external_id"] == "s-1" and first["received_at"].endswith("Z")
    assert rows[2]["anonymous"] is True and rows[2]["reporter"]["name"] == "Siti"

    only_pdg = await asyncio.to_thread(
        cli_in_process, config_path, "complaints", "list", "--region", "pdg", "--json"
    )
    assert [r["region"] for r in json.loads(only_pdg.stdout)] == ["PDG"]
    limited = await asyncio.to_thread(
        cli_in_process, config_path, "complaints", "list", "--limit", "1", "--json"
    )
    assert len(json.loads(limited.stdout)) == 1
    shown = await asyncio.to_thread(
        cli_in_process, config_path, "complaints", "show", "sby-000001", "--json"
    )
    assert json.loads(shown.stdout)["region"] == "SBY"
    missing = await asyncio.to_thread(cli_in_process, config_path, "complaints", "show", "NOPE")
    assert missing.exit_code == 1 and "no complaint" in missing.stderr


async def test_log_and_stats_json(runtime: Runtime, config_path: Path) -> None:
    await seed(runtime)
    await runtime.intake.submit(make_raw("AGAM jalan rusak di depan pasar", external_id="s-1"))
    result = await asyncio.to_thread(cli_in_process, config_path, "log", "--json")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["channel"], e["outcome"]) for e in lines] == [
        ("sms", "accepted"),
        ("sms", "accepted"),
        ("sms", "unrouted"),
        ("api", "accepted"),
        ("sms", "duplicate"),
    ]
    for key in ("ts", "channel", "outcome", "reason", "external_id", "complaint_id", "region"):
        assert key in lines[0]
    # The text lines in [gateway] timezone (Asia/Jakarta in the example), the zone named.
    text = await asyncio.to_thread(cli_in_process, config_path, "log")
    first_ts = datetime.fromisoformat(lines[0]["ts"].replace("Z", "+00:00"))
    wib = first_ts.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%Y-%m-%d %H:%M:%S WIB")
    assert text.stdout.splitlines()[0].startswith(wib), text.stdout
    agam = await asyncio.to_thread(
        cli_in_process, config_path, "log", "--json", "--region", "AGAM", "--channel", "sms"
    )
    assert len(agam.stdout.splitlines()) == 2
    stats = json.loads(
        (await asyncio.to_thread(cli_in_process, config_path, "stats", "--json")).stdout
    )
    today = {(r["region"], r["channel"], r["outcome"]): r["count"] for r in stats["today"]}
    assert today[("AGAM", "sms", "accepted")] == 1
    assert today[(None, "sms", "unrouted")] == 1
    assert stats["all"] and stats["7d"]


async def test_log_follow_sees_commits_of_another_process(
    runtime: Runtime, config_path: Path
) -> None:
    follower = await asyncio.create_subprocess_exec(
        *gateway_cmd(config_path, "log", "--follow", "--json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    try:
        await asyncio.sleep(1.0)
        await runtime.intake.submit(make_raw("AGAM lampu jalan mati", external_id="f-1"))
        line = await asyncio.wait_for(follower.stdout.readline(), 20)
        assert json.loads(line)["external_id"] == "f-1"
        await runtime.intake.submit(make_raw("SBY got mampet", external_id="f-2"))
        line = await asyncio.wait_for(follower.stdout.readline(), 20)
        assert json.loads(line)["region"] == "SBY"
    finally:
        follower.terminate()
        await follower.wait()


async def test_operator_add(runtime: Runtime, config_path: Path) -> None:
    ok = await asyncio.to_thread(
        cli_in_process,
        config_path,
        "operator",
        "add",
        "penghubung.agam",
        "--role",
        "operator",
        "--region",
        "agam",
        "--password-stdin",
        input="rahasia-sekali\n",
    )
    assert ok.exit_code == 0, ok.output
    async with runtime.store.reader() as s:
        op = await s.scalar(select(Operator))
    assert (op.name, op.role, op.region_code) == ("penghubung.agam", "operator", "AGAM")
    assert "rahasia-sekali" not in op.password_hash
    no_region = await asyncio.to_thread(
        cli_in_process,
        config_path,
        "operator",
        "add",
        "x",
        "--role",
        "operator",
        "--password-stdin",
        input="rahasia-sekali\n",
    )
    assert no_region.exit_code == 1 and "needs --region" in no_region.stderr


def test_installed_console_script_works_outside_the_repo(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "lapor-gateway"
    out = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    for command in ("serve", "check-config", "complaints", "log", "stats", "fake-lapor"):
        assert command in out.stdout
