"""`db backup` under load, `db restore` into a fresh database, and one gateway per SQLite file."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.store.db import Store
from gateway.store.models import Complaint, OutboxItem
from tests.gateway.test_crash import post_all
from tests.support import REPO, cli_in_process, run_cli, running_gateway, write_config

pytestmark = pytest.mark.slow


@pytest.fixture
def sqlite_config(tmp_path: Path, sqlite_template: Path) -> Path:
    db = tmp_path / "live" / "lapor.db"
    db.parent.mkdir()
    shutil.copy(sqlite_template, db)
    return write_config(tmp_path / "live", f"sqlite+aiosqlite:///{db}")


async def _cli(config: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        "--config",
        str(config),
        *args,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def _stored(url: str) -> dict[str, str]:
    store = Store(url)
    try:
        async with store.reader() as s:
            rows = (await s.execute(select(Complaint.external_id, Complaint.tracking_ref))).all()
            orphans = await s.scalar(
                select(func.count())
                .select_from(Complaint)
                .where(~Complaint.id.in_(select(OutboxItem.complaint_id)))
            )
    finally:
        await store.close()
    assert orphans == 0, "a complaint without its outbox row: the copy is torn"
    return {ext.split(":", 1)[1]: ref for ext, ref in rows}


async def test_backup_under_load_restores_every_committed_complaint(
    sqlite_config: Path, tmp_path: Path
) -> None:
    from gateway.settings import load_settings

    base = f"http://{load_settings(sqlite_config).http.listen}"
    # Enough that the load outlasts three CLI runs now that intake commits in batches.
    keys = [f"bk-{i:04d}" for i in range(3000)]
    answers: dict[str, str] = {}
    backups = []
    async with running_gateway(sqlite_config, tmp_path / "gateway.log"):
        load = asyncio.create_task(post_all(base, keys, answers))
        for n in range(3):  # three copies while complaints keep coming
            for _ in range(3000):  # wait for more answers, at most a minute
                if len(answers) >= 20 * (n + 1) or load.done():
                    break
                await asyncio.sleep(0.02)
            committed_before = dict(answers)
            target = tmp_path / f"backup-{n}.db"
            code, out, err = await _cli(sqlite_config, "db", "backup", str(target))
            assert code == 0, err
            assert "backup written" in out
            backups.append((target, committed_before, len(answers)))
        await load
    assert len(answers) == len(keys)
    assert any(during < len(keys) for _, _, during in backups), "no backup landed mid-load"

    for target, committed_before, answered_after in backups:
        assert target.stat().st_mode & 0o077 == 0  # personal data: owner only
        fresh = tmp_path / f"restored-{target.stem}"
        cfg = write_config(fresh, f"sqlite+aiosqlite:///{fresh}/lapor.db")
        result = run_cli(cfg, "db", "restore", str(target))
        assert result.returncode == 0, result.stderr
        stored = await _stored(f"sqlite+aiosqlite:///{fresh}/lapor.db")
        # Everything acknowledged before the backup began is in it, with the same number.
        assert {k: stored[k] for k in committed_before} == committed_before
        assert len(stored) <= answered_after
        assert all(answers[k] == ref for k, ref in stored.items())
        listed = run_cli(cfg, "complaints", "list", "--json")
        assert listed.returncode == 0, listed.stderr


async def test_second_gateway_on_one_sqlite_file_is_refused(
    sqlite_config: Path, tmp_path: Path
) -> None:
    from gateway.settings import load_settings

    # The same database file, its own port.
    other = write_config(tmp_path / "second", load_settings(sqlite_config).gateway.database_url)
    async with running_gateway(sqlite_config, tmp_path / "gateway.log"):
        code, _, err = await _cli(other, "serve")
        assert code == 4
        assert "in use by another lapor-gateway (pid" in err and "PostgreSQL" in err
        # Restore refuses too: it would replace the file under the running gateway.
        backup = tmp_path / "b.db"
        assert (await _cli(sqlite_config, "db", "backup", str(backup)))[0] == 0
        code, _, err = await _cli(sqlite_config, "db", "restore", "--force", str(backup))
        assert code == 1 and "in use by another lapor-gateway" in err
    # The first one stopped: its lock went with it, and a new gateway starts.
    async with running_gateway(other, tmp_path / "second.log"):
        pass


def test_restore_refuses_bad_input(sqlite_config: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    result = cli_in_process(sqlite_config, "db", "restore", str(garbage))
    assert result.exit_code == 1 and "garbage.db" in result.stderr
    assert "Traceback" not in result.stderr

    empty = tmp_path / "other.db"
    sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.close()
    result = cli_in_process(sqlite_config, "db", "restore", str(empty))
    assert result.exit_code == 1 and "not a lapor-gateway database" in result.stderr

    good = tmp_path / "good.db"
    assert cli_in_process(sqlite_config, "db", "backup", str(good)).exit_code == 0
    result = cli_in_process(sqlite_config, "db", "restore", str(good))
    assert result.exit_code == 1 and "--force" in result.stderr  # the live file exists
    assert cli_in_process(sqlite_config, "db", "restore", "--force", str(good)).exit_code == 0

    result = cli_in_process(sqlite_config, "db", "restore", str(tmp_path / "missing.db"))
    assert result.exit_code == 1 and "not found" in result.stderr
    result = cli_in_process(sqlite_config, "db", "backup", str(tmp_path))
    assert result.exit_code == 1 and "is a directory" in result.stderr


@pytest.mark.skipif(not shutil.which("pg_dump"), reason="pg_dump (postgresql-client) missing")
async def test_postgres_backup_and_restore_with_pg_dump(
    pg_url: str, tmp_path: Path, sqlite_template: Path
) -> None:
    cfg = write_config(tmp_path / "pg", pg_url)
    from gateway.settings import load_settings
    from tests.conftest import _truncate_postgres

    store = Store(pg_url)
    await _truncate_postgres(store)
    await store.close()
    base = f"http://{load_settings(cfg).http.listen}"
    answers: dict[str, str] = {}
    async with running_gateway(cfg, tmp_path / "gateway.log"):
        await post_all(base, [f"pg-{i}" for i in range(30)], answers)
        code, _, err = await _cli(cfg, "db", "backup", str(tmp_path / "pg.dump"))
        assert code == 0, err
    store = Store(pg_url)
    await _truncate_postgres(store)  # lose everything
    await store.close()
    assert cli_in_process(cfg, "db", "restore", str(tmp_path / "pg.dump")).exit_code == 1
    result = run_cli(cfg, "db", "restore", "--force", str(tmp_path / "pg.dump"))
    assert result.returncode == 0, result.stderr
    assert await _stored(pg_url) == answers
