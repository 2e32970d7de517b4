"""Consistent copies of the store while the gateway keeps taking complaints, and restores.

SQLite: the online backup API copies the database page by page inside one read transaction.
In WAL mode that read transaction sees one committed state and never blocks the gateway's
writers, so the copy holds exactly the complaints committed before it began (each with its
outbox row and event: intake writes them in one transaction). PostgreSQL: pg_dump, which
reads inside one snapshot too; restore with pg_restore.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.instance_lock import instance_lock, sqlite_path
from gateway.store.migrate import head_revision


class BackupError(Exception):
    """The backup or restore did not happen; the message says why and what to do."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    revision: str | None
    complaints: int
    size: int


def _inspect(path: Path) -> BackupInfo:
    """Open a SQLite copy read-only and check it is whole and is a gateway database."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise BackupError(f"{path}: cannot open: {e}") from None
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"{path}: the copy is damaged ({check})")
        rev = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        complaints = conn.execute("SELECT count(*) FROM complaints").fetchone()[0]
    except sqlite3.DatabaseError as e:
        raise BackupError(f"{path}: not a lapor-gateway database ({e})") from None
    finally:
        conn.close()
    return BackupInfo(path, rev[0] if rev else None, complaints, path.stat().st_size)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_sqlite(source: Path, target: Path) -> None:
    src = sqlite3.connect(source, timeout=30)  # read-write: a WAL reader may need the -shm
    dst = sqlite3.connect(target)
    try:
        # pages=-1: the whole database in one step, i.e. inside one read transaction.
        # Stepwise copying restarts whenever the gateway commits and may never finish.
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def backup_sqlite(database_url: str, target: Path) -> BackupInfo:
    source = sqlite_path(database_url)
    assert source is not None
    if not source.exists():
        raise BackupError(f"{source}: database file not found")
    target = target.resolve()
    if target == source.resolve():
        raise BackupError("the backup path is the database itself")
    if target.is_dir():
        raise BackupError(f"{target}: is a directory; give a file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    # Reporter names and phone numbers are in there: only the owner may read it.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        _copy_sqlite(source, partial)
        info = _inspect(partial)
        _fsync(partial)
        os.replace(partial, target)  # a half-written backup never carries the final name
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupInfo(target, info.revision, info.complaints, info.size)


def restore_sqlite(database_url: str, backup: Path, *, force: bool) -> BackupInfo:
    target = sqlite_path(database_url)
    assert target is not None
    if not backup.is_file():
        raise BackupError(f"{backup}: backup file not found")
    info = _inspect(backup)
    if info.revision is None:
        raise BackupError(f"{backup}: has no schema revision; not a lapor-gateway backup")
    # The lock keeps a gateway from starting on a half-restored file, and refuses to
    # restore under one that runs.
    with instance_lock(database_url, purpose="db restore"):
        if target.exists() and target.stat().st_size > 0 and not force:
            raise BackupError(
                f"{target} exists; restoring replaces everything in it. "
                "Add --force to replace it (make a backup of it first)"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        # Through SQLite, not a file copy: the target's -wal and -shm stay consistent.
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            dst.execute("PRAGMA journal_mode=WAL")
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            dst.close()
            src.close()
    return BackupInfo(target, info.revision, info.complaints, target.stat().st_size)


def _libpq_url(database_url: str) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    tool = shutil.which(name)
    if tool is None:
        raise BackupError(
            f"{name} not found: install the PostgreSQL client (Debian: postgresql-client) "
            "of the server's major version or newer"
        )
    return tool


def _run_pg(args: list[str]) -> None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=24 * 3600)
    except OSError as e:
        raise BackupError(f"{args[0]}: {e.strerror}") from None
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-500:]}")


def backup_postgres(database_url: str, target: Path) -> Path:
    target = target.resolve()
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        _run_pg(
            [
                _pg_tool("pg_dump"),
                "--format=custom",
                f"--file={partial}",
                f"--dbname={_libpq_url(database_url)}",
            ]
        )
        _fsync(partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def restore_postgres(database_url: str, backup: Path) -> None:
    if not backup.is_file():
        raise BackupError(f"{backup}: backup file not found")
    _run_pg(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={_libpq_url(database_url)}",
            str(backup),
        ]
    )


def revision_note(info: BackupInfo) -> str:
    """Restoring an older backup is fine: `db upgrade` brings it forward."""
    if info.revision == head_revision():
        return ""
    return f" (schema {info.revision}; run `lapor-gateway db upgrade` before serving)"
