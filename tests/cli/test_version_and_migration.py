"""`--version`, `check-config` telling whether the database is migrated (SQLite and
PostgreSQL), and `complaints assign` taking the number `log` prints."""

from __future__ import annotations

import asyncio
import json
import re
from importlib.metadata import version
from pathlib import Path

from sqlalchemy import text

from gateway.runtime import Runtime
from gateway.store.migrate import head_revision
from tests.support import cli_in_process, make_raw, run_cli, write_config


def test_version_is_the_installed_distribution() -> None:
    result = cli_in_process(Path("unused.toml"), "--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"lapor-gateway, version {version('lapor-gateway')}"


async def test_check_config_says_whether_the_database_is_migrated(
    runtime: Runtime, config_path: Path
) -> None:
    ok = await asyncio.to_thread(cli_in_process, config_path, "check-config")
    assert ok.exit_code == 0, ok.output
    assert f"database: migrated (revision {head_revision()}," in ok.stdout

    async with runtime.store.transaction() as session:
        await session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        old = await asyncio.to_thread(cli_in_process, config_path, "check-config")
    finally:
        async with runtime.store.transaction() as session:
            await session.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()}
            )
    assert old.exit_code == 3
    assert f"database is at revision 0001, this code needs {head_revision()}" in old.stderr
    assert "Run `lapor-gateway db upgrade` first." in old.stderr
    assert "config OK" not in old.stdout


def test_check_config_on_an_empty_database(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    result = run_cli(config, "check-config")
    assert result.returncode == 3
    assert "database is at revision none" in result.stderr and "db upgrade" in result.stderr
    assert run_cli(config, "check-config", "--no-db").returncode == 0


async def test_assign_takes_the_number_log_prints(runtime: Runtime, config_path: Path) -> None:
    raw = make_raw("PADANG jalan rusak di depan pasar")
    await runtime.intake.submit(raw)
    shown = await asyncio.to_thread(cli_in_process, config_path, "log")
    line = next(x for x in shown.stdout.splitlines() if " unrouted " in x)
    number = re.search(r" (#\d+) ", line).group(1)
    lines = (await asyncio.to_thread(cli_in_process, config_path, "log", "--json")).stdout
    assert f"#{json.loads(lines.splitlines()[0])['inbound_id']}" == number

    done = await asyncio.to_thread(
        cli_in_process, config_path, "complaints", "assign", number, "--region", "AGAM"
    )
    assert done.exit_code == 0, done.output
    assert done.stdout.split()[:2] == ["AGM-000001", "AGAM"]
    listed = await asyncio.to_thread(cli_in_process, config_path, "complaints", "list", "--json")
    assert [c["external_id"] for c in json.loads(listed.stdout)] == [raw.external_id]
    again = await asyncio.to_thread(
        cli_in_process, config_path, "complaints", "assign", number, "--region", "AGAM"
    )
    assert again.exit_code == 1 and "is a complaint already" in again.stderr


async def test_review_errors_on_the_command_line_are_english(
    runtime: Runtime, config_path: Path
) -> None:
    """The CLI is the IT staff's tool: English messages (the console says the same in
    Indonesian), whatever language the complaint itself is in."""
    await runtime.intake.submit(make_raw("AGAM jalan rusak di depan pasar"))
    for args, said in (
        (("approve", "AGM-000001"), "complaint AGM-000001 is queued; only complaints waiting"),
        (("assign", "AGM-000001", "--region", "XX"), "unknown region XX (known: AGAM, PDG, SBY)"),
        (("show", "AGM-999999"), "no complaint 'AGM-999999'"),
        (("assign", "#999", "--region", "AGAM"), "no inbound message #999"),
    ):
        done = await asyncio.to_thread(cli_in_process, config_path, "complaints", *args)
        assert done.exit_code == 1
        assert said in done.stderr, done.stderr
